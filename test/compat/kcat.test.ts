/**
 * kcat (librdkafka 2.0.2) against a real franz broker: metadata, produce with every compression codec
 * and read back, offset queries, acks=all, record sizes at and over message.max.bytes.
 *
 * librdkafka picks the highest version both sides support, so this exercises Produce v9+, Fetch v11+,
 * ListOffsets v5+ and Metadata v9+ (flexible versions where franz advertises them). It partitions keys
 * with CRC32 (consistent_random), unlike Java and kafkajs.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { join } from 'node:path';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { run, runOk, jsonLines } from '../helpers/run.js';
import { apiVersions, type ApiRange } from '../helpers/api-versions.js';
import { segmentBatches, CODEC_ID } from '../helpers/segment.js';

const { Kafka, logLevel } = kafkajs;
const KCAT = 'kcat';
const PARTITIONS = 3;
/** Kafka's default message.max.bytes: 1 MiB plus the 12-byte log overhead (offset and length). */
const MESSAGE_MAX_BYTES = 1048588;

interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  broker: number;
  headers?: string[];
  key: string | null;
  payload: string | null;
}

interface KcatMetadata {
  originating_broker: { id: number; name: string };
  controllerid: number;
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{
    topic: string;
    error?: string;
    partitions: Array<{ partition: number; leader: number; error?: string; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }>;
  }>;
}

let broker: RunningBroker;
let scratch: string;
let apis: Map<number, ApiRange>;

before(async () => {
  broker = await startBroker({ sets: [`num.partitions=${PARTITIONS}`] });
  apis = await apiVersions(broker.address);
  scratch = tempDir('franz-kcat-');
});

after(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
  removeDir(scratch);
});

function kcat(args: string[], input?: string): ReturnType<typeof runOk> {
  return runOk(KCAT, ['-b', broker.address, ...args], { input });
}

/** Reads a whole topic (every partition, from the beginning to the end at the time of the call). */
async function consumeAll(topic: string, extra: string[] = []): Promise<KcatRecord[]> {
  const r = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J', ...extra]);
  return jsonLines<KcatRecord>(r.stdout);
}

function byPartition(records: KcatRecord[]): Map<number, KcatRecord[]> {
  const m = new Map<number, KcatRecord[]>();
  for (const r of records) {
    if (!m.has(r.partition)) m.set(r.partition, []);
    m.get(r.partition)!.push(r);
  }
  return m;
}

/** Asserts each partition holds offsets 0..n-1 in order, without gaps or repeats. */
function assertDenseOffsets(records: KcatRecord[]): void {
  for (const [p, recs] of byPartition(records)) {
    assert.deepEqual(
      recs.map((r) => r.offset),
      recs.map((_, i) => i),
      `partition ${p}: offsets not dense from 0`,
    );
  }
}

