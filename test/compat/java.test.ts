/**
 * The Apache Kafka Java client (kafka-clients 4.1 from Maven Central, see test/java/pom.xml) against a
 * real franz broker, through test/java/FranzCheck.java run by Java's single-file source launcher.
 *
 * KafkaProducer with default settings (idempotence on, acks=all: InitProducerId, sequence numbers),
 * KafkaConsumer without a group (assign, seekToBeginning, seek, ListOffsets), producer compression
 * (the Java client frames snappy the xerial way, unlike librdkafka), AdminClient, and KafkaConsumer
 * in a group with the classic protocol and with the KIP-848 consumer protocol (group.protocol=consumer);
 * and a Kafka Streams application (test/java/StreamsCheck.java) with its internal topics.
 *
 * The jars are fetched by .ci/run (mvn ... dependency:copy-dependencies -DoutputDirectory=lib). Without
 * them these tests are skipped, unless FRANZ_REQUIRE_JAVA=1 (as in CI), when that is a failure.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { Kafka, logLevel } from 'kafkajs';
import { run, runOk, jsonLines } from '../helpers/run.js';
import { Client } from '../../src/client/client.js';
import { startMemberProcess, memberProcesses, splitBetween, type MemberProcess } from '../helpers/member-process.js';
import { segmentBatches, CODEC_ID } from '../helpers/segment.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, seen from dist/test. */
const ROOT = join(here, '..', '..', '..');
const JAVA_DIR = join(ROOT, 'test', 'java');
const LIB = join(JAVA_DIR, 'lib');
const SOURCE = join(JAVA_DIR, 'FranzCheck.java');
const PARTITIONS = 3;
/** Quicker start for short runs: C1 only, serial GC. */
const JAVA = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${LIB}/*`, SOURCE];

const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f));
const required = process.env.FRANZ_REQUIRE_JAVA === '1';
const skip =
  !haveJars && !required
    ? 'no jars in test/java/lib (run: mvn -q -f test/java/pom.xml dependency:copy-dependencies -DoutputDirectory=lib)'
    : false;

let broker: RunningBroker;
/** From the round-trip test: the consumer's offsetsForTimes answer and the records of that partition. */
let offsetsForTimes: { answer: { offsetForTime: number; offset: number } | undefined; records: JavaRecord[] } | undefined;

/** Runs FranzCheck in a mode and returns its JSON lines; fails on a non-zero exit. */
async function franzCheck<T = Record<string, unknown>>(mode: string, ...args: string[]): Promise<T[]> {
  const r = await runOk('java', [...JAVA, mode, broker.address, ...args], { timeoutMs: 90_000 });
  return jsonLines<T>(r.stdout);
}

// What FranzCheck.java sends as record i (keep in step with keyOf/valueOf there).
const keyOf = (i: number): string | null => (i % 10 === 9 ? null : `key-${i}`);
const recordValue = (i: number): string => (i % 25 === 24 ? '' : `value-${i}-\u00e9\u6f22\u2603-` + 'x'.repeat(i % 50));
const headersOf = (i: number): Array<[string, string | null]> => {
  const h: Array<[string, string | null]> = [
    ['i', String(i)],
    ['h\u00e9', `hv-${i}`],
  ];
  if (i % 7 === 0) h.push(['nullh', null]);
  return h;
};

interface Ack {
  i: number;
  partition: number;
  offset: number;
  timestamp: number;
}

