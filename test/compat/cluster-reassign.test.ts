/**
 * Moving partitions onto a fourth broker under load (AlterPartitionReassignments and
 * ListPartitionReassignments through the Java AdminClient). A real etcd and three franz brokers
 * with a replication-factor-3 topic; kafkajs produces with acks=all the whole time. A fourth broker
 * joins and is frozen (SIGSTOP) so that the moves stay in progress while the test looks: the Java
 * client lists them, and the Java AdminClient (describeCluster, describeTopics) and kcat -L show
 * the replicas and ISR as they are at each step. One move is cancelled; the other completes once
 * the fourth broker resumes and catches up, its leader handing over, and the broker that left
 * drops its copy. Every acknowledged record is read back once, in order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { FRANZ_MAIN, startBroker, type RunningBroker } from '../helpers/broker.js';
import { execFileSync } from 'node:child_process';
import { startEtcd, type RunningEtcd } from '../helpers/etcd.js';
import { jsonLines, runOk } from '../helpers/run.js';
import { topicMetadata, until, type PartitionView } from '../helpers/cluster.js';

const here = dirname(fileURLToPath(import.meta.url));
const JAVA_DIR = join(here, '..', '..', '..', 'test', 'java');
const LIB = join(JAVA_DIR, 'lib');
const JAVA = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${LIB}/*`, join(JAVA_DIR, 'FranzCheck.java')];
const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f));
const skip = !haveJars && process.env.FRANZ_REQUIRE_JAVA !== '1' ? 'no jars in test/java/lib (see test/compat/java.test.ts)' : false;

/** Long enough that the frozen fourth broker stays registered while the test looks at the moves. */
const SESSION_MS = 20_000;
const TOPIC = 'moving';

