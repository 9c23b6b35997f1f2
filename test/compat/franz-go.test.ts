/**
 * franz-go (github.com/twmb/franz-go 1.22: pkg/kgo, pkg/kadm) against a real franz broker, through
 * test/go/main.go, built here with `go build` (the Go module proxy supplies the client at the
 * version test/go/go.mod pins and go.sum checks; .ci/install fetches and builds it once).
 *
 * kgo negotiates the highest versions both sides have, so this runs Produce v11, Fetch v12 (with
 * fetch sessions, which franz declines), Metadata v12, the classic group protocol with kgo's
 * cooperative-sticky balancer, and kadm's CreateTopics, DescribeConfigs, IncrementalAlterConfigs,
 * CreatePartitions, ListOffsets, DeleteRecords, DeleteTopics and DescribeGroups.
 *
 * Without `go` these tests are skipped, unless FRANZ_REQUIRE_GO=1 (as in CI), when that is a failure.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { runOk } from '../helpers/run.js';
import { segmentBatches, CODEC_ID } from '../helpers/segment.js';
import { Client, LATEST_TIMESTAMP } from '../../src/client/client.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, seen from dist/test. */
const GO_DIR = join(here, '..', '..', '..', 'test', 'go');
const PARTITIONS = 3;

/** `go` on PATH, else where these machines install it. */
const GO = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0 ? 'go' : '/usr/local/go/bin/go';
const haveGo = spawnSync(GO, ['version'], { stdio: 'ignore' }).status === 0;
const required = process.env.FRANZ_REQUIRE_GO === '1';
const skip = !haveGo && !required ? 'no go on PATH or in /usr/local/go' : false;

let broker: RunningBroker;
let scratch: string;
let bin: string;
let admin: Client;

// What test/go/main.go sends as record i (keep in step with recordOf there).
const keyOf = (i: number): string | null => (i % 10 === 9 ? null : `key-${i}`);
const recordValue = (i: number): string => (i % 25 === 24 ? '' : `value-${i}-\u00e9\u6f22-` + 'x'.repeat(i % 50));
const headersOf = (i: number): Array<[string, string | null]> => {
  const h: Array<[string, string | null]> = [
    ['i', String(i)],
    ['h\u00e9', `hv-${i}`],
  ];
  if (i % 7 === 0) h.push(['nullh', null]);
  return h;
};

interface GoRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Array<[string, string | null]>;
  timestamp: number;
}

async function check<T>(...args: string[]): Promise<T> {
  const r = await runOk(bin, [args[0]!, broker.address, ...args.slice(1)], { timeoutMs: 90_000 });
  return JSON.parse(r.stdout) as T;
}

/** Record i from its header "i", checked against what it should hold. */
function assertRecord(r: GoRecord): number {
  const i = Number(r.headers[0]?.[1]);
  assert.ok(Number.isInteger(i), `record without an "i" header: ${JSON.stringify(r)}`);
  assert.deepEqual(
    { key: r.key, value: r.value, headers: r.headers },
    { key: keyOf(i), value: recordValue(i), headers: headersOf(i) },
    `record ${i}`,
  );
  return i;
}

/** Every partition's offsets run 0, 1, 2, ... in the order read. */
function assertDense(records: GoRecord[]): void {
  const next = new Map<number, number>();
  for (const r of records) {
    assert.equal(r.offset, next.get(r.partition) ?? 0, `partition ${r.partition}: offset ${r.offset}`);
    next.set(r.partition, r.offset + 1);
  }
}