interface JavaRecord {
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: string;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

/** Checks the acks: every record once, offsets per partition dense from 0 and in send order. */
function checkAcks(acks: Ack[], n: number): Map<number, Ack[]> {
  assert.deepEqual(
    acks.map((a) => a.i),
    [...Array(n).keys()],
  );
  const byPart = new Map<number, Ack[]>();
  for (const a of acks) {
    if (!byPart.has(a.partition)) byPart.set(a.partition, []);
    byPart.get(a.partition)!.push(a);
  }
  for (const [p, list] of byPart) {
    assert.deepEqual(
      list.map((a) => a.offset),
      list.map((_, k) => k),
      `partition ${p}: acked offsets`,
    );
  }
  return byPart;
}

/** The on-disk batches carry the idempotent producer's id, epoch and gap-free sequences. */
function checkIdempotentBatches(topic: string, byPart: Map<number, Ack[]>): void {
  const ids = new Set<bigint>();
  for (const [p, list] of byPart) {
    const batches = segmentBatches(broker.dataDir, topic, p);
    assert.equal(
      batches.reduce((s, b) => s + b.records, 0),
      list.length,
    );
    let seq = 0;
    for (const b of batches) {
      assert.ok(b.producerId >= 0n, `partition ${p}: batch without a producer id`);
      assert.equal(b.baseSequence, seq, `partition ${p}: batch at ${b.baseOffset} sequence`);
      seq += b.records;
      ids.add(b.producerId);
    }
  }
  assert.equal(ids.size, 1, 'one producer id across partitions');
}

function startMember(topic: string, groupId: string, protocol: string, instanceId?: string): MemberProcess {
  return startMemberProcess('java', [
    ...JAVA,
    'group',
    broker.address,
    topic,
    '-1',
    groupId,
    protocol,
    ...(instanceId === undefined ? [] : [instanceId]),
  ]);
}

async function produceWithKafkajs(topic: string, n: number, from: number): Promise<void> {
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })) });
  await p.disconnect();
}

