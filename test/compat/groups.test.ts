/**
 * Consumer groups with real clients: a kafkajs group rebalancing on join, leave and crash (each
 * partition owned by exactly one member); consumption resuming from committed offsets after the
 * consumers and after the broker restart; kcat -G; a static member (librdkafka group.instance.id)
 * getting its partitions back without a rebalance; and Kafka's errors for bad group requests.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { startBroker, removeDir, type RunningBroker } from '../helpers/broker.js';
import { RawConnection } from '../helpers/raw.js';
import { run } from '../helpers/run.js';
import { startMemberProcess, memberProcesses, splitBetween, type MemberProcess } from '../helpers/member-process.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Client } from '../../src/client/client.js';

const here = dirname(fileURLToPath(import.meta.url));
const SESSION_MS = 3000;
let broker: RunningBroker;
let kafka: Kafka;

const brokerSets = [
  'group.initial.rebalance.delay.ms=0',
  'group.min.session.timeout.ms=1000',
  'num.partitions=6',
  'group.consumer.heartbeat.interval.ms=500',
];

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  broker = await startBroker({ sets: brokerSets });
  kafka = new Kafka({ brokers: [broker.address], clientId: 'groups-test', logLevel: logLevel.NOTHING });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const m of memberProcesses) m.child.kill('SIGKILL');
  await Promise.allSettled([...live].map((c) => c.disconnect()));
  await broker.stop();
  removeDir(broker.dataDir);
});

async function produce(topic: string, n: number, from = 0): Promise<void> {
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })) });
  await p.disconnect();
}

/** Latest assignment per member, and a way to wait until they satisfy a condition. */
class Assignments {
  private readonly latest = new Map<string, number[]>();
  private waiters: Array<() => void> = [];

  set(member: string, partitions: number[]): void {
    this.latest.set(
      member,
      [...partitions].sort((a, b) => a - b),
    );
    for (const w of this.waiters.splice(0)) w();
  }

  drop(member: string): void {
    this.latest.delete(member);
    for (const w of this.waiters.splice(0)) w();
  }

  /** True when every named member owns some partitions, and theirs are disjoint and cover 0..n-1. */
  partitionsExactlyOnce(members: string[], n: number): boolean {
    if (!members.every((m) => (this.latest.get(m)?.length ?? 0) > 0)) return false;
    const all: number[] = [];
    for (const m of members) all.push(...(this.latest.get(m) ?? []));
    all.sort((a, b) => a - b);
    return all.length === n && all.every((p, i) => p === i);
  }

  async until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...this.latest])}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/**
 * kafkajs heartbeats only between fetches, so a member's fetch long poll (maxWaitTimeInMs, 5 s by
 * default) must be shorter than its session timeout, against Kafka as against franz.
 */
const MAX_WAIT_MS = 500;

/** Members started by a test, stopped by it (or, when it fails, by the suite's after hook). */
const live = new Set<Consumer>();
/** Child processes (kafkajs members, kcat), killed by the after hook if a test left them. */
const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function member(groupId: string, topic: string, seen: Assignments, name: string): Promise<Consumer> {
  const c = kafka.consumer({
    groupId,
    sessionTimeout: SESSION_MS,
    heartbeatInterval: 300,
    rebalanceTimeout: 10_000,
    maxWaitTimeInMs: MAX_WAIT_MS,
  });
  live.add(c);
  c.on(c.events.GROUP_JOIN, (e) => seen.set(name, e.payload.memberAssignment[topic] ?? []));
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async () => undefined });
  return c;
}

/** Creates a one-partition topic through a raw CreateTopics request (it must not exist yet). */
async function createTopic(c: RawConnection, name: string): Promise<void> {
  const res = await c.request(19, 5, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE, `creating ${name}`);
}