describe('franz-go (kgo, kadm 1.22)', { skip }, () => {
  before(async () => {
    if (!haveGo) throw new Error('FRANZ_REQUIRE_GO=1 but there is no go on PATH or in /usr/local/go');
    scratch = tempDir('franz-go-');
    bin = join(scratch, 'franz-check-go');
    await runOk(GO, ['build', '-o', bin, '.'], { cwd: GO_DIR, timeoutMs: 10 * 60_000 });
    broker = await startBroker({ sets: [`num.partitions=${PARTITIONS}`, 'group.initial.rebalance.delay.ms=0'] });
    admin = new Client({ brokers: [broker.address] });
  });

  after(async () => {
    await admin?.close();
    if (broker !== undefined) {
      await broker.stop();
      removeDir(broker.dataDir);
    }
    if (scratch !== undefined) removeDir(scratch);
  });

  for (const codec of ['default', 'none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`produce (idempotent, acks=all${codec === 'default' ? ', kgo default snappy' : `, ${codec}`}) and read back without a group`, async () => {
      const topic = `go-${codec}`;
      const n = 400;
      await admin.createTopics([{ name: topic, numPartitions: PARTITIONS }]);
      const before = Date.now();
      const out = await check<{ acks: Array<{ partition: number; offset: number }>; records: GoRecord[] }>(
        'produce-consume',
        topic,
        String(n),
        codec,
      );
      assert.equal(out.acks.length, n);
      assert.equal(out.records.length, n, 'records read');
      assertDense(out.records);
      // Each record comes back once, where its ack said, with its key, value and headers.
      const seen = new Set<number>();
      for (const r of out.records) {
        const i = assertRecord(r);
        assert.ok(!seen.has(i), `record ${i} read twice`);
        seen.add(i);
        assert.deepEqual({ partition: r.partition, offset: r.offset }, out.acks[i], `record ${i}: ack and read disagree`);
        assert.ok(r.timestamp >= before - 1000 && r.timestamp <= Date.now() + 1000, `record ${i}: timestamp ${r.timestamp}`);
      }
      // Keyed records spread over every partition (murmur2, as the Java client does).
      assert.equal(new Set(out.records.map((r) => r.partition)).size, PARTITIONS);
      // On disk: the client's own batches (idempotent: a producer id and sequences), in its codec.
      const wantCodec = CODEC_ID[codec === 'default' ? 'snappy' : codec]!;
      for (let part = 0; part < PARTITIONS; part++) {
        const batches = segmentBatches(broker.dataDir, topic, part);
        assert.equal(
          batches.reduce((a, b) => a + b.records, 0),
          out.records.filter((r) => r.partition === part).length,
        );
        for (const b of batches) {
          assert.ok(
            b.producerId >= 0n && b.baseSequence >= 0,
            `partition ${part}: batch without idempotence ${JSON.stringify({ ...b, producerId: String(b.producerId) })}`,
          );
          assert.equal(b.codec, wantCodec, `partition ${part}: codec ${b.codec}`);
        }
      }
    });
  }

  test('a group of two (cooperative-sticky): the partitions are shared, every record is read once, offsets are committed, a leaving member hands its partitions over', async () => {
    const topic = 'go-group';
    const group = 'go-group-1';
    const n = 300;
    await admin.createTopics([{ name: topic, numPartitions: PARTITIONS }]);
    const out = await check<{
      shared: number[][];
      records: GoRecord[][];
      committed: Record<string, number>;
      state: string;
      protocol: string;
      members: number;
      afterLeave: number[];
    }>('group', topic, group, String(n));
    // While both were in the group their partitions were disjoint and covered the topic.
    const [a, b] = out.shared as [number[], number[]];
    assert.ok(a.length > 0 && b.length > 0, `assignments ${JSON.stringify(out.shared)}`);
    assert.deepEqual([...a, ...b].sort(), [0, 1, 2]);
    // Each member read only its partitions, and together every record exactly once.
    const seen = new Set<number>();
    for (const [m, recs] of out.records.entries()) {
      const mine = new Set(out.shared[m]);
      for (const r of recs) {
        assert.ok(mine.has(r.partition), `member ${m} read partition ${r.partition}, assigned ${[...mine].join(',')}`);
        const i = assertRecord(r);
        assert.ok(!seen.has(i), `record ${i} read twice`);
        seen.add(i);
      }
    }
    assert.equal(seen.size, n);
    assertDense(out.records.flat().sort((x, y) => x.partition - y.partition || x.offset - y.offset));
    // The commits are each partition's end, and franz's own client reads the same.
    const end = await admin.listOffsets(topic, [0, 1, 2], LATEST_TIMESTAMP);
    const ends = Object.fromEntries([...end].map(([p, o]) => [String(p), Number(o.offset)]));
    assert.deepEqual(out.committed, ends);
    assert.equal(
      Object.values(ends).reduce((s, x) => s + x, 0),
      n,
    );
    assert.equal(out.state, 'Stable');
    assert.equal(out.protocol, 'cooperative-sticky');
    assert.equal(out.members, 2);
    assert.deepEqual(out.afterLeave, [0, 1, 2]);
  });

  test('kadm: create (and again), describe and alter configs, add a partition, list and delete records, delete the topic', async () => {
    const out = await check<Record<string, unknown>>('admin', 'go-admin');
    assert.match(String(out.createAgain), /TOPIC_ALREADY_EXISTS/);
    assert.equal(out.partitions, 2);
    // kadm prints a topic id in base64: 16 bytes, not all zero (a broker without topic ids).
    const id = Buffer.from(String(out.topicId), 'base64');
    assert.equal(id.length, 16, `topic id ${String(out.topicId)}`);
    assert.ok(
      id.some((b) => b !== 0),
      'topic id all zero',
    );
    assert.deepEqual(out.retention, { value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG' });
    assert.deepEqual(out.retentionAltered, { value: '7200000', source: 'DYNAMIC_TOPIC_CONFIG' });
    assert.equal(out.partitionsAfterAdd, 3);
    assert.deepEqual(out.endOffsets, { 0: 10, 1: 0, 2: 0 });
    assert.equal(out.deleteRecordsErr, '');
    assert.equal(out.deleteRecordsLow, 4);
    assert.deepEqual(out.startOffsets, { 0: 4, 1: 0, 2: 0 });
    assert.equal(out.listedAfterDelete, false);
  });
});