describe('kcat', () => {
  test('metadata (-L -J): the broker, and an auto-created topic with its partitions', async () => {
    const topic = 'kcat-meta';
    const one = JSON.parse((await kcat(['-L', '-J', '-t', topic])).stdout) as KcatMetadata;
    assert.deepEqual(one.brokers, [{ id: 1, name: broker.address }]);
    assert.equal(one.controllerid, 1);
    assert.equal(one.originating_broker.id, 1);
    assert.equal(one.topics.length, 1);
    const t = one.topics[0]!;
    assert.equal(t.topic, topic);
    assert.equal(t.error, undefined);
    assert.deepEqual(t.partitions.map((p) => p.partition).sort(), [...Array(PARTITIONS).keys()]);
    for (const p of t.partitions) {
      assert.equal(p.error, undefined, `partition ${p.partition}`);
      assert.equal(p.leader, 1);
      assert.deepEqual(p.replicas, [{ id: 1 }]);
      assert.deepEqual(p.isrs, [{ id: 1 }]);
    }
    // All topics: the one just created is listed.
    const all = JSON.parse((await kcat(['-L', '-J'])).stdout) as KcatMetadata;
    assert.ok(all.topics.some((x) => x.topic === topic && x.partitions.length === PARTITIONS));
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`produce -z ${codec} with keys, acks=all; read back every record in order`, async (t) => {
      const topic = `kcat-codec-${codec}`;
      const n = 600;
      const lines: Array<{ key: string | null; value: string }> = [];
      for (let i = 0; i < n; i++) {
        // Compressible, varied lengths, some UTF-8; every 40th line has no key, every 50th an empty value.
        const key = i % 40 === 39 ? null : `k-${i}`;
        const value = i % 50 === 49 && key !== null ? '' : `v${i} ${codec} é漢 ` + 'lorem ipsum '.repeat(i % 17) + '#'.repeat(i % 13);
        if (key === null && value.includes(':')) throw new Error('test data: keyless value must not hold the delimiter');
        lines.push({ key, value });
      }
      const input = lines.map((l) => (l.key === null ? l.value : `${l.key}:${l.value}`)).join('\n') + '\n';
      // Keyless lines need a value to be read as records; give the empty-value lines a key.
      assert.ok(lines.every((l) => l.key !== null || l.value !== ''));
      const before = Date.now();
      const p = await kcat(
        ['-P', '-t', topic, '-z', codec, '-K:', '-X', 'acks=all', '-X', 'batch.num.messages=64', '-X', 'linger.ms=20'],
        input,
      );
      const afterProduce = Date.now();
      assert.doesNotMatch(p.stderr, /fail|error/i);

      const got = await consumeAll(topic);
      assert.equal(got.length, n, 'record count');
      assertDenseOffsets(got);
      const index = new Map(lines.map((l, i) => [`${l.key}\u0000${l.value}`, i]));
      const seen = new Set<number>();
      for (const [part, recs] of byPartition(got)) {
        let last = -1;
        for (const r of recs) {
          assert.equal(r.topic, topic);
          const i = index.get(`${r.key}\u0000${r.payload}`);
          assert.ok(i !== undefined, `partition ${part} offset ${r.offset}: unexpected record ${JSON.stringify(r)}`);
          assert.ok(!seen.has(i), `record ${i} read twice`);
          seen.add(i);
          assert.ok(i > last, `partition ${part}: record ${i} after record ${last}, out of production order`);
          last = i;
          assert.equal(r.tstype, 'create');
          assert.ok(r.ts >= before - 1000 && r.ts <= afterProduce + 1000, `timestamp ${r.ts} outside the produce run`);
        }
      }
      assert.equal(seen.size, n);
      // librdkafka spread the keys over every partition.
      assert.equal(byPartition(got).size, PARTITIONS);
      // The batches on disk are the client's: several records each, compressed with the codec asked for.
      // librdkafka before 2.11 enables LZ4 only when the broker advertises FindCoordinator v0 (a marker
      // for Kafka 0.9); without it, it sends "lz4" batches uncompressed.
      const lz4Off = codec === 'lz4' && !apis.has(10);
      if (lz4Off) t.diagnostic('franz does not advertise FindCoordinator: librdkafka 2.0.2 sent the lz4 batches uncompressed');
      const wantCodec = lz4Off ? CODEC_ID.none : CODEC_ID[codec];
      for (let part = 0; part < PARTITIONS; part++) {
        const batches = segmentBatches(broker.dataDir, topic, part);
        assert.equal(
          batches.reduce((a, b) => a + b.records, 0),
          byPartition(got).get(part)!.length,
        );
        assert.ok(
          batches.some((b) => b.records > 1),
          `partition ${part}: only single-record batches`,
        );
        // librdkafka also sends a batch uncompressed when compressing did not make it smaller.
        for (const b of batches) assert.ok(b.codec === wantCodec || b.codec === CODEC_ID.none, `partition ${part}: codec ${b.codec}`);
        assert.ok(
          batches.some((b) => b.codec === wantCodec),
          `partition ${part}: no batch with codec ${wantCodec}`,
        );
      }
    });
  }

  test('headers (-H) round-trip', async () => {
    const topic = 'kcat-headers';
    await kcat(['-P', '-t', topic, '-p', '0', '-K:', '-H', 'h1=one', '-H', 'h2=', '-H', 'hé=v=2'], 'a:1\nb:2\n');
    const got = await consumeAll(topic);
    assert.deepEqual(
      got.map((r) => [r.offset, r.key, r.payload, r.headers]),
      [
        [0, 'a', '1', ['h1', 'one', 'h2', '', 'hé', 'v=2']],
        [1, 'b', '2', ['h1', 'one', 'h2', '', 'hé', 'v=2']],
      ],
    );
  });

  describe('offsets', () => {
    const topic = 'kcat-offsets';
    let recs: KcatRecord[] = [];

    before(async () => {
      // Three produce runs, one after another: three groups of timestamps on partition 0.
      for (const run of ['a', 'b', 'c']) {
        const input = Array.from({ length: 10 }, (_, i) => `${run}${i}`).join('\n') + '\n';
        await kcat(['-P', '-t', topic, '-p', '0', '-X', 'acks=all'], input);
      }
      recs = await consumeAll(topic);
      assert.equal(recs.length, 30);
      assertDenseOffsets(recs);
    });

    async function query(ts: number): Promise<number> {
      const r = await kcat(['-Q', '-t', `${topic}:0:${ts}`]);
      const m = new RegExp(`^${topic} \\[0\\] offset (-?\\d+)$`, 'm').exec(r.stdout);
      assert.ok(m, `unexpected -Q output: ${r.stdout}`);
      return Number(m[1]);
    }

    test('-Q: earliest (-2), latest (-1), by timestamp, and a timestamp past the end', async () => {
      assert.equal(await query(-2), 0);
      assert.equal(await query(-1), 30);
      assert.equal(await query(0), 0);
      // Each produce run starts a new batch: its first timestamp finds its first offset, provided the run
      // before ended in an earlier millisecond. (Timestamps inside a batch: the test below.)
      for (const first of [0, 10, 20]) {
        const ts = recs[first]!.ts;
        if (first > 0 && recs[first - 1]!.ts >= ts) continue;
        assert.equal(await query(ts), first, `first timestamp of the run at ${first}`);
      }
      assert.equal(await query(Math.max(...recs.map((r) => r.ts)) + 1), -1);
      assert.equal(await query(Date.now() + 3_600_000), -1);
    });

    test('-Q by timestamp inside one batch: the first record at or after it, not the batch start', async () => {
      // kafkajs sets per-record timestamps; one send to one partition is one batch.
      const t0 = Date.now() - 60_000;
      const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      try {
        await producer.send({
          topic: 'kcat-ts-in-batch',
          acks: -1,
          messages: [0, 10, 20, 30, 40].map((d, i) => ({ partition: 0, value: `r${i}`, timestamp: String(t0 + d) })),
        });
      } finally {
        await producer.disconnect();
      }
      const q = async (ts: number): Promise<string> => (await kcat(['-Q', '-t', `kcat-ts-in-batch:0:${ts}`])).stdout.trim();
      assert.equal(await q(t0), 'kcat-ts-in-batch [0] offset 0');
      assert.equal(await q(t0 + 15), 'kcat-ts-in-batch [0] offset 2');
      assert.equal(await q(t0 + 40), 'kcat-ts-in-batch [0] offset 4');
      assert.equal(await q(t0 + 41), 'kcat-ts-in-batch [0] offset -1');
    });

    test('-o -N reads the last N records', async () => {
      const r = await kcat(['-C', '-t', topic, '-p', '0', '-o', '-5', '-e', '-f', '%o %s\n']);
      assert.equal(r.stdout, '25 c5\n26 c6\n27 c7\n28 c8\n29 c9\n');
    });

    test('-o OFFSET reads from the middle of a batch; -c stops after a count', async () => {
      const r = await kcat(['-C', '-t', topic, '-p', '0', '-o', '12', '-c', '3', '-f', '%o %s\n']);
      assert.equal(r.stdout, '12 b2\n13 b3\n14 b4\n');
      const e = await kcat(['-C', '-t', topic, '-p', '0', '-o', '27', '-e', '-f', '%o %s\n']);
      assert.equal(e.stdout, '27 c7\n28 c8\n29 c9\n');
    });

    test('-o s@TIMESTAMP starts at the first record at or after it', async (t) => {
      // A run start in a later millisecond than the run before (see the -Q test).
      const first = [20, 10].find((i) => recs[i - 1]!.ts < recs[i]!.ts);
      if (first === undefined) return t.skip('all three produce runs fell in one millisecond');
      const r = await kcat(['-C', '-t', topic, '-p', '0', '-o', `s@${recs[first]!.ts}`, '-e', '-f', '%o\n']);
      assert.equal(
        r.stdout,
        recs
          .slice(first)
          .map((x) => `${x.offset}\n`)
          .join(''),
      );
    });
  });

  describe('record size limit (message.max.bytes)', () => {
    const topic = 'kcat-large';
    // A one-record, uncompressed, keyless batch from librdkafka: 61 bytes of batch header and
    // 11 bytes of record framing (3-byte length and value-length varints at this size).
    const atLimit = MESSAGE_MAX_BYTES - 72;
    const file = (name: string, size: number, fill: string): string => {
      const path = join(scratch, name);
      writeFileSync(path, Buffer.alloc(size, fill));
      return path;
    };
    // The client's own limit must be above the broker's, or librdkafka refuses locally.
    const produceFile = (path: string) =>
      run(KCAT, ['-b', broker.address, '-P', '-t', topic, '-p', '0', '-X', 'acks=all', '-X', 'message.max.bytes=4000000', path]);

    test('a record whose batch is exactly message.max.bytes is stored and read back intact', async () => {
      const small = await produceFile(file('small', 100_000, 's'));
      assert.equal(small.code, 0, small.stderr);
      const big = await produceFile(file('at-limit', atLimit, 'a'));
      assert.equal(big.code, 0, big.stderr);
      assert.doesNotMatch(big.stderr, /fail/i);
      const r = await kcat(['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%o %S\n']);
      assert.equal(r.stdout, `0 100000\n1 ${atLimit}\n`);
      const body = await runOk(KCAT, ['-b', broker.address, '-C', '-t', topic, '-p', '0', '-o', '1', '-c', '1', '-f', '%s']);
      assert.equal(body.stdout.length, atLimit);
      assert.match(body.stdout, /^a+$/);
    });

    test('a record one byte over is refused with MESSAGE_TOO_LARGE; the broker and the log are unharmed', async () => {
      const over = await produceFile(file('over-limit', atLimit + 1, 'o'));
      // What kcat does: the delivery report fails, kcat says so on stderr and exits 1.
      assert.equal(over.code, 1, `kcat exit: ${over.code}\n${over.stderr}`);
      assert.match(over.stderr, /Delivery failed for message: Broker: Message size too large/);
      const far = await produceFile(file('far-over', 3_000_000, 'f'));
      assert.equal(far.code, 1);
      assert.match(far.stderr, /Message size too large/);

      assert.equal(broker.process.exitCode, null, 'broker still running');
      assert.equal(broker.process.signalCode, null, 'broker still running');
      // The log still holds exactly the two records from before, and appends continue after them.
      const after = await kcat(['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%o %S\n']);
      assert.equal(after.stdout, `0 100000\n1 ${atLimit}\n`);
      await kcat(['-P', '-t', topic, '-p', '0', '-X', 'acks=all'], 'next\n');
      const tail = await kcat(['-C', '-t', topic, '-p', '0', '-o', '2', '-e', '-f', '%o %s\n']);
      assert.equal(tail.stdout, '2 next\n');
    });
  });
});
