/**
 * The bench report's CPU model (bench/report.ts cpuModel): the ratio two cores shared by client
 * and broker predict from each side's CPU per GiB, and its ceiling for a broker costing nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { checkTargets, cpuModel, outOfReach, toMarkdown, type BenchResults } from '../bench/report.js';
import type { BrokerMeasure, E2eRow } from '../bench/e2e.js';

function side(mibPerSec: number, broker: number, client: number): BrokerMeasure {
  return { ok: true, mibPerSec, recordsPerSec: mibPerSec * 1024, cpuSecPerGiB: broker, clientCpuSecPerGiB: client };
}

function row(over: Partial<E2eRow>): E2eRow {
  return {
    id: 'produce-1k', title: 'Produce 1 KiB records, 8 partitions', kind: 'produce', client: 'ProducerPerformance',
    partitions: 8, recordSize: 1024, compression: 'none', durable: false, records: 1000,
    franz: side(150, 3, 12), kafka: side(100, 9, 13), ratio: 1.5, ratioOf: 'records/s', ...over,
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
      date: '2026-12-04T00:00:00.000Z', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], targets: [],
      e2e: [row({}), row({ id: 'produce-1k-p1000', title: 'Produce 1 KiB records, 1 000 partitions', partitions: 1000 })],
    };
    const md = toMarkdown(res);
    assert.ok(md.includes('### CPU model'));
    const from = md.slice(md.indexOf('### CPU model'));
    const end = from.indexOf('\n## ');
    const section = end < 0 ? from : from.slice(0, end);
    assert.match(section, /\| Produce 1 KiB records, 8 partitions \| ProducerPerformance \| \*\*1\.50x\*\* \| 1\.47x \| 1\.83x \|/);
    assert.ok(!section.includes('1 000 partitions'));
  });

  test("the client's side lists each watched row with its busiest thread and cores, all partitions", () => {
    const f = { ...side(150, 3, 12), clientThread: 'kafka-producer-network-thread | producer-1', clientThreadBusy: 0.974, clientCores: 1.41 };
    const k = { ...side(100, 9, 13), clientThreadBusy: 0.75, clientCores: 1.02 };
    const res: BenchResults = {
      date: '2026-12-04T00:00:00.000Z', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], targets: [],
      e2e: [row({ franz: f, kafka: k }), row({ id: 'produce-1k-p1000', title: 'Produce 1 KiB records, 1 000 partitions', partitions: 1000 })],
    };
    const md = toMarkdown(res);
    const from = md.slice(md.indexOf("### The client's side"));
    const section = from.slice(0, from.indexOf('\n## ') < 0 ? undefined : from.indexOf('\n## '));
    assert.match(section, /\| Produce 1 KiB records, 8 partitions \| ProducerPerformance \| \*\*1\.50x\*\* \| kafka-producer-network-thread \\\| producer-1 \| 97 \/ 75 \| 1\.41 \/ 1\.02 \|/);
    // A row with no thread readings is left out.
    assert.ok(!section.includes('1 000 partitions'));
  });
});

describe('bench report: targets out of any broker\'s reach', () => {
  test('a missed row whose CPU ceiling is under the target is out of reach, with the ceiling', () => {
    // ceiling (13 + 9) / 20 = 1.10 < 1.5
    const r = row({ franz: side(110, 3, 20), ratio: 1.1 });
    assert.equal(outOfReach(r, 1.5), 'ceiling 1.10x');
    // The same row with a lighter client could still have got there.
    assert.equal(outOfReach(row({ franz: side(110, 3, 12), ratio: 1.1 }), 1.5), null);
    // A ceiling just under the target is shown with the decimal that keeps it under.
    // (13 + 9) / 14.67 = 1.49966
    assert.equal(outOfReach(row({ franz: side(110, 3, 14.67), ratio: 1.1 }), 1.5), 'ceiling 1.499x');
    // A row that met the target is never listed.
    assert.equal(outOfReach(row({ franz: side(110, 3, 20), ratio: 1.6 }), 1.5), null);
  });

  test("a client thread that would need more than a CPU at the target's rate puts the row out of reach", () => {
    const f = { ...side(110, 3, 12), clientThread: 'kcat', clientThreadBusy: 0.87 };
    const kcat = row({ id: 'produce-100b-kcat', client: 'kcat -P', partitions: 1000, franz: f, ratio: 1.29 });
    assert.equal(outOfReach(kcat, 1.5), 'client thread kcat would need 102% of a CPU');
    assert.equal(outOfReach({ ...kcat, ratio: 1.35 }, 1.5), null);
    // Kafka's perf tools time themselves after the JVM's start-up: no thread reading for them.
    assert.equal(outOfReach({ ...kcat, client: 'ProducerPerformance' }, 1.5), null);
  });

  test('checkTargets lists out-of-reach rows per target, and the flatness rows by client cores', () => {
    const rows = [
      row({ franz: side(150, 3, 12), ratio: 1.5 }),
      row({ id: 'produce-100b', franz: side(60, 3, 30), ratio: 1.1 }),
      row({ id: 'produce-lz4', franz: side(60, 3, 12), ratio: 1.2 }),
      // 10 000 partitions at 40% of the 8-partition rate; the client's 30 s/GiB at 0.8 x 150 MiB/s needs 3.52 cores.
      row({ id: 'produce-1k-p10000', partitions: 10000, franz: side(60, 3, 30), kafka: side(4, 300, 40), ratio: 15 }),
    ];
    const t = checkTargets(rows, 2);
    const produce = t.find((x) => x.target.startsWith('Produce throughput'))!;
    assert.equal(produce.met, false);
    assert.deepEqual(produce.outOfReach, ['produce-100b (ceiling 0.73x)']);
    const flat = t.find((x) => x.target.startsWith('franz at 10 000'))!;
    assert.equal(flat.met, false);
    assert.deepEqual(flat.outOfReach, ['produce-1k-p10000 (the client alone would need 3.6 of the 2 cores)']);
    // With eight cores the same client could have kept up.
    assert.deepEqual(checkTargets(rows, 8).find((x) => x.target.startsWith('franz at 10 000'))!.outOfReach, []);
    const md = toMarkdown({ date: 'd', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], e2e: rows, targets: t });
    assert.match(md, /\| Produce throughput >= 1\.5x Kafka \| .* \| no \| produce-100b \(ceiling 0\.73x\) \|/);
  });
});
