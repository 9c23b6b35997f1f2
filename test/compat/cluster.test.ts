/**
 * A cluster on loopback: a real etcd and three real franz brokers joined to it. What this step of
 * the cluster work provides: membership and the controller through etcd, topics placed over the
 * brokers (leaders spread, replicas distinct), Metadata/DescribeCluster listing every broker,
 * produce and consume through the partition leaders with a consumer group, non-leaders refusing
 * with NOT_LEADER_OR_FOLLOWER, and a dead leader's partitions losing their leader (no in-sync
 * replica can take over: followers do not copy yet) until it comes back and leads again at a
 * higher epoch with its records.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../helpers/broker.js';
import { startEtcd, type RunningEtcd } from '../helpers/etcd.js';
import { makeBatch } from '../helpers/batches.js';
import { RawConnection } from '../helpers/raw.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';

const SESSION_MS = 2000;

describe('a three-broker cluster on etcd', () => {
  let etcd: RunningEtcd;
  const brokers = new Map<number, RunningBroker>();
  const dataDirs = new Map<number, string>();
  let url = '';

  async function startNode(id: number): Promise<RunningBroker> {
    const b = await startBroker({
      dataDir: dataDirs.get(id),
      sets: [`franz.cluster=${url}`, `node.id=${id}`, `broker.session.timeout.ms=${SESSION_MS}`, 'offsets.topic.num.partitions=3'],
    });
    dataDirs.set(id, b.dataDir);
    brokers.set(id, b);
    return b;
  }

  const kafka = (): Kafka =>
    new Kafka({ brokers: [...brokers.values()].map((b) => b.address), clientId: 'cluster-test', logLevel: logLevel.NOTHING });

  before(async () => {
    etcd = await startEtcd();
    url = `${etcd.url}/test`;
    // One at a time, so that the offsets topic (made by the first broker to need it) is not the point here.
    for (const id of [1, 2, 3]) await startNode(id);
  });

  after(async () => {
    for (const b of brokers.values()) await b.stop();
    await etcd.stop();
  });

  test('DescribeCluster and Metadata list the three brokers and one controller among them', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      // Every broker answers the same: its image comes from the same etcd revisions.
      for (const b of brokers.values()) {
        const single = new Kafka({ brokers: [b.address], logLevel: logLevel.NOTHING }).admin();
        await single.connect();
        const d = await single.describeCluster();
        await single.disconnect();
        assert.deepEqual(d.brokers.map((x) => x.nodeId).sort(), [1, 2, 3], `broker at ${b.address}`);
        assert.ok([1, 2, 3].includes(d.controller!), `controller ${d.controller}`);
        assert.equal(d.brokers.find((x) => x.nodeId === 2)?.port, brokers.get(2)!.port);
      }
    } finally {
      await admin.disconnect();
    }
  });

  test('a topic with replication factor 3 has its leaders spread and its replicas on distinct brokers; 4 is refused', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 6, replicationFactor: 3 }] }), true);
      const md = await admin.fetchTopicMetadata({ topics: ['spread'] });
      const parts = md.topics[0]!.partitions;
      assert.equal(parts.length, 6);
      const led = new Map<number, number>();
      for (const p of parts) {
        assert.equal(new Set(p.replicas).size, 3, `partition ${p.partitionId} replicas ${p.replicas}`);
        assert.equal(p.leader, p.replicas[0]);
        led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
      }
      assert.deepEqual([...led.values()], [2, 2, 2], `leaders per broker: ${JSON.stringify([...led])}`);
      await assert.rejects(
        admin.createTopics({ topics: [{ topic: 'too-many', numPartitions: 1, replicationFactor: 4 }] }),
        (e: any) => e.errors?.[0]?.type === 'INVALID_REPLICATION_FACTOR',
      );
    } finally {
      await admin.disconnect();
    }
  });

  test('records produced through the leaders come back through a consumer group', async () => {
    const k = kafka();
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'flow', numPartitions: 6, replicationFactor: 2 }] });
    await admin.disconnect();
    const producer = k.producer();
    await producer.connect();
    const sent = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const messages = Array.from({ length: 60 }, (_, j) => ({ key: `k${j}`, value: `v${i}-${j}` }));
      for (const m of messages) sent.add(m.value);
      await producer.send({ topic: 'flow', acks: -1, messages });
    }
    await producer.disconnect();
    const consumer = k.consumer({ groupId: 'flow-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'flow', fromBeginning: true });
    const seen = new Set<string>();
    const partitions = new Set<number>();
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.add(message.value!.toString());
          partitions.add(partition);
          if (seen.size === sent.size) resolve();
        },
      });
    });
    await consumer.disconnect();
    assert.deepEqual([...seen].sort(), [...sent].sort());
    assert.equal(partitions.size, 6);
  });

  test('a produce sent to a broker that does not lead the partition gets NOT_LEADER_OR_FOLLOWER', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'led', numPartitions: 1, replicationFactor: 3 }] });
    const leader = (await admin.fetchTopicMetadata({ topics: ['led'] })).topics[0]!.partitions[0]!.leader;
    await admin.disconnect();
    const body = (acks: number) => ({
      transactionalId: null,
      acks,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'led',
          partitionData: [{ index: 0, records: makeBatch({ attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1 }) }],
        },
      ],
    });
    for (const [id, b] of brokers) {
      const c = await RawConnection.open(b.port);
      const res = await c.request(0, 9, body(-1));
      c.close();
      const code = res.responses[0].partitionResponses[0].errorCode;
      assert.equal(code, id === leader ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${id} (leader ${leader})`);
    }
  });

  test('a killed leader leaves its partitions leaderless, then leads them again at a higher epoch with its records', async () => {
    const k = kafka();
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 3, replicationFactor: 3 }] });
    const before = (await admin.fetchTopicMetadata({ topics: ['failover'] })).topics[0]!.partitions;
    await admin.disconnect();
    const victim = before.find((p) => p.partitionId === 0)!.leader;
    const producer = k.producer();
    await producer.connect();
    await producer.send({ topic: 'failover', acks: -1, messages: [{ partition: 0, value: 'kept' }] });
    await producer.disconnect();

    await brokers.get(victim)!.kill9();
    brokers.delete(victim);
    // The controller sees the lease expire (SESSION_MS) and takes the leadership away: no other
    // replica is in sync, so the partition has no leader rather than one without the record.
    const other = [...brokers.values()][0]!;
    // Metadata straight from one broker (kafkajs retries LEADER_NOT_AVAILABLE instead of showing it).
    const partition0 = async (port = other.port): Promise<{ leaderId: number; leaderEpoch: number; errorCode: number } | undefined> => {
      const c = await RawConnection.open(port);
      try {
        const res = await c.request(3, 12, {
          topics: [{ topicId: ZERO_UUID, name: 'failover' }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        });
        return res.topics[0].partitions.find((p: { partitionIndex: number }) => p.partitionIndex === 0);
      } finally {
        c.close();
      }
    };
    const waitFor = async (ok: (p: Awaited<ReturnType<typeof partition0>>) => boolean, port = other.port) => {
      let p = await partition0(port);
      for (const deadline = Date.now() + SESSION_MS * 5; !ok(p) && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 100));
        p = await partition0(port);
      }
      return p;
    };
    const leaderless = await waitFor((p) => p?.leaderId === -1);
    assert.equal(leaderless?.leaderId, -1);
    assert.equal(leaderless?.errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
    assert.equal(leaderless?.leaderEpoch, 1);

    const restarted = await startNode(victim);
    // Each broker applies the change from its own watch; the victim's own view is the one that counts.
    const back = await waitFor((p) => p?.leaderId === victim, restarted.port);
    assert.equal(back?.leaderId, victim);
    assert.equal(back?.leaderEpoch, 2);
    // The record acknowledged before the kill is still there, served by the leader again.
    const c = await RawConnection.open(brokers.get(victim)!.port);
    const res = await c.request(2, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'failover', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
    });
    c.close();
    const p0 = res.topics[0].partitions[0];
    assert.equal(p0.errorCode, ErrorCode.NONE);
    assert.equal(Number(p0.offset), 1);
    assert.equal(p0.leaderEpoch, 2);
  });
});