describe('Java client (kafka-clients 4.1)', { skip }, () => {
  before(async () => {
    if (!haveJars) throw new Error('FRANZ_REQUIRE_JAVA=1 but test/java/lib has no kafka-clients jar');
    // A short KIP-848 heartbeat interval, so members learn of a new assignment quickly.
    broker = await startBroker({
      sets: [`num.partitions=${PARTITIONS}`, 'group.consumer.heartbeat.interval.ms=500', 'group.initial.rebalance.delay.ms=0'],
    });
  });

  after(async () => {
    for (const m of memberProcesses) m.child.kill('SIGKILL');
    if (broker === undefined) return;
    await broker.stop();
    removeDir(broker.dataDir);
  });

  test('KafkaProducer (defaults: idempotent, acks=all) then KafkaConsumer without a group', async () => {
    const topic = 'java-roundtrip';
    const n = 500;
    const acks = await franzCheck<Ack>('produce', topic, String(n));
    const byPart = checkAcks(acks, n);
    assert.equal(byPart.size, PARTITIONS, 'murmur2 spread the keys over every partition');
    checkIdempotentBatches(topic, byPart);

    // Seek target: a record in the middle of some partition.
    const mid = acks[250]!;
    const lines = await franzCheck('consume', topic, String(n), `${mid.partition}:${mid.offset}`);
    const records = lines.filter((l) => 'offset' in l && 'headers' in l) as unknown as JavaRecord[];
    assert.equal(records.length, n);
    const seen = new Set<number>();
    for (const r of records) {
      const i = Number(r.headers[0]![1]);
      assert.ok(!seen.has(i), `record ${i} read twice`);
      seen.add(i);
      const a = acks[i]!;
      assert.deepEqual(
        { partition: r.partition, offset: r.offset, timestamp: r.timestamp, type: r.timestampType },
        { partition: a.partition, offset: a.offset, timestamp: a.timestamp, type: 'CreateTime' },
        `record ${i}`,
      );
      assert.equal(r.key, keyOf(i), `record ${i} key`);
      assert.equal(r.value, recordValue(i), `record ${i} value`);
      assert.deepEqual(r.headers, headersOf(i), `record ${i} headers`);
    }
    // Polls return each partition in offset order.
    for (let p = 0; p < PARTITIONS; p++) {
      const offs = records.filter((r) => r.partition === p).map((r) => r.offset);
      assert.deepEqual(
        offs,
        offs.map((_, k) => k),
        `partition ${p}: consumed offsets`,
      );
    }
    // beginningOffsets / endOffsets (ListOffsets -2 / -1).
    const po = lines.filter((l) => 'partitionOffsets' in l) as Array<{ partitionOffsets: number; beginning: number; end: number }>;
    assert.deepEqual(
      po.map((x) => [x.partitionOffsets, x.beginning, x.end]),
      [...byPart.keys()].sort().map((p) => [p, 0, byPart.get(p)!.length]),
    );
    // seek() to an offset, then the first record polled is that one.
    const seek = lines.find((l) => 'seek' in l) as { seek: number; first: JavaRecord } | undefined;
    assert.ok(seek);
    assert.equal(seek.first.partition, mid.partition);
    assert.equal(seek.first.offset, mid.offset);
    assert.equal(seek.first.key, keyOf(250));
    offsetsForTimes = {
      answer: lines.find((l) => 'offsetForTime' in l) as { offsetForTime: number; offset: number } | undefined,
      records: records.filter((r) => r.partition === mid.partition),
    };
  });

  test('offsetsForTimes finds the first record at or after the timestamp, not the start of its batch', () => {
    // Target: the timestamp of the record consume sought to (record 250), in a batch of many.
    assert.ok(offsetsForTimes?.answer, 'the round-trip test ran');
    const { answer, records } = offsetsForTimes;
    const want = records.filter((r) => r.timestamp >= answer.offsetForTime).reduce((m, r) => Math.min(m, r.offset), Infinity);
    assert.equal(answer.offset, want);
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    test(`KafkaProducer compression.type=${codec}; kcat reads it back`, async () => {
      const topic = `java-${codec}`;
      const n = 300;
      const acks = await franzCheck<Ack>('produce', topic, String(n), `compression.type=${codec}`, 'linger.ms=20');
      const byPart = checkAcks(acks, n);
      checkIdempotentBatches(topic, byPart);
      for (const p of byPart.keys()) {
        const batches = segmentBatches(broker.dataDir, topic, p);
        for (const b of batches) assert.equal(b.codec, CODEC_ID[codec], `partition ${p}: batch codec`);
        assert.ok(
          batches.some((b) => b.records > 1),
          `partition ${p}: only single-record batches`,
        );
      }
      // Another client decompresses what Java compressed (xerial-framed snappy included).
      const r = await runOk('kcat', ['-b', broker.address, '-C', '-t', topic, '-o', 'beginning', '-e', '-J']);
      const got = jsonLines<{
        partition: number;
        offset: number;
        key: string | null;
        payload: string | null;
        headers?: Array<string | null>;
      }>(r.stdout);
      assert.equal(got.length, n);
      for (const g of got) {
        const i = Number(g.headers![1]);
        assert.equal(g.partition, acks[i]!.partition);
        assert.equal(g.offset, acks[i]!.offset);
        assert.equal(g.key, keyOf(i));
        assert.equal(g.payload, recordValue(i));
        assert.deepEqual(g.headers, headersOf(i).flat());
      }
    });
  }

  test('AdminClient: createTopics (3 partitions, configs), describeTopics, describeConfigs, listTopics', async () => {
    const topic = 'java-admin';
    const out = await franzCheck('admin', topic);
    assert.deepEqual(out[0], { created: topic });
    const d = out.find((l) => 'described' in l) as {
      described: string;
      topicId: string;
      internal: boolean;
      partitions: Array<{ partition: number; leader: number; replicas: number; isr: number }>;
    };
    assert.equal(d.described, topic);
    assert.equal(d.internal, false);
    assert.notEqual(d.topicId, 'AAAAAAAAAAAAAAAAAAAAAA', 'a topic id');
    assert.deepEqual(
      d.partitions,
      [0, 1, 2].map((p) => ({ partition: p, leader: 1, replicas: 1, isr: 1 })),
    );
    const c = out.find((l) => 'configs' in l) as { configs: Record<string, { value: string; source: string; isDefault: boolean }> };
    assert.deepEqual(c.configs['retention.ms'], { value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG', isDefault: false });
    assert.deepEqual(c.configs['cleanup.policy'], { value: 'compact', source: 'DYNAMIC_TOPIC_CONFIG', isDefault: false });
    assert.equal(c.configs['max.message.bytes']?.value, '1048588');
    const l = out.find((x) => 'topics' in x) as { topics: string[] };
    assert.ok(l.topics.includes(topic));
    // The broker agrees, seen from another client.
    const meta = JSON.parse((await runOk('kcat', ['-b', broker.address, '-L', '-J', '-t', topic])).stdout) as {
      topics: Array<{ topic: string; partitions: unknown[] }>;
    };
    assert.equal(meta.topics[0]!.partitions.length, 3);

    // Creating it again fails with TopicExistsException.
    const again = await run('java', [...JAVA, 'admin', broker.address, topic], { timeoutMs: 90_000 });
    assert.equal(again.code, 1);
    assert.match(again.stdout, /TopicExistsException/);
  });
  test('Admin.describeFeatures (kafka-features.sh describe) sees group.version 1 and transaction.version 2', async () => {
    const out = (await franzCheck('features', '-')) as Array<{
      feature: string;
      supportedMin: number;
      supportedMax: number;
      finalized: number | null;
      epoch: number | null;
    }>;
    const group = out.find((f) => f.feature === 'group.version');
    assert.deepEqual(group && { ...group, epoch: group.epoch !== null && group.epoch >= 0 }, {
      feature: 'group.version',
      supportedMin: 0,
      supportedMax: 1,
      finalized: 1,
      epoch: true,
    });
    const txn = out.find((f) => f.feature === 'transaction.version');
    assert.deepEqual(txn && { ...txn, epoch: txn.epoch !== null && txn.epoch >= 0 }, {
      feature: 'transaction.version',
      supportedMin: 0,
      supportedMax: 2,
      finalized: 2,
      epoch: true,
    });
  });

  for (const protocol of ['classic', 'consumer'] as const) {
    test(`KafkaConsumer groups with group.protocol=${protocol}: split, each record once, commits, resume`, async () => {
      const topic = `java-group-${protocol}`;
      const groupId = `java-g-${protocol}`;
      const m1 = startMember(topic, groupId, protocol);
      await m1.until(() => m1.owned.join() === '0,1,2', 'the first member owns every partition');
      const m2 = startMember(topic, groupId, protocol);
      const split = (): boolean => splitBetween(m1, m2, PARTITIONS);
      await m1.until(split, 'a two-way split');

      // The coordinator's view agrees with the members'.
      const client = new Client({ brokers: [broker.address] });
      try {
        if (protocol === 'consumer') {
          const [d] = await client.consumerGroupDescribe([groupId]);
          assert.equal(d!.members.length, 2);
          const owned = d!.members.map((m) => m.assignment.flatMap((a) => a.partitions).join()).sort();
          assert.deepEqual(owned, [m1.owned.join(), m2.owned.join()].sort());
        } else {
          const [d] = await client.describeGroups([groupId]);
          assert.equal(d!.members.length, 2);
          assert.equal(d!.protocolType, 'consumer');
        }

        // Produced once the split is settled, so no rebalance can deliver a record twice.
        const n = 60;
        await produceWithKafkajs(topic, n, 0);
        const both = (): boolean => m1.records.length + m2.records.length >= n;
        await m1.until(both, `${n} records`);
        const all = [...m1.records, ...m2.records];
        assert.equal(all.length, n, 'each record delivered once');
        assert.equal(new Set(all.map((r) => `${r.partition}/${r.offset}`)).size, n);
        for (const r of m1.records) assert.ok(m1.owned.includes(r.partition), 'member 1 read only its own partitions');
        for (const r of m2.records) assert.ok(m2.owned.includes(r.partition), 'member 2 read only its own partitions');

        await Promise.all([m1.stop(), m2.stop()]);
        const ends = await client.listOffsets(topic, [0, 1, 2], -1);
        const committed = await client.offsetFetch(groupId, [{ topic, partitions: [0, 1, 2] }]);
        for (const c of committed) assert.equal(c.offset, ends.get(c.partition)!.offset, `partition ${c.partition} committed to its end`);
        assert.equal(committed.length, [...ends.values()].filter((e) => e.offset > 0).length);

        // A new member starts from the committed offsets: it reads only what came after.
        await produceWithKafkajs(topic, 6, n);
        const again = (
          await franzCheck<{ offset?: number; partition?: number; key?: string }>('group', topic, '6', groupId, protocol)
        ).filter((l) => 'offset' in l);
        assert.deepEqual(again.map((r) => r.key).sort(), Array.from({ length: 6 }, (_, i) => `k${n + i}`).sort());
        for (const r of again) assert.ok(r.offset! >= ends.get(r.partition!)!.offset, 'read past the committed offset only');
      } finally {
        await client.close();
      }
    });
  }
  test('a static KIP-848 member (group.instance.id) that closes and comes back within its session gets its partitions back; the other member sees no change', async () => {
    const topic = 'java-static-848';
    const groupId = 'java-g-static-848';
    const a = startMember(topic, groupId, 'consumer', 'static-a');
    await a.until(() => a.owned.length === PARTITIONS, 'a owns every partition');
    const b = startMember(topic, groupId, 'consumer', 'static-b');
    await a.until(() => splitBetween(a, b, PARTITIONS), 'a two-way split');
    const aShare = a.owned.join();
    const bShare = b.owned.join();
    const bChanges = b.ownedChanges;
    // A static member's close() leaves with epoch -2 ("back soon"): the coordinator keeps its
    // partitions for it. (After a crash, without that leave, Kafka and franz answer a new member
    // with the same instance id UNRELEASED_INSTANCE_ID until the old one's session expires.)
    await a.stop();
    const a2 = startMember(topic, groupId, 'consumer', 'static-a');
    await a2.until(() => a2.owned.length > 0, 'the restarted member owns partitions');
    assert.equal(a2.owned.join(), aShare, 'the same partitions as before the crash');
    assert.equal(b.owned.join(), bShare, 'the other member kept its partitions');
    assert.equal(b.ownedChanges, bChanges, 'and saw no assignment change meanwhile');
    // Both still members: the coordinator lists exactly two, with the same instance ids.
    const client = new Client({ brokers: [broker.address] });
    try {
      const [d] = await client.consumerGroupDescribe([groupId]);
      assert.deepEqual(d!.members.map((m) => m.instanceId).sort(), ['static-a', 'static-b']);
    } finally {
      await client.close();
    }
    await Promise.all([a2.stop(), b.stop()]);
  });
});

const haveStreams = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-streams-.*\.jar$/.test(f));
const skipStreams = !haveStreams && !required ? 'no kafka-streams jar in test/java/lib (run the mvn command above)' : false;

describe('Kafka Streams (4.1)', { skip: skipStreams }, () => {
  let b: RunningBroker;
  let stateDir: string;
  before(async () => {
    b = await startBroker({ sets: ['group.initial.rebalance.delay.ms=0'] });
    stateDir = tempDir('franz-streams-');
  });
  after(async () => {
    await b.stop();
    removeDir(b.dataDir);
    removeDir(stateDir);
  });

  test('a word count: Streams makes its repartition and changelog topics, counts every word, and commits', async () => {
    const lines = 200;
    const r = await runOk(
      'java',
      [
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-cp',
        `${LIB}/*`,
        join(JAVA_DIR, 'StreamsCheck.java'),
        b.address,
        stateDir,
        String(lines),
      ],
      { timeoutMs: 150_000 },
    );
    const [out] = jsonLines<{ counts: Record<string, number>; internalTopics: string[] }>(r.stdout);
    // "the quick fox jumps over the lazy dog the end", `lines` times.
    assert.deepEqual(out!.counts, {
      dog: lines,
      end: lines,
      fox: lines,
      jumps: lines,
      lazy: lines,
      over: lines,
      quick: lines,
      the: 3 * lines,
    });
    const changelog = 'wordcount-KSTREAM-AGGREGATE-STATE-STORE-0000000003-changelog';
    const repartition = 'wordcount-KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition';
    assert.deepEqual(out!.internalTopics, [changelog, repartition]);
    const admin = new Kafka({ brokers: [b.address], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      // The changelog is compacted, as Streams asked; the application's group committed its input offsets.
      const cfg = await admin.describeConfigs({
        resources: [{ type: 2, name: changelog, configNames: ['cleanup.policy'] }],
        includeSynonyms: false,
      });
      assert.equal(cfg.resources[0]!.configEntries[0]!.configValue, 'compact');
      const committed = await admin.fetchOffsets({ groupId: 'wordcount', topics: ['words'] });
      const total = committed[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
      assert.equal(total, lines);
    } finally {
      await admin.disconnect();
    }
  });
});