interface View {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

describe('reassigning partitions onto a fourth broker under load', { skip }, () => {
  let etcd: RunningEtcd;
  const brokers = new Map<number, RunningBroker>();

  const startNode = async (id: number): Promise<RunningBroker> => {
    const b = await startBroker({
      sets: [
        `franz.cluster=${etcd.url}/reassign`,
        `node.id=${id}`,
        `broker.session.timeout.ms=${SESSION_MS}`,
        'offsets.topic.num.partitions=1',
        'offsets.topic.replication.factor=3',
      ],
    });
    brokers.set(id, b);
    return b;
  };

  before(async () => {
    etcd = await startEtcd();
    for (const id of [1, 2, 3]) await startNode(id);
  });

  after(async () => {
    for (const b of brokers.values()) {
      b.process.kill('SIGCONT');
      await b.stop();
    }
    await etcd.stop();
  });

  const bootstrap = (): string => brokers.get(1)!.address;

  async function java<T>(mode: string, ...args: string[]): Promise<T[]> {
    return jsonLines<T>((await runOk('java', [...JAVA, mode, bootstrap(), ...args], { timeoutMs: 60_000 })).stdout);
  }

  /** What the Java AdminClient sees: the live brokers and each partition's leader, replicas and ISR. */
  async function javaDescribe(): Promise<{ brokers: number[]; partitions: View[] }> {
    const lines = await java<{ brokers?: number[]; partition?: number; leader?: number; replicas?: number[]; isr?: number[] }>(
      'describe',
      TOPIC,
    );
    return {
      brokers: lines.find((l) => l.brokers !== undefined)!.brokers!,
      partitions: lines
        .filter((l) => l.partition !== undefined)
        .map((l) => ({ partition: l.partition!, leader: l.leader!, replicas: l.replicas!, isr: l.isr! }))
        .sort((a, b) => a.partition - b.partition),
    };
  }

  /** What kcat (librdkafka) sees. */
  async function kcatDescribe(): Promise<View[]> {
    const md = JSON.parse((await runOk('kcat', ['-b', bootstrap(), '-L', '-J', '-t', TOPIC], { timeoutMs: 20_000 })).stdout) as {
      topics: Array<{
        partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }>;
      }>;
    };
    return md.topics[0]!.partitions.map((p) => ({
      partition: p.partition,
      leader: p.leader,
      replicas: p.replicas.map((r) => r.id),
      isr: p.isrs.map((r) => r.id),
    })).sort((a, b) => a.partition - b.partition);
  }

  /** Metadata v12 from broker 1 until `ok` holds. */
  async function waitForMetadata(what: string, ok: (ps: View[], brokerIds: number[]) => boolean): Promise<View[]> {
    const md = await until(
      what,
      () => topicMetadata(brokers.get(1)!.port, TOPIC),
      (m) => m.partitions.length === 2 && ok(m.partitions.map(view), m.brokerIds),
    );
    return md.partitions.map(view);
  }
  const view = (p: PartitionView): View => ({ partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes });

  test('a move completes after the new replica catches up, a cancelled one goes back, and nothing acknowledged is lost', async (t) => {
    const kafka = new Kafka({ brokers: [bootstrap()], clientId: 'reassign', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
    });
    await admin.disconnect();
    const initial = await waitForMetadata('in sync', (ps) => ps.every((p) => p.isr.length === 3));

    // Load for the whole test: acks=all, one partition after the other.
    const acked = new Map<number, string[]>([
      [0, []],
      [1, []],
    ]);
    let producing = true;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const load = (async () => {
      for (let n = 0; producing; n++) {
        const partition = n % 2;
        const messages = Array.from({ length: 20 }, (_, i) => ({ partition, value: `r-${n}-${i}` }));
        await producer.send({ topic: TOPIC, acks: -1, messages });
        acked.get(partition)!.push(...messages.map((m) => m.value));
      }
    })();
    // Stops the load however the test ends; a failed send fails the test when awaited below.
    t.after(async () => {
      producing = false;
      await load.catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    });

    const b4 = await startNode(4);
    await waitForMetadata('four brokers', (_ps, ids) => ids.length === 4);
    assert.deepEqual((await javaDescribe()).brokers, [1, 2, 3, 4]);
    // Frozen, broker 4 stays registered (its lease outlives this part) but copies nothing.
    b4.process.kill('SIGSTOP');
    const leaving0 = initial[0]!.leader;
    const target0 = [4, ...initial[0]!.replicas.filter((r) => r !== leaving0)];
    const target1 = [...initial[1]!.replicas.slice(0, 2), 4];
    const started = await java<{
      reassign?: number;
      outcome?: string;
      ongoing?: number;
      replicas?: number[];
      adding?: number[];
      removing?: number[];
    }>('reassign', TOPIC, `0=${target0.join(',')}`, `1=${target1.join(',')}`);
    t.diagnostic(JSON.stringify(started));
    assert.deepEqual(
      started
        .filter((l) => l.reassign !== undefined)
        .map((l) => [l.reassign, l.outcome])
        .sort(),
      [
        [0, 'ok'],
        [1, 'ok'],
      ],
    );
    const ongoing = started.filter((l) => l.ongoing !== undefined).sort((a, b) => a.ongoing! - b.ongoing!);
    assert.deepEqual(
      ongoing.map((l) => [l.ongoing, l.replicas, l.adding, l.removing]),
      [
        [0, [...target0, leaving0], [4], [leaving0]],
        [1, [...target1, initial[1]!.replicas[2]!], [4], [initial[1]!.replicas[2]]],
      ],
    );
    // `franz cluster status` lists the moves in progress.
    const status = JSON.parse(
      execFileSync(process.execPath, [FRANZ_MAIN, 'cluster', 'status', '--brokers', bootstrap(), '--format', 'json'], { encoding: 'utf8' }),
    ) as { reassignments: Array<{ topic: string; partition: number; adding: number[] }> };
    assert.deepEqual(status.reassignments.map((m) => [m.topic, m.partition, m.adding]).sort(), [
      [TOPIC, 0, [4]],
      [TOPIC, 1, [4]],
    ]);
    // Both clients show every replica of the move, with the new one not yet in sync.
    for (const view of [(await javaDescribe()).partitions, await kcatDescribe()]) {
      assert.deepEqual(view[0]!.replicas, [...target0, leaving0]);
      assert.equal(view[0]!.leader, leaving0, 'the leader stays while the new replica copies');
      assert.ok(!view[0]!.isr.includes(4));
    }

    // Cancelled: partition 1 goes back to where it was; a second cancel has nothing to cancel.
    const cancelled = await java<{ reassign?: number; outcome?: string; ongoing?: number }>('reassign', TOPIC, '1=cancel');
    assert.deepEqual(cancelled.find((l) => l.reassign === 1)?.outcome, 'ok');
    assert.deepEqual(
      cancelled.filter((l) => l.ongoing !== undefined).map((l) => l.ongoing),
      [0],
    );
    const again = await java<{ reassign?: number; outcome?: string }>('reassign', TOPIC, '1=cancel');
    assert.equal(again.find((l) => l.reassign === 1)?.outcome, 'NoReassignmentInProgressException');
    assert.deepEqual((await kcatDescribe())[1]!.replicas, initial[1]!.replicas);

    // Broker 4 resumes, catches up, joins the ISR; the move completes and the old leader hands over.
    b4.process.kill('SIGCONT');
    const done = await waitForMetadata(
      'moved',
      (ps) => ps[0]!.replicas.length === 3 && ps[0]!.replicas.includes(4) && ps[0]!.isr.includes(4),
    );
    assert.deepEqual(done[0]!.replicas, target0);
    assert.ok(target0.includes(done[0]!.leader) && done[0]!.leader !== leaving0, `leader ${done[0]!.leader}`);
    for (const view of [(await javaDescribe()).partitions, await kcatDescribe()]) {
      assert.deepEqual(view[0]!.replicas, target0);
      assert.deepEqual([...view[0]!.isr].sort(), [...target0].sort());
      assert.deepEqual(view[1]!.replicas, initial[1]!.replicas);
    }
    assert.deepEqual(
      (await java<{ ongoing?: number }>('reassign', TOPIC)).filter((l) => l.ongoing !== undefined),
      [],
      'no move in progress',
    );
    // The broker that left drops its copy.
    const leftDir = join(brokers.get(leaving0)!.dataDir, `${TOPIC}-0`);
    for (const deadline = Date.now() + 10_000; existsSync(leftDir) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!existsSync(leftDir), `${leftDir} is still there`);

    producing = false;
    await load;
    t.diagnostic(`acknowledged ${acked.get(0)!.length} + ${acked.get(1)!.length} records`);
    assert.ok(acked.get(0)!.length > 0 && acked.get(1)!.length > 0);

    // Every acknowledged record, once and in order, from the partitions' current leaders.
    const seen = new Map<number, string[]>([
      [0, []],
      [1, []],
    ]);
    const total = acked.get(0)!.length + acked.get(1)!.length;
    let count = 0;
    const consumer = kafka.consumer({ groupId: 'reassign-check' });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.get(partition)!.push(message.value!.toString());
          if (++count === total) resolve();
        },
      });
    });
    await consumer.disconnect();
    for (const p of [0, 1]) assert.deepEqual(seen.get(p), acked.get(p), `partition ${p}`);
  });
});
