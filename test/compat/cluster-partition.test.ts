/**
 * A leader cut off from etcd and from its followers by TCP proxies the test controls (broker 1
 * reaches etcd through one, and advertises another in front of its own listener, which the
 * followers fetch through). After the cut it acknowledges no acks=all write, though clients still
 * reach it directly; the others elect a new leader and go on; when the network heals, the old
 * leader learns it was replaced, cuts the records only it has, follows, and rejoins the ISR with a
 * log identical to the new leader's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../helpers/broker.js';
import { freePort, startEtcd, type RunningEtcd } from '../helpers/etcd.js';
import { makeBatch } from '../helpers/batches.js';
import { RawConnection } from '../helpers/raw.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { topicMetadata, until, type PartitionView } from '../helpers/cluster.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const SESSION_MS = 2000;
const TOPIC = 'cut';

describe('a leader partitioned from etcd and its followers', () => {
  let etcd: RunningEtcd;
  const brokers = new Map<number, RunningBroker>();
  let etcdProxy: TcpProxy;
  let listenerProxy: TcpProxy;

  before(async () => {
    etcd = await startEtcd();
    const etcdPort = Number(etcd.url.split(':').pop());
    etcdProxy = await new TcpProxy(etcdPort).start();
    const port1 = await freePort();
    listenerProxy = await new TcpProxy(port1).start();
    const sets = (id: number, etcdUrl: string) => [
      `franz.cluster=${etcdUrl}/partition`,
      `node.id=${id}`,
      `broker.session.timeout.ms=${SESSION_MS}`,
      'replica.lag.time.max.ms=5000',
    ];
    brokers.set(
      1,
      await startBroker({
        port: port1,
        sets: [...sets(1, `etcd://127.0.0.1:${etcdProxy.port}`), `advertised.listeners=PLAINTEXT://127.0.0.1:${listenerProxy.port}`],
      }),
    );
    for (const id of [2, 3]) brokers.set(id, await startBroker({ sets: sets(id, etcd.url) }));
  });

  after(async () => {
    for (const b of brokers.values()) await b.stop();
    await etcdProxy.stop();
    await listenerProxy.stop();
    await etcd.stop();
  });

  function waitFor(id: number, what: string, ok: (p: PartitionView) => boolean): Promise<PartitionView> {
    return until(`${what} (broker ${id})`, async () => (await topicMetadata(brokers.get(id)!.port, TOPIC)).partitions[0]!, ok);
  }

  async function request(id: number, apiKey: number, version: number, body: Record<string, unknown>) {
    const c = await RawConnection.open(brokers.get(id)!.port);
    try {
      return await c.request(apiKey, version, body);
    } finally {
      c.close();
    }
  }

  /** One batch to the partition on broker `id` directly (not through its advertised proxy). */
  async function produce(id: number, acks: number): Promise<number> {
    const res = await request(id, 0, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 3000,
      topicData: [
        {
          name: TOPIC,
          partitionData: [{ index: 0, records: makeBatch({ attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1 }) }],
        },
      ],
    });
    return res.responses[0].partitionResponses[0].errorCode as number;
  }

  test('acknowledges no acks=all write after the cut, and truncates and follows when it returns', async (t) => {
    const admin = new Kafka({ brokers: [brokers.get(2)!.address], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
    });
    await admin.disconnect();
    await waitFor(2, 'in sync', (p) => p.isrNodes.length === 3);
    // Broker 1 first in the replica list, then the preferred-leader election makes it the leader.
    const moved = await request(2, 45, 0, {
      timeoutMs: 5000,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [1, 2, 3] }] }],
    });
    assert.equal(moved.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    await waitFor(2, 'reordered', (p) => p.isrNodes.length === 3);
    const elected = await request(2, 43, 2, { electionType: 0, topicPartitions: [{ topic: TOPIC, partitionId: [0] }], timeoutMs: 5000 });
    assert.ok(
      [ErrorCode.NONE, ErrorCode.ELECTION_NOT_NEEDED].includes(elected.replicaElectionResults[0].partitionResult[0].errorCode),
      JSON.stringify(elected),
    );
    const before = await waitFor(1, 'led by broker 1', (p) => p.leaderId === 1 && p.isrNodes.length === 3);
    for (let i = 0; i < 5; i++) assert.equal(await produce(1, -1), ErrorCode.NONE);

    etcdProxy.cut();
    listenerProxy.cut();
    t.diagnostic('cut');
    // Still reachable by clients, still believing it leads: but no follower fetches from it, so no
    // acks=all write can be acknowledged. acks=1 is (those records are lost, as in Kafka).
    assert.notEqual(await produce(1, -1), ErrorCode.NONE, 'an acks=all write acknowledged after the cut');
    assert.equal(await produce(1, 1), ErrorCode.NONE);
    // The others elect a new leader once broker 1's lease runs out, and take writes.
    const after = await waitFor(2, 'led by another broker', (p) => p.leaderId !== 1 && p.leaderId !== -1);
    assert.ok(after.leaderEpoch > before.leaderEpoch);
    assert.notEqual(await produce(1, -1), ErrorCode.NONE, 'an acks=all write acknowledged by the replaced leader');
    for (let i = 0; i < 5; i++) assert.equal(await produce(after.leaderId, -1), ErrorCode.NONE);

    etcdProxy.heal();
    listenerProxy.heal();
    t.diagnostic('healed');
    // Broker 1 registers again, follows the new leader, cuts its own records and rejoins the ISR.
    const rejoined = await waitFor(after.leaderId, 'rejoined', (p) => p.isrNodes.includes(1));
    assert.equal(rejoined.leaderId, after.leaderId);
    assert.match(brokers.get(1)!.stderr(), /truncating a replica that diverged from its new leader/);
    const files = [1, after.leaderId].map((id) => readFileSync(join(brokers.get(id)!.dataDir, `${TOPIC}-0`, '00000000000000000000.log')));
    assert.ok(files[0]!.equals(files[1]!), "broker 1's log is the new leader's");
    assert.equal(await produce(after.leaderId, -1), ErrorCode.NONE);
  });
});