describe('kafkajs group membership', () => {
  test('rebalances on join, leave and crash; each partition has exactly one owner', async () => {
    const topic = 'grp-membership';
    await produce(topic, 12);
    const seen = new Assignments();
    const a = await member('g-members', topic, seen, 'a');
    await seen.until(() => seen.partitionsExactlyOnce(['a'], 6), 'a owns all six');
    const b = await member('g-members', topic, seen, 'b');
    const c = await member('g-members', topic, seen, 'c');
    await seen.until(() => seen.partitionsExactlyOnce(['a', 'b', 'c'], 6), 'three-way split');

    // Leave: b disconnects (LeaveGroup); a and c take over its partitions.
    await b.disconnect();
    seen.drop('b');
    await seen.until(() => seen.partitionsExactlyOnce(['a', 'c'], 6), 'two-way split after leave');

    // Crash: a member in another process is killed; its session expires and the others rebalance.
    const child = track(
      spawn(process.execPath, [join(here, '..', 'helpers', 'group-member.js'), broker.address, 'g-members', topic, String(SESSION_MS)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => seen.set('d', (JSON.parse(l) as { assignment: Record<string, number[]> }).assignment[topic] ?? []));
    await seen.until(() => seen.partitionsExactlyOnce(['a', 'c', 'd'], 6), 'three-way split with the child');
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await once(child, 'exit');
    seen.drop('d');
    await seen.until(() => seen.partitionsExactlyOnce(['a', 'c'], 6), 'two-way split after the crash');
    assert.ok(Date.now() - killedAt >= SESSION_MS - 500, 'the crashed member was only removed by its session timeout');

    await a.disconnect();
    await c.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const desc = await admin.describeGroups(['g-members']);
    await admin.disconnect();
    assert.equal(desc.groups[0]!.state, 'Empty');
  });
});

describe('committed offsets', () => {
  /** Consumes until `count` records arrived; returns their values. Commits on the way (autoCommit). */
  async function consume(groupId: string, topic: string, count: number): Promise<string[]> {
    const c = kafka.consumer({ groupId, sessionTimeout: SESSION_MS, heartbeatInterval: 300, maxWaitTimeInMs: MAX_WAIT_MS });
    live.add(c);
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      void c.run({
        autoCommitThreshold: 1,
        eachMessage: async ({ message }: EachMessagePayload) => {
          got.push(message.value!.toString());
          if (got.length === count) resolve();
        },
      });
    });
    await c.disconnect();
    return got;
  }

  test('consumption resumes from committed offsets after the consumers and the broker restart', async () => {
    const topic = 'grp-resume';
    await produce(topic, 30);
    const first = await consume('g-resume', topic, 30);
    assert.equal(new Set(first).size, 30);
    await produce(topic, 10, 30);
    const second = await consume('g-resume', topic, 10);
    assert.deepEqual(new Set(second), new Set(Array.from({ length: 10 }, (_, i) => `v${30 + i}`)));

    await broker.stop();
    broker = await startBroker({ dataDir: broker.dataDir, sets: brokerSets });
    kafka = new Kafka({ brokers: [broker.address], clientId: 'groups-test', logLevel: logLevel.NOTHING });
    await produce(topic, 5, 40);
    const third = await consume('g-resume', topic, 5);
    assert.deepEqual(new Set(third), new Set(['v40', 'v41', 'v42', 'v43', 'v44']));
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'g-resume', topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    for (const p of offsets[0]!.partitions) {
      assert.equal(p.offset, ends.find((e) => e.partition === p.partition)!.high, `partition ${p.partition} fully committed`);
    }
  });
  test("a deleted topic's committed offsets go with it: the same name made again is read from its start", async () => {
    const topic = 'grp-recreated';
    const other = 'grp-kept';
    await produce(topic, 30);
    await produce(other, 6);
    assert.equal((await consume('g-recreate', topic, 30)).length, 30);
    assert.equal((await consume('g-recreate', other, 6)).length, 6);
    const admin = kafka.admin();
    await admin.connect();
    const committedTopics = async (): Promise<string[]> => {
      const client = new Client({ brokers: [broker.address] });
      try {
        return [...new Set((await client.offsetFetch('g-recreate')).map((o) => o.topic))].sort();
      } finally {
        await client.close();
      }
    };
    try {
      assert.deepEqual(await committedTopics(), [other, topic]);
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
    // The offsets are removed just after DeleteTopics answers; no event reaches a client, so wait boundedly.
    const deletedAt = Date.now();
    while ((await committedTopics()).includes(topic)) {
      assert.ok(Date.now() - deletedAt < 10_000, 'the deleted topic still has committed offsets');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await committedTopics(), [other], "the other topic's offsets stay");

    // The removal is persisted (tombstones in __consumer_offsets), and the new topic is read whole.
    await broker.stop();
    broker = await startBroker({ dataDir: broker.dataDir, sets: brokerSets });
    kafka = new Kafka({ brokers: [broker.address], clientId: 'groups-test', logLevel: logLevel.NOTHING });
    assert.deepEqual(await committedTopics(), [other]);
    await produce(topic, 20, 100);
    const again = await consume('g-recreate', topic, 20);
    assert.deepEqual(new Set(again), new Set(Array.from({ length: 20 }, (_, i) => `v${100 + i}`)));
  });
});

describe('librdkafka groups (kcat -G)', () => {
  test('a balanced consumer reads everything and commits', async () => {
    const topic = 'grp-kcat';
    await produce(topic, 24);
    const r = await run('kcat', [
      '-b',
      broker.address,
      '-G',
      'g-kcat',
      topic,
      '-o',
      'beginning',
      '-e',
      '-f',
      '%s\n',
      '-X',
      'enable.auto.commit=true',
      '-X',
      'auto.commit.interval.ms=100',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 24);
    assert.match(r.stderr, /rebalanced .*assigned: /);
    // Committing is asynchronous in librdkafka, but it commits on close: a second run reads nothing.
    const again = await run('kcat', ['-b', broker.address, '-G', 'g-kcat', topic, '-e', '-f', '%s\n']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), '');
  });

  test('a static member that restarts within its session timeout gets its partitions back without a rebalance', async () => {
    const topic = 'grp-static';
    await produce(topic, 6);
    interface Kcat {
      child: ChildProcess;
      events: string[];
      /** Resolves once `pred` holds for this member's rebalance lines. */
      until(pred: (events: string[]) => boolean): Promise<void>;
    }
    const start = (instance: string): Kcat => {
      const child = track(
        spawn(
          'kcat',
          [
            '-b',
            broker.address,
            '-G',
            'g-static',
            topic,
            '-X',
            `group.instance.id=${instance}`,
            '-X',
            'session.timeout.ms=20000',
            '-f',
            '%s\n',
          ],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        ),
      );
      const events: string[] = [];
      const waiters: Array<() => void> = [];
      createInterface({ input: child.stderr! }).on('line', (l) => {
        if (/rebalanced/.test(l)) events.push(l);
        for (const w of waiters.splice(0)) w();
      });
      const until = async (pred: (e: string[]) => boolean): Promise<void> => {
        while (!pred(events)) await new Promise<void>((resolve) => waiters.push(resolve));
      };
      return { child, events, until };
    };
    const assignedCount = (e: string[]): number => e.filter((x) => /assigned: /.test(x)).length;
    const partitionsOf = (line: string): string => line.slice(line.indexOf('assigned: '));
    const a = start('static-a');
    await a.until((e) => assignedCount(e) >= 1);
    const b = start('static-b');
    // b's arrival makes a give up its partitions and get its share back.
    await b.until((e) => assignedCount(e) >= 1);
    await a.until((e) => assignedCount(e) >= 2);
    const aShare = partitionsOf(a.events.filter((x) => /assigned: /.test(x)).pop()!);
    const bEventsBefore = b.events.length;
    a.child.kill('SIGKILL');
    await once(a.child, 'exit');
    const a2 = start('static-a');
    await a2.until((e) => assignedCount(e) >= 1);
    assert.equal(partitionsOf(a2.events.find((x) => /assigned: /.test(x))!), aShare, 'same partitions as before');
    assert.equal(b.events.length, bEventsBefore, 'b saw no rebalance');
    b.child.kill('SIGTERM');
    a2.child.kill('SIGTERM');
    await Promise.all([once(b.child, 'exit'), once(a2.child, 'exit')]);
  });
});

describe('librdkafka consumer protocol (confluent-kafka, group.protocol=consumer) and franz group', () => {
  const PY = join(here, '..', '..', '..', 'test', 'python', 'group_member.py');
  const franz = join(here, '..', '..', 'src', 'cli', 'bin.cjs');
  const cli = async (...args: string[]) => {
    const r = await run(process.execPath, [franz, 'group', ...args, '--brokers', broker.address]);
    return {
      ...r,
      json: () =>
        r.stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  };

  test('two KIP-848 members split the partitions; describe, reset-offsets and delete see the group', async () => {
    const topic = 'grp-kip848';
    const groupId = 'g-kip848';
    const start = (): MemberProcess => startMemberProcess('python3', [PY, broker.address, topic, groupId, 'consumer', '-1']);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    await admin.disconnect();
    const m1 = start();
    await m1.until(() => m1.owned.length === 6, 'the first member owns every partition');
    const m2 = start();
    await m1.until(() => splitBetween(m1, m2, 6), 'a two-way split');
    const n = 40;
    // Produced once the split is settled, so no rebalance can deliver a record twice.
    await produce(topic, n);
    await m1.until(() => m1.records.length + m2.records.length >= n, `${n} records`);
    const all = [...m1.records, ...m2.records];
    assert.equal(all.length, n, 'each record delivered once');
    assert.equal(new Set(all.map((r) => `${r.partition}/${r.offset}`)).size, n);

    // describe while both are members: a consumer group, its members own what they say.
    const live = (await cli('describe', groupId, '--format', 'json')).json()[0]!;
    assert.equal(live.type, 'consumer');
    assert.equal(live.state, 'Stable');
    const owned = (live.members as Array<{ assignment: Array<{ partitions: number[] }> }>)
      .map((m) => m.assignment.flatMap((a) => a.partitions).join())
      .sort();
    assert.deepEqual(owned, [m1.owned.join(), m2.owned.join()].sort());
    const refused = await cli('reset-offsets', groupId, '--topic', topic, '--to-earliest', '--execute');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no active members/);

    await Promise.all([m1.stop(), m2.stop()]);
    const after = (await cli('describe', groupId, '--format', 'json')).json()[0]!;
    assert.equal(after.state, 'Empty');
    const rows = after.partitions as Array<{ partition: number; committed: number; logEnd: number; lag: number }>;
    assert.equal(rows.length, 6);
    for (const r of rows) assert.deepEqual([r.committed, r.lag], [r.logEnd, 0], `partition ${r.partition}`);
    const listed = (await cli('list', '--format', 'json')).json().find((g) => g.groupId === groupId);
    assert.deepEqual(listed, { groupId, protocolType: 'consumer', state: 'Empty', type: 'consumer' });

    // A dry run changes nothing; --execute moves every offset back; a new member reads all again.
    const dry = (await cli('reset-offsets', groupId, '--topic', topic, '--to-earliest', '--format', 'json')).json();
    assert.equal(dry.length, 6);
    assert.ok(dry.every((d) => d.target === 0 && d.executed === false));
    assert.equal((await cli('describe', groupId, '--format', 'json')).json()[0]!.totalLag, 0);
    const done = await cli('reset-offsets', groupId, '--topic', `${topic}:0,1,2,3,4,5`, '--shift-by', '-1000', '--execute');
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await cli('describe', groupId, '--format', 'json')).json()[0]!.totalLag, n);
    const m3 = startMemberProcess('python3', [PY, broker.address, topic, groupId, 'consumer', String(n)]);
    await m3.until(() => m3.records.length === n, 'everything again');
    await m3.stop();

    const deleted = await cli('delete', groupId);
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await cli('describe', groupId);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /does not exist/);
  });

  test('bad KIP-848 requests get Kafka errors', async () => {
    const HB = 68;
    const c = await RawConnection.open(broker.port);
    // Commits name an existing topic: Kafka answers UNKNOWN_TOPIC_OR_PARTITION for any other.
    await createTopic(c, 't848');
    const hb = (body: Record<string, unknown>) =>
      c.request(HB, 1, {
        groupId: 'g-bad848',
        memberId: 'm-1',
        memberEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: ['t848'],
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: [],
        ...body,
      });
    const joined = await hb({});
    assert.equal(joined.errorCode, ErrorCode.NONE);
    const epoch = joined.memberEpoch as number;
    assert.ok(epoch > 0);
    assert.equal((await hb({ memberEpoch: epoch + 7, topicPartitions: null })).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal((await hb({ memberId: 'm-stranger', memberEpoch: 3, topicPartitions: null })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await hb({ memberId: '' })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await hb({ memberId: 'm-2', rebalanceTimeoutMs: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await hb({ memberId: 'm-2', memberEpoch: -3 })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await hb({ memberId: 'm-2', serverAssignor: 'nope' })).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
    assert.equal(
      (await hb({ memberId: 'm-2', subscribedTopicNames: null, subscribedTopicRegex: '(' })).errorCode,
      ErrorCode.INVALID_REGULAR_EXPRESSION,
    );
    // A classic JoinGroup cannot take over a consumer group that has members.
    const join = await c.request(11, 7, {
      groupId: 'g-bad848',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
      reason: null,
    });
    assert.equal(join.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // Commits: the member's epoch at v9; older versions cannot address a consumer group.
    const commit = (version: number, memberEpoch: number) =>
      c.request(8, version, {
        groupId: 'g-bad848',
        generationIdOrMemberEpoch: memberEpoch,
        memberId: 'm-1',
        groupInstanceId: null,
        topics: [
          { name: 't848', partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: null }] },
        ],
      });
    assert.equal((await commit(9, epoch + 1)).topics[0].partitions[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal((await commit(8, epoch)).topics[0].partitions[0].errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.equal((await commit(9, epoch)).topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const left = await hb({ memberEpoch: -1, topicPartitions: null });
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.equal(left.memberEpoch, -1);
    c.close();
  });
});

describe('offset expiry (offsets.retention.minutes)', () => {
  test('offsets of an empty group expire and stay gone after a restart; a group with members keeps its offsets', async () => {
    // 1.8 s (offsets.retention.minutes is a whole number of minutes, as in Kafka), checked every 100 ms.
    const sets = [...brokerSets, 'franz.offsets.retention.ms=1800', 'offsets.retention.check.interval.ms=100'];
    let b = await startBroker({ sets });
    const client = new Client({ brokers: [b.address] });
    try {
      const topic = 'grp-expiry';
      const k = new Kafka({ brokers: [b.address], logLevel: logLevel.NOTHING });
      const admin = k.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      await admin.disconnect();
      // An active member keeps committing nothing new but stays in its group.
      const active = k.consumer({ groupId: 'g-active', sessionTimeout: SESSION_MS, heartbeatInterval: 300, maxWaitTimeInMs: MAX_WAIT_MS });
      live.add(active);
      await active.connect();
      await active.subscribe({ topic, fromBeginning: true });
      const joined = new Promise<void>((resolve) => active.on(active.events.GROUP_JOIN, () => resolve()));
      await active.run({ eachMessage: async () => undefined });
      await joined;
      await client.offsetCommit('g-idle', [
        { topic, partition: 0, offset: 0 },
        { topic, partition: 1, offset: 0 },
      ]);
      const committedAt = Date.now();
      const activeGroup = (await client.describeGroups(['g-active']))[0]!;
      await client.offsetCommit('g-active', [{ topic, partition: 0, offset: 0 }], { generationId: -1, memberId: '' }).then(
        () => assert.fail('a commit from outside a group with members is refused'),
        (e: Error) => assert.match(e.message, /UNKNOWN_MEMBER_ID/),
      );
      assert.equal(activeGroup.members.length, 1);
      assert.equal((await client.offsetFetch('g-idle')).length, 2);

      // Bounded wait for the broker's expiry timer (no event reaches a client).
      while ((await client.offsetFetch('g-idle')).length > 0) {
        assert.ok(Date.now() - committedAt < 15_000, 'offsets of the idle group did not expire');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(Date.now() - committedAt >= 1800 - 100, 'expired no earlier than the retention');
      assert.equal((await client.describeGroups(['g-idle']))[0]!.state, 'Dead');
      assert.equal((await client.describeGroups(['g-active']))[0]!.state, 'Stable', 'the active group is untouched');

      await active.disconnect();
      live.delete(active);
      await client.close();
      await b.stop();
      b = await startBroker({ dataDir: b.dataDir, sets });
      const again = new Client({ brokers: [b.address] });
      try {
        assert.deepEqual(await again.offsetFetch('g-idle'), [], 'the expiry was persisted (tombstones)');
      } finally {
        await again.close();
      }
    } finally {
      await client.close();
      await b.stop();
      removeDir(b.dataDir);
    }
  });
});

/** Resolves once `b` has logged more than `seen` cleans of __consumer_offsets (the log cleaner's events). */
function offsetsCleaned(b: RunningBroker, seen: number, timeoutMs = 30_000): Promise<number> {
  const count = (): number => (b.stderr().match(/"msg":"cleaned log","topic":"__consumer_offsets"/g) ?? []).length;
  return new Promise((resolve, reject) => {
    const stderr = b.process.stderr!;
    const timer = setTimeout(() => {
      stderr.off('data', check);
      reject(new Error(`no clean of __consumer_offsets within ${timeoutMs} ms`));
    }, timeoutMs);
    function check(): void {
      const n = count();
      if (n <= seen) return;
      clearTimeout(timer);
      stderr.off('data', check);
      resolve(n);
    }
    stderr.on('data', check);
    check();
  });
}

describe('__consumer_offsets compaction (the log cleaner)', () => {
  // The cleaner looks every 100 ms here (15 s by default).
  const cleanerSets = ['log.cleaner.backoff.ms=100'];

  test('kill -9 while commits stream in (and compaction runs): every acknowledged commit survives', async () => {
    const sets = [...brokerSets, ...cleanerSets, 'offsets.topic.num.partitions=1', 'offsets.topic.segment.bytes=8192'];
    let b = await startBroker({ sets });
    const topic = 'grp-crash-commits';
    const admin = new Kafka({ brokers: [b.address], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await admin.disconnect();
    const client = new Client({ brokers: [b.address], retries: 0 });
    // Acknowledged offset per partition; commits run until the kill makes one fail.
    const acked = [-1, -1, -1];
    let stop = false;
    const committing = (async () => {
      for (let i = 1; !stop; i++) {
        const p = i % 3;
        try {
          await client.offsetCommit('g-crash', [{ topic, partition: p, offset: i, metadata: 'm'.repeat(60) }]);
          acked[p] = i;
        } catch {
          return;
        }
      }
    })();
    // Kill once the cleaner has compacted the offsets twice, so the crash can land inside a clean.
    await offsetsCleaned(b, 1);
    await b.kill9();
    stop = true;
    await committing;
    await client.close().catch(() => undefined);

    b = await startBroker({ dataDir: b.dataDir, sets });
    const again = new Client({ brokers: [b.address] });
    try {
      const got = await again.offsetFetch('g-crash');
      for (const p of [0, 1, 2]) {
        const o = got.find((x) => x.partition === p);
        assert.ok(o !== undefined, `partition ${p}: a committed offset`);
        // The acknowledged commit or one after it (sent, durable, but not yet answered at the kill).
        assert.ok(o.offset >= acked[p]! && o.offset % 3 === p, `partition ${p}: ${o.offset} after acknowledging ${acked[p]}`);
      }
    } finally {
      await again.close();
      await b.stop();
      removeDir(b.dataDir);
    }
  });

  test('many commits of the same offsets keep the offsets topic small; the latest offsets and deletions survive a restart', async () => {
    const sets = [...brokerSets, ...cleanerSets, 'offsets.topic.num.partitions=1', 'offsets.topic.segment.bytes=8192'];
    let b = await startBroker({ sets });
    let client = new Client({ brokers: [b.address] });
    const dir = join(b.dataDir, '__consumer_offsets-0');
    const logBytes = () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    try {
      const admin = new Kafka({ brokers: [b.address], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'grp-compact', numPartitions: 3 }] });
      await admin.disconnect();
      for (let i = 1; i <= 600; i++) {
        await client.offsetCommit(
          'g-compact',
          [0, 1, 2].map((partition) => ({ topic: 'grp-compact', partition, offset: i * 10 + partition, metadata: 'x'.repeat(40) })),
        );
      }
      await client.offsetCommit('g-doomed', [{ topic: 'grp-compact', partition: 0, offset: 5 }]);
      const [deleted] = await client.deleteGroups(['g-doomed']);
      assert.equal(deleted!.errorCode, ErrorCode.NONE);
      // 600 commits of ~150 bytes each were written; the cleaner brings the log near its live set.
      let seen = 0;
      while (logBytes() >= 4 * 8192) seen = await offsetsCleaned(b, seen);
      assert.ok(logBytes() < 4 * 8192, `__consumer_offsets-0 holds ${logBytes()} bytes after compaction`);
      await client.close();
      await b.stop();

      b = await startBroker({ dataDir: b.dataDir, sets });
      client = new Client({ brokers: [b.address] });
      const offsets = await client.offsetFetch('g-compact');
      assert.deepEqual(
        offsets.map((o) => [o.partition, o.offset]),
        [
          [0, 6000],
          [1, 6001],
          [2, 6002],
        ],
      );
      assert.deepEqual(await client.offsetFetch('g-doomed'), [], 'a deleted group stays deleted');
    } finally {
      await client.close();
      await b.stop();
      removeDir(b.dataDir);
    }
  });

  test('with the default 100 MiB segments the offsets topic still rolls past 4 MiB and is compacted', async () => {
    // Every commit is a small batch and every batch a row of its segment's in-memory table: the
    // store must not wait for a 100 MiB segment (hundreds of thousands of rows) to be cleanable.
    const sets = [...brokerSets, ...cleanerSets, 'offsets.topic.num.partitions=1'];
    const b = await startBroker({ sets });
    const client = new Client({ brokers: [b.address] });
    const dir = join(b.dataDir, '__consumer_offsets-0');
    const logFiles = () => readdirSync(dir).filter((f) => f.endsWith('.log'));
    const logBytes = () => logFiles().reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    try {
      const admin = new Kafka({ brokers: [b.address], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'grp-early', numPartitions: 1 }] });
      await admin.disconnect();
      // 1,200 commits of ~4 KB (offset.metadata.max.bytes is 4096): about 4.7 MiB written.
      for (let i = 1; i <= 1200; i++) {
        await client.offsetCommit('g-early', [{ topic: 'grp-early', partition: 0, offset: i, metadata: 'm'.repeat(4000) }]);
      }
      assert.ok(logFiles().length >= 2, `the 4 MiB segment was rolled: ${logFiles()}`);
      await offsetsCleaned(b, 0);
      assert.ok(logBytes() < 4 << 20, `__consumer_offsets-0 holds ${logBytes()} bytes`);
      // The rolled segment keeps only its last commit of the one key.
      assert.ok(statSync(join(dir, '00000000000000000000.log')).size < 8192, 'the rolled segment was compacted');
      const [o] = await client.offsetFetch('g-early');
      assert.equal(o?.offset, 1200);
    } finally {
      await client.close();
      await b.stop();
      removeDir(b.dataDir);
    }
  });
});

describe('bad group requests', () => {
  const JOIN = 11;
  const SYNC = 14;
  const HEARTBEAT = 12;
  const COMMIT = 8;

  function joinBody(memberId: string, metadata = Buffer.from([0, 0, 0, 0, 0, 0])) {
    return {
      groupId: 'g-bad',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata }],
      reason: null,
    };
  }

  test('stale generations, unknown members, non-members and huge metadata get Kafka errors', async () => {
    const c = await RawConnection.open(broker.port);
    await createTopic(c, 't');
    const first = await c.request(JOIN, 7, joinBody(''));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const joined = await c.request(JOIN, 7, joinBody(first.memberId));
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal(joined.leader, first.memberId);
    const gen = joined.generationId as number;
    const sync = await c.request(SYNC, 5, {
      groupId: 'g-bad',
      generationId: gen,
      memberId: first.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: first.memberId, assignment: Buffer.from('x') }],
    });
    assert.equal(sync.errorCode, ErrorCode.NONE);
    assert.equal(sync.assignment.toString(), 'x');

    const commit = (generation: number, memberId: string) =>
      c.request(COMMIT, 8, {
        groupId: 'g-bad',
        generationIdOrMemberEpoch: generation,
        memberId,
        groupInstanceId: null,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    assert.equal((await commit(gen - 1, first.memberId)).topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await commit(gen, 'nobody')).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(
      (await commit(-1, '')).topics[0].partitions[0].errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
      'simple commit to a group with members',
    );
    assert.equal((await commit(gen, first.memberId)).topics[0].partitions[0].errorCode, ErrorCode.NONE);

    const stranger = await c.request(SYNC, 5, {
      groupId: 'g-bad',
      generationId: gen,
      memberId: 'stranger',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    });
    assert.equal(stranger.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const hb = await c.request(HEARTBEAT, 4, { groupId: 'g-bad', generationId: gen + 5, memberId: first.memberId, groupInstanceId: null });
    assert.equal(hb.errorCode, ErrorCode.ILLEGAL_GENERATION);
    const badSession = await c.request(JOIN, 7, { ...joinBody(''), sessionTimeoutMs: 10 });
    assert.equal(badSession.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    const noGroup = await c.request(JOIN, 7, { ...joinBody(''), groupId: '' });
    assert.equal(noGroup.errorCode, ErrorCode.INVALID_GROUP_ID);
    const otherType = await c.request(JOIN, 7, { ...joinBody(first.memberId), protocolType: 'connect' });
    assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    // Member metadata larger than the offsets topic accepts: the group cannot be stored, so the
    // leader's SyncGroup fails (UNKNOWN_SERVER_ERROR, as Kafka answers), and nothing crashes.
    const huge = Buffer.alloc(2 * 1024 * 1024, 1);
    const big1 = await c.request(JOIN, 7, { ...joinBody(''), groupId: 'g-huge' });
    const big = await c.request(JOIN, 7, { ...joinBody(big1.memberId, huge), groupId: 'g-huge' });
    assert.equal(big.errorCode, ErrorCode.NONE);
    const bigSync = await c.request(SYNC, 5, {
      groupId: 'g-huge',
      generationId: big.generationId,
      memberId: big1.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: big1.memberId, assignment: Buffer.from('y') }],
    });
    assert.equal(bigSync.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
    const alive = await c.request(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.equal(alive.errorCode, 0);
    c.close();
  });
});
