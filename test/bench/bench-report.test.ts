/**
 * The bench report's CPU model (bench/report.ts cpuModel): the ratio two cores shared by client
 * and broker predict from each side's CPU per GiB, and its ceiling for a broker costing nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { checkTargets, cpuModel, outOfReach, timedClientCpuPerGiB, toMarkdown, type BenchResults } from '../../bench/report.js';
import type { BrokerMeasure, E2eRow } from '../../bench/e2e.js';

function side(mibPerSec: number, broker: number, client: number): BrokerMeasure {
  return { ok: true, mibPerSec, recordsPerSec: mibPerSec * 1024, cpuSecPerGiB: broker, clientCpuSecPerGiB: client };
}

function row(over: Partial<E2eRow>): E2eRow {
  return {
    id: 'produce-1k',
    title: 'Produce 1 KiB records, 8 partitions',
    kind: 'produce',
    client: 'ProducerPerformance',
    partitions: 8,
    recordSize: 1024,
    compression: 'none',
    durable: false,
    records: 1000,
    franz: side(150, 3, 12),
    kafka: side(100, 9, 13),
    ratio: 1.5,
    ratioOf: 'records/s',
    ...over,
  };
}

describe('bench report CPU model', () => {
  test('model is (C_kafka + B_kafka) / (C_franz + B_franz), ceiling drops the franz broker', () => {
    const m = cpuModel(row({}));
    assert.ok(m !== null);
    assert.equal(m.model, (13 + 9) / (12 + 3));
    assert.equal(m.ceiling, (13 + 9) / 12);
  });

  test('no model where it does not hold or a side has no CPU figure', () => {
    assert.equal(cpuModel(row({ partitions: 1000 })), null);
    assert.equal(cpuModel(row({ durable: true })), null);
    assert.equal(cpuModel(row({ kind: 'latency' })), null);
    assert.equal(cpuModel(row({ kafka: { ok: false, error: 'sent 9 of 10' } })), null);
    assert.equal(cpuModel(row({ franz: { ok: true, mibPerSec: 1, cpuSecPerGiB: 2 } })), null);
  });

  test('the Markdown lists modelled rows only, with their values', () => {
    const res: BenchResults = {
      date: '2026-12-04T00:00:00.000Z',
      quick: false,
      durationSec: 1,
      machine: {},
      settings: [],
      micro: [],
      targets: [],
      e2e: [row({}), row({ id: 'produce-1k-p1000', title: 'Produce 1 KiB records, 1 000 partitions', partitions: 1000 })],
    };
    const md = toMarkdown(res);
    assert.ok(md.includes('### CPU model'));
    const from = md.slice(md.indexOf('### CPU model'));
    const end = from.indexOf('\n## ');
    const section = end < 0 ? from : from.slice(0, end);
    assert.match(section, /\| Produce 1 KiB records, 8 partitions \| ProducerPerformance \| \*\*1\.50x\*\* \| 1\.47x \| 1\.83x \| - \|/);
    assert.ok(!section.includes('1 000 partitions'));
  });

  test('the CPU model table gives the client-alone bound where the client readings are there', () => {
    // 1 GiB in 4 s, the client at >= 5 CPU s/GiB inside that span, Kafka at 320 MiB/s: 2 cores / 5 = 0.4 GiB/s = 1.28x.
    const res: BenchResults = {
      date: '2026-12-06T00:00:00.000Z',
      quick: false,
      durationSec: 1,
      machine: { cpus: '2 x Test CPU' },
      settings: [],
      micro: [],
      targets: [],
      e2e: [
        row({
          title: 'Consume 1 KiB records, 8 partitions',
          kind: 'consume',
          franz: measured(1, 4, 7, 5),
          kafka: side(320, 9, 13),
          ratio: 0.8,
        }),
      ],
    };
    const md = toMarkdown(res);
    assert.match(md, /\| Consume 1 KiB records, 8 partitions \| ProducerPerformance \| \*\*0\.80x\*\* \| 2\.75x \| 3\.14x \| 1\.28x \|/);
    // A client timed over its whole process (kcat), 7 CPU s/GiB: 2 / 7 GiB/s on two cores (0.91x), 8 / 7 on eight (3.66x).
    const kcat = {
      ...res,
      e2e: [
        row({
          title: 'Consume 1 KiB records, 8 partitions',
          kind: 'consume',
          franz: measured(1, 4, 7, 4),
          kafka: side(320, 9, 13),
          ratio: 0.8,
        }),
      ],
    };
    assert.match(toMarkdown(kcat), /\| 3\.14x \| 0\.91x \|/);
    assert.match(toMarkdown({ ...kcat, machine: { cpus: '8 x Test CPU' } }), /\| 3\.14x \| 3\.66x \|/);
  });

  test('every run of a repeated row is listed, slowest first, for both brokers', () => {
    const res: BenchResults = {
      date: '2026-12-06T00:00:00.000Z',
      quick: false,
      durationSec: 1,
      machine: {},
      settings: [],
      micro: [],
      targets: [],
      e2e: [
        row({
          title: 'Produce 1 KiB records, 8 partitions (librdkafka)',
          client: 'kcat -P',
          franz: { ...side(184, 1, 4), runsMiBPerSec: [117.2, 184, 547, 610.4] },
          kafka: { ...side(312, 3, 3), runsMiBPerSec: [293, 312, 386, 411] },
        }),
        row({ id: 'produce-1k-p1000', title: 'Produce 1 KiB records, 1 000 partitions', partitions: 1000 }),
      ],
    };
    const md = toMarkdown(res);
    const from = md.slice(md.indexOf('### Every run'));
    assert.ok(from.length > 0 && md.includes('### Every run'));
    assert.match(from, /\| Produce 1 KiB records, 8 partitions \(librdkafka\) \| kcat -P \| 117, 184, 547, 610 \| 293, 312, 386, 411 \|/);
    // A row that ran once is left out.
    assert.ok(!from.slice(0, from.indexOf('\n## ') < 0 ? undefined : from.indexOf('\n## ')).includes('1 000 partitions'));
  });

  test('with the runs of each pass known, they are listed in the order they ran, pass by pass', () => {
    const res: BenchResults = {
      date: '2026-12-06T08:00:00.000Z',
      quick: false,
      durationSec: 1,
      machine: {},
      settings: [],
      micro: [],
      targets: [],
      e2e: [
        row({
          id: 'consume-lz4',
          title: 'Consume 1 KiB records, lz4, 8 partitions',
          kind: 'consume',
          client: 'kcat -C',
          franz: {
            ...side(656, 0.2, 1.3),
            runsMiBPerSec: [617, 628, 656, 840, 852, 893],
            passesMiBPerSec: [
              [852, 840, 893],
              [628, 617, 656],
            ],
          },
          kafka: {
            ...side(793, 0.2, 1.3),
            runsMiBPerSec: [787, 790, 793, 795, 805, 812],
            passesMiBPerSec: [
              [790, 805, 787],
              [812, 795, 793],
            ],
          },
        }),
      ],
    };
    const md = toMarkdown(res);
    assert.match(
      md,
      /\| Consume 1 KiB records, lz4, 8 partitions \| kcat -C \| 852, 840, 893 \\\| 628, 617, 656 \| 790, 805, 787 \\\| 812, 795, 793 \|/,
    );
  });

  test("the client's side lists each watched row with its busiest thread and cores, all partitions", () => {
    const f = {
      ...side(150, 3, 12),
      clientThread: 'kafka-producer-network-thread | producer-1',
      clientThreadBusy: 0.974,
      clientCores: 1.41,
    };
    const k = { ...side(100, 9, 13), clientThreadBusy: 0.75, clientCores: 1.02 };
    const res: BenchResults = {
      date: '2026-12-04T00:00:00.000Z',
      quick: false,
      durationSec: 1,
      machine: {},
      settings: [],
      micro: [],
      targets: [],
      e2e: [
        row({ franz: f, kafka: k }),
        row({ id: 'produce-1k-p1000', title: 'Produce 1 KiB records, 1 000 partitions', partitions: 1000 }),
      ],
    };
    const md = toMarkdown(res);
    const from = md.slice(md.indexOf("### The client's side"));
    const section = from.slice(0, from.indexOf('\n## ') < 0 ? undefined : from.indexOf('\n## '));
    assert.match(
      section,
      /\| Produce 1 KiB records, 8 partitions \| ProducerPerformance \| \*\*1\.50x\*\* \| kafka-producer-network-thread \\\| producer-1 \| 97 \/ 75 \| 1\.41 \/ 1\.02 \|/,
    );
    // A row with no thread readings is left out.
    assert.ok(!section.includes('1 000 partitions'));
  });
});

/** A side with the client readings the out-of-reach rules use: `gib` GiB in `seconds`, the client's CPU over its process's wall time. */
function measured(gib: number, seconds: number, clientCpu: number, clientWall: number): BrokerMeasure {
  const mibPerSec = (gib * 1024) / seconds;
  return {
    ok: true,
    bytes: gib * 2 ** 30,
    seconds,
    mibPerSec,
    recordsPerSec: mibPerSec * 1024,
    cpuSecPerGiB: 1,
    clientCpuSeconds: clientCpu,
    clientCpuSecPerGiB: clientCpu / gib,
    clientCores: clientCpu / clientWall,
  };
}

