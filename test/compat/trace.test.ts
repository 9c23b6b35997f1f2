/**
 * Message trace with real clients: records produced by kcat (idempotent) to a topic with
 * `franz.trace.enable=true` are read by a kafkajs group and a Java group (the KIP-848 consumer
 * protocol), each committing; `franz trace` then shows the record's timeline: produced by the kcat
 * client with its producer id and sequence, fetched by each group's client, committed past by
 * each group, in time order with the lag at each step. A delayed record's timeline adds its
 * schedule and delivery. Sampling keeps about its ratio of produce events. A topic without trace
 * writes nothing (and no trace topic is made while nothing is traced). A bad command line is a
 * usage error.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { FRANZ_MAIN, startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { FRANZ_CHECK, javaSkip } from '../helpers/java.js';
import { jsonLines, run, runOk } from '../helpers/run.js';

const { Kafka, logLevel } = kafkajs;

interface Step {
  type: string;
  lagMs: number;
  time: number;
  client?: string;
  address?: string;
  group?: string;
  groups?: string[];
  first?: number;
  last?: number;
  offset?: number;
  from?: number;
  due?: number;
  producerId?: number;
  sequence?: number;
  more?: number[];
}
interface Timeline {
  topic: string;
  partition: number;
  offset: number;
  readOffset: number | null;
  delayed: boolean;
  key: string | null;
  steps: Step[];
}

const dataDir = tempDir('franz-trace-');
let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ dataDir, sets: ['num.partitions=1', 'group.initial.rebalance.delay.ms=0'] });
});
after(async () => {
  await broker.stop();
  removeDir(dataDir);
});

const kafka = (clientId: string) => new Kafka({ clientId, brokers: [broker.address], logLevel: logLevel.NOTHING });

async function createTopic(topic: string, configs: Record<string, string> = {}): Promise<void> {
  const admin = kafka('trace-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

async function trace(...args: string[]): Promise<Timeline[]> {
  const r = await runOk(process.execPath, [FRANZ_MAIN, 'trace', ...args, '--brokers', broker.address, '--format', 'json']);
  return jsonLines<Timeline>(r.stdout);
}

/** Runs `franz trace` until `ok` holds of its answer: trace events reach the trace topic within a flush interval. */
async function traceUntil(ok: (t: Timeline[]) => boolean, what: string, ...args: string[]): Promise<Timeline[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const t = await trace(...args);
    if (ok(t)) return t;
    if (Date.now() > deadline) throw new Error(`${what}: not within 20 s; last answer ${JSON.stringify(t)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A kafkajs group member that reads `n` records of `topic`, commits past them and leaves. */
async function kafkajsGroup(topic: string, group: string, n: number): Promise<void> {
  const consumer = kafka('trace-kafkajs').consumer({ groupId: group });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    let last = -1;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            seen++;
            last = Math.max(last, Number(message.offset));
            if (seen >= n) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.commitOffsets([{ topic, partition: 0, offset: String(last + 1) }]);
  } finally {
    await consumer.disconnect();
  }
}

describe('message trace', () => {
  test('off: a topic without franz.trace.enable writes no event, and no trace topic is made', async () => {
    await createTopic('tr-plain');
    await runOk('kcat', ['-b', broker.address, '-P', '-t', 'tr-plain', '-K', ':'], { input: 'a:1\nb:2\n' });
    await kafkajsGroup('tr-plain', 'g-plain', 2);
    assert.equal((await kcatReadAll(broker.address, 'tr-plain')).length, 2);
    const t = await trace('tr-plain', '--partition', '0', '--offset', '0');
    assert.equal(t.length, 1);
    assert.deepEqual(t[0]!.steps, []);
    assert.equal(
      readdirSync(dataDir).some((d) => d.startsWith('__franz_trace')),
      false,
      'no __franz_trace partition on disk',
    );
  });

  test('kcat produces, a kafkajs group and a Java group read and commit: franz trace shows each step', async () => {
    await createTopic('tr-orders', { 'franz.trace.enable': 'true' });
    const before = Date.now();
    await runOk(
      'kcat',
      ['-b', broker.address, '-P', '-t', 'tr-orders', '-K', ':', '-X', 'client.id=trace-kcat', '-X', 'enable.idempotence=true'],
      { input: 'o1:first\no2:second\no3:third\n' },
    );
    const produced = Date.now();
    await kafkajsGroup('tr-orders', 'g-js', 3);
    if (!javaSkip) await runOk('java', [...FRANZ_CHECK, 'group', broker.address, 'tr-orders', '3', 'g-java', 'consumer']);
    const groups = javaSkip ? ['g-js'] : ['g-js', 'g-java'];
    const [t] = await traceUntil(
      (ts) => groups.every((g) => ts[0]?.steps.some((s) => s.type === 'commit' && s.group === g)),
      'commits of every group in the trace',
      'tr-orders',
      '--partition',
      '0',
      '--offset',
      '1',
    );
    const { steps } = t!;
    assert.equal(t!.key, 'o2');
    const produce = steps[0]!;
    assert.equal(produce.type, 'produce', 'the first step is the produce');
    assert.equal(produce.client, 'trace-kcat');
    assert.ok(produce.first! <= 1 && 1 <= produce.last!, 'its batch holds the record');
    assert.ok(produce.producerId! >= 0 && produce.sequence! >= 0, 'an idempotent producer is named by id and sequence');
    assert.ok(produce.time >= before && produce.time <= produced, 'stamped when it was produced');
    assert.equal(produce.lagMs, 0);
    for (let i = 1; i < steps.length; i++) {
      assert.ok(steps[i]!.time >= steps[i - 1]!.time, 'in time order');
      assert.equal(steps[i]!.lagMs, steps[i]!.time - produce.time, 'lag since the produce');
    }
    const jsFetch = steps.find((s) => s.type === 'fetch' && s.client === 'trace-kafkajs');
    assert.ok(jsFetch, 'the kafkajs client fetched it');
    assert.deepEqual(jsFetch.groups, ['g-js']);
    assert.ok(jsFetch.first! <= 1 && 1 <= jsFetch.last!);
    const jsCommit = steps.find((s) => s.type === 'commit' && s.group === 'g-js')!;
    assert.equal(jsCommit.client, 'trace-kafkajs');
    assert.equal(jsCommit.offset, 3);
    assert.ok(jsCommit.time >= jsFetch.time);
    if (!javaSkip) {
      const javaFetch = steps.find((s) => s.type === 'fetch' && s.groups?.includes('g-java'));
      assert.ok(javaFetch, 'the Java client fetched it, as a member of g-java');
      assert.match(javaFetch.client!, /^consumer-g-java-/);
      const javaCommit = steps.find((s) => s.type === 'commit' && s.group === 'g-java')!;
      assert.equal(javaCommit.client, javaFetch.client);
      assert.ok(javaCommit.offset! > 1);
    }
    // By key, for people: the same story in text.
    const text = await runOk(process.execPath, [FRANZ_MAIN, 'trace', 'tr-orders', '--key', 'o2', '--brokers', broker.address]);
    assert.match(text.stdout, /tr-orders-0@1 {2}key "o2"/);
    assert.match(text.stdout, /produced by trace-kcat \(127\.0\.0\.1\)/);
    assert.match(text.stdout, /fetched by trace-kafkajs \(127\.0\.0\.1\) of group g-js/);
    assert.match(text.stdout, /committed by group g-js/);
    // --header narrows a key search; no match is said so.
    const none = await runOk(process.execPath, [
      FRANZ_MAIN,
      'trace',
      'tr-orders',
      '--key',
      'o2',
      '--header',
      'x=y',
      '--brokers',
      broker.address,
    ]);
    assert.equal(none.stdout, 'no record matches\n');
  });

  test('a delayed record: produced, stored for later, delivered at its due time, then fetched and committed', async () => {
    await createTopic('tr-later', { 'franz.trace.enable': 'true' });
    await runOk(
      'kcat',
      ['-b', broker.address, '-P', '-t', 'tr-later', '-K', ':', '-H', 'franz-delay-ms=500', '-X', 'client.id=trace-later'],
      {
        input: 'd1:soon\n',
      },
    );
    await kafkajsGroup('tr-later', 'g-later', 1);
    const [t] = await traceUntil(
      (ts) => ts[0]?.steps.some((s) => s.type === 'commit') === true,
      'the commit after delivery',
      'tr-later',
      '--partition',
      '0',
      '--offset',
      '0',
    );
    assert.equal(t!.delayed, true, 'offset 0 is the delay record');
    assert.deepEqual(
      t!.steps.map((s) => s.type),
      ['produce', 'delay', 'deliver', 'fetch', 'commit'],
    );
    const delay = t!.steps[1]!;
    const deliver = t!.steps[2]!;
    assert.equal(deliver.from, 0);
    assert.equal(deliver.offset, t!.readOffset);
    assert.ok(deliver.time >= delay.due!, 'not delivered before it was due');
    assert.ok(deliver.lagMs >= 500);
    // From the delivered record's offset, the same story.
    const [fromDelivered] = await trace('tr-later', '--partition', '0', '--offset', String(t!.readOffset));
    assert.deepEqual(
      fromDelivered!.steps.map((s) => s.type),
      ['produce', 'delay', 'deliver', 'fetch', 'commit'],
    );
  });

  test('sampling: franz.trace.sampling.ratio 0.5 keeps about half the produce events; fetches all', async () => {
    await createTopic('tr-sampled', { 'franz.trace.enable': 'true', 'franz.trace.sampling.ratio': '0.5' });
    const n = 200;
    // One batch per record: linger 0 and one record per produce call are not enough for kcat, so a batch size of 1.
    await runOk('kcat', ['-b', broker.address, '-P', '-t', 'tr-sampled', '-X', 'batch.num.messages=1', '-X', 'linger.ms=0'], {
      input: Array.from({ length: n }, (_, i) => `r${i}\n`).join(''),
    });
    await kafkajsGroup('tr-sampled', 'g-sampled', n);
    const events = async () =>
      (await kcatReadAll(broker.address, '__franz_trace'))
        .filter((r) => r.key === 'tr-sampled/0')
        .map((r) => JSON.parse(r.payload!) as Step & { records: number });
    let all = await events();
    const deadline = Date.now() + 20_000;
    while (!all.some((e) => e.type === 'commit') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      all = await events();
    }
    // A producer's consecutive batches within one flush share an event (`more`: a triple per later batch).
    const produces = all.filter((e) => e.type === 'produce');
    const batches = produces.reduce((k, e) => k + 1 + (e.more?.length ?? 0) / 3, 0);
    assert.equal(
      produces.reduce((k, e) => k + e.records, 0),
      batches,
      'one record per batch',
    );
    // Binomial(200, 0.5): 60..140 holds with probability 1 - 1e-8.
    assert.ok(batches >= 60 && batches <= 140, `${batches} produced batches traced of ${n}`);
    const fetched = new Set<number>();
    for (const e of all.filter((x) => x.type === 'fetch')) for (let o = e.first!; o <= e.last!; o++) fetched.add(o);
    assert.equal(fetched.size, n, 'every fetch is traced');
  });

  test('a bad command line is a usage error, and an offset with no record is said so', async () => {
    await createTopic('tr-bad', { 'franz.trace.enable': 'true' });
    const noRecord = await run(process.execPath, [FRANZ_MAIN, 'trace', 'tr-bad', '--brokers', broker.address]);
    assert.equal(noRecord.code, 2);
    assert.match(noRecord.stderr, /--partition P --offset O/);
    const noPartition = await run(process.execPath, [FRANZ_MAIN, 'trace', 'tr-bad', '--offset', '1', '--brokers', broker.address]);
    assert.equal(noPartition.code, 2);
    const past = await run(process.execPath, [
      FRANZ_MAIN,
      'trace',
      'tr-bad',
      '--partition',
      '0',
      '--offset',
      '99',
      '--brokers',
      broker.address,
    ]);
    assert.notEqual(past.code, 0);
    assert.match(past.stderr, /no record at offset 99/);
  });
});