describe("bench report: targets out of any broker's reach", () => {
  test('timedClientCpuPerGiB takes off what every core could have done outside the timed span', () => {
    // 7 CPU s over a 5 s process whose rate is timed over 4 s: at least 7 - 2 x 1 = 5 s inside, for 1 GiB.
    assert.equal(timedClientCpuPerGiB(measured(1, 4, 7, 5), 2), 5);
    // kcat: timed over its whole process, nothing to take off.
    assert.equal(timedClientCpuPerGiB(measured(1, 4, 7, 4), 2), 7);
    assert.equal(timedClientCpuPerGiB({ ok: true, mibPerSec: 1 }, 2), undefined);
  });

  test('a missed row whose client alone on every core could not reach the target is out of reach', () => {
    // franz: 1 GiB in 4 s, the client at >= 5 CPU s/GiB inside that span: at most 0.4 GiB/s on two
    // cores, 409.6 MiB/s, against Kafka's 320: 1.28x.
    const r = row({ franz: measured(1, 4, 7, 5), kafka: side(320, 9, 13), ratio: 256 / 320 });
    assert.equal(outOfReach(r, 1.5), 'the client alone on 2 cores: at most 1.28x');
    // A lighter client could have got there (3 CPU s/GiB: at most 2.13x).
    assert.equal(outOfReach(row({ franz: measured(1, 4, 4, 4.5), kafka: side(320, 9, 13), ratio: 0.8 }), 1.5), null);
    // With eight cores the same client could have, too.
    assert.equal(outOfReach(r, 1.5, 8), null);
    // A bound just under the target keeps the decimal that shows it under.
    assert.equal(
      outOfReach(row({ franz: measured(1, 4, 7, 5), kafka: side(409.6 / 1.4997, 9, 13), ratio: 0.9 }), 1.5),
      'the client alone on 2 cores: at most 1.499x',
    );
    // A row that met the target is never listed.
    assert.equal(outOfReach({ ...r, ratio: 1.6 }, 1.5), null);
  });

  test("a client thread that would need more than a CPU at the target's rate puts the row out of reach", () => {
    const f = { ...side(110, 3, 12), clientThread: 'kcat', clientThreadBusy: 0.87 };
    const kcat = row({ id: 'produce-100b-kcat', client: 'kcat -P', franz: f, ratio: 1.29 });
    assert.equal(outOfReach(kcat, 1.5), 'client thread kcat would need 102% of a CPU');
    assert.equal(outOfReach({ ...kcat, ratio: 1.35 }, 1.5), null);
    // Kafka's perf tools time themselves after the JVM's start-up, and Go moves franz-go's
    // goroutines between threads: no thread reading for either.
    assert.equal(outOfReach({ ...kcat, client: 'ProducerPerformance' }, 1.5), null);
    assert.equal(outOfReach({ ...kcat, client: 'franz-go' }, 1.5), null);
  });

  test('checkTargets lists out-of-reach rows per target, and the partition targets by the cores the client would need', () => {
    const rows = [
      // produce-1k: met, and the 8-partition rate (256 MiB/s) the partition target compares with.
      row({ franz: measured(1, 4, 7, 5), kafka: side(150, 3, 12), ratio: 1.7 }),
      row({ id: 'produce-100b', franz: measured(1, 4, 7, 5), kafka: side(320, 9, 13), ratio: 0.8 }),
      row({ id: 'produce-lz4', franz: measured(1, 4, 4, 4.5), kafka: side(320, 9, 13), ratio: 0.8 }),
      // 10 000 partitions: 1 GiB in 10 s with 20 client CPU s, 40% of the 8-partition 256 MiB/s;
      // at 80% of that (0.2 GiB/s) the client alone needs 20 x 0.2 = 4 cores.
      row({ id: 'produce-1k-p10000', partitions: 10000, franz: measured(1, 10, 20, 10), kafka: side(4, 300, 40), ratio: 15 }),
    ];
    const t = checkTargets(rows, 2);
    const produce = t.find((x) => x.target.startsWith('Produce throughput'))!;
    assert.equal(produce.met, false);
    assert.deepEqual(produce.outOfReach, ['produce-100b (the client alone on 2 cores: at most 1.28x)']);
    const flat = t.find((x) => x.target.startsWith('franz at 10 000'))!;
    assert.equal(flat.met, false);
    assert.deepEqual(flat.outOfReach, ['produce-1k-p10000 (the client alone would need 4.0 of the 2 cores)']);
    // With eight cores the same client could have kept up.
    assert.deepEqual(checkTargets(rows, 8).find((x) => x.target.startsWith('franz at 10 000'))!.outOfReach, []);
    const md = toMarkdown({ date: 'd', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], e2e: rows, targets: t });
    assert.match(md, /\| Produce throughput >= 1\.5x Kafka \| .* \| no \| produce-100b \(the client alone on 2 cores: at most 1\.28x\) \|/);
  });
});

describe('bench report: the in-memory broker (bench/membroker)', () => {
  test('a row below target is listed against the in-memory broker too only when that broker also fell below it', () => {
    const rows = [
      // Below 1.5x, and membroker reached only 1.2x Kafka's rate: listed.
      row({
        id: 'consume-1k',
        kind: 'consume',
        client: 'kcat -C',
        franz: side(110, 0.5, 1),
        kafka: side(100, 0.5, 1),
        membroker: side(120, 0.3, 1),
        ratio: 1.1,
      }),
      // Below 1.5x, but membroker reached 2x: franz has room, not listed.
      row({ id: 'produce-100b', franz: side(110, 2, 20), kafka: side(100, 8, 25), membroker: side(200, 1, 20), ratio: 1.1 }),
      // Met: never listed, whatever membroker did.
      row({ id: 'produce-1k', franz: side(200, 2, 8), kafka: side(100, 8, 9), membroker: side(120, 1, 8), ratio: 2 }),
      // Flatness: franz 40%, membroker 50% of their own 8-partition rates (listed); kcat: membroker 90% (not).
      row({
        id: 'produce-1k-p10000',
        partitions: 10000,
        franz: side(80, 3, 25),
        kafka: side(5, 250, 40),
        membroker: side(60, 1, 25),
        ratio: 16,
      }),
      row({
        id: 'produce-1k-kcat',
        client: 'kcat -P',
        franz: side(500, 1, 3),
        kafka: side(300, 3, 3),
        membroker: side(500, 1, 3),
        ratio: 1.67,
      }),
      row({
        id: 'produce-1k-p10000-kcat',
        client: 'kcat -P',
        partitions: 10000,
        franz: side(20, 12, 50),
        kafka: side(4, 300, 170),
        membroker: side(450, 1, 3),
        ratio: 5,
      }),
    ];
    const t = checkTargets(rows, 2);
    assert.deepEqual(t.find((x) => x.target.startsWith('Produce throughput'))!.belowWithMembroker, []);
    assert.deepEqual(t.find((x) => x.target.startsWith('Consume throughput'))!.belowWithMembroker, ['consume-1k (1.20x)']);
    assert.deepEqual(t.find((x) => x.target.endsWith('ProducerPerformance'))!.belowWithMembroker, ['produce-1k-p10000 (50%)']);
    assert.deepEqual(t.find((x) => x.target.endsWith('kcat -P'))!.belowWithMembroker, []);
    const md = toMarkdown({ date: 'd', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], e2e: rows, targets: t });
    assert.match(md, /\| Consume throughput >= 1\.5x Kafka \| .* \| no \| - \| consume-1k \(1\.20x\) \|/);
    // The yardstick table: franz / Kafka, membroker / Kafka and franz / membroker for each row.
    assert.match(md, /### The in-memory broker/);
    assert.match(
      md,
      /\| Produce 1 KiB records, 8 partitions \| ProducerPerformance \| 110 \| 100 \| 200 \| \*\*1\.10x\*\* \| 2\.00x \| 0\.55 \|/,
    );
  });

  test('results without the in-memory broker get no such column or table', () => {
    const rows = [row({ id: 'consume-1k', kind: 'consume', client: 'kcat -C', ratio: 1.1 })];
    const t = checkTargets(rows, 2);
    assert.equal(t[0]!.belowWithMembroker, undefined);
    const md = toMarkdown({ date: 'd', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], e2e: rows, targets: t });
    assert.doesNotMatch(md, /in-memory/);
  });
});
