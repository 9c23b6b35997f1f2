/**
 * Transactions with real clients against a real broker process: kafkajs and librdkafka
 * (confluent-kafka) transactional producers
 * (commits and aborts interleaved, offsets sent to a transaction, zombie fencing, a transaction
 * left open past its timeout), read back by kcat (librdkafka) at read_committed and
 * read_uncommitted; markers, the last stable offset and the coordinator's state across a restart;
 * `franz txn` finding and aborting a hanging transaction; and Kafka's error codes for bad transactional requests (raw frames: no real client sends them).
 */
import { test, describe, before, after } from 'node:test';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startBroker, removeDir, tempDir, FRANZ_MAIN, type RunningBroker } from '../helpers/broker.js';
import { runOk, jsonLines } from '../helpers/run.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { RawConnection } from '../helpers/raw.js';
import { ErrorCode } from '../../src/protocol/errors.js';

let broker: RunningBroker;
let kafka: Kafka;
const dataDir = tempDir();
const SETS = [
  'num.partitions=3',
  // Short enough for a test to see a transaction aborted past its timeout.
  'transaction.abort.timed.out.transaction.cleanup.interval.ms=200',
  'transaction.state.log.num.partitions=5',
];

async function start(): Promise<void> {
  broker = await startBroker({ dataDir, sets: SETS });
  kafka = new Kafka({ brokers: [broker.address], clientId: 'franz-txn-test', logLevel: logLevel.NOTHING, retry: { retries: 8 } });
}

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  await start();
});

after(async () => {
  await broker.stop();
  removeDir(dataDir);
});

/** Every record of a topic as kcat (librdkafka) reads it at the given isolation level. */
function readAll(topic: string, isolation: 'read_committed' | 'read_uncommitted') {
  return kcatReadAll(broker.address, topic, isolation);
}

async function createTopic(topic: string, numPartitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.disconnect();
}

async function txnProducer(transactionalId: string, transactionTimeout = 60_000): Promise<Producer> {
  const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout });
  await p.connect();
  return p;
}

/** Polls `check` until it holds (the broker's timers act on their own schedule), failing after `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('transactions', () => {
  test('commits and aborts interleaved: read_committed sees each committed record once, read_uncommitted all', async () => {
    await createTopic('txn-mixed');
    const p = await txnProducer('mixed-app');
    const committed: string[] = [];
    const aborted: string[] = [];
    for (let t = 0; t < 10; t++) {
      const txn = await p.transaction();
      const values = Array.from({ length: 6 }, (_, i) => `t${t}-r${i}`);
      await txn.send({ topic: 'txn-mixed', messages: values.map((value, i) => ({ key: `k${i}`, value })) });
      if (t % 3 === 1) {
        await txn.abort();
        aborted.push(...values);
      } else {
        await txn.commit();
        committed.push(...values);
      }
    }
    await p.disconnect();
    const rc = (await readAll('txn-mixed', 'read_committed')).map((r) => r.payload!);
    assert.deepEqual([...rc].sort(), [...committed].sort(), 'exactly the committed records, each once');
    const ru = (await readAll('txn-mixed', 'read_uncommitted')).map((r) => r.payload!);
    assert.deepEqual([...ru].sort(), [...committed, ...aborted].sort(), 'read_uncommitted sees the aborted ones too');
    // Per partition, committed records keep their send order.
    const byKey = new Map<string, number[]>();
    for (const v of rc) {
      const [t, r] = v.slice(1).split('-r').map(Number);
      byKey.set(`k${r}`, [...(byKey.get(`k${r}`) ?? []), t!]);
    }
    for (const ts of byKey.values())
      assert.deepEqual(
        ts,
        [...ts].sort((a, b) => a - b),
      );
  });

  test('librdkafka (confluent-kafka) transactions: commits and aborts read back at both isolation levels', async () => {
    await createTopic('txn-py');
    const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'python', 'txn_producer.py');
    const r = await runOk('python3', [script, broker.address, 'txn-py', '6'], { timeoutMs: 120_000 });
    const [out] = jsonLines<{ committed: string[]; aborted: string[] }>(r.stdout);
    assert.equal(out!.committed.length, 15);
    assert.deepEqual((await readAll('txn-py', 'read_committed')).map((x) => x.payload).sort(), [...out!.committed].sort());
    assert.deepEqual(
      (await readAll('txn-py', 'read_uncommitted')).map((x) => x.payload).sort(),
      [...out!.committed, ...out!.aborted].sort(),
    );
  });

  test('an open transaction holds read_committed readers at its first record until it commits', async () => {
    await createTopic('txn-open', 1);
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: 'txn-open', messages: [{ value: 'before' }] });
    const p = await txnProducer('open-app');
    const txn = await p.transaction();
    await txn.send({ topic: 'txn-open', messages: [{ value: 'inside' }] });
    // A plain record after the open transaction's first one: stable only once the transaction ends.
    await plain.send({ topic: 'txn-open', messages: [{ value: 'after' }] });
    assert.deepEqual(
      (await readAll('txn-open', 'read_committed')).map((r) => r.payload),
      ['before'],
    );
    await txn.commit();
    assert.deepEqual(
      (await readAll('txn-open', 'read_committed')).map((r) => r.payload),
      ['before', 'inside', 'after'],
    );
    await p.disconnect();
    await plain.disconnect();
  });

  test('offsets sent to a transaction count when it commits and not when it aborts', async () => {
    await createTopic('txn-offsets', 1);
    const admin = kafka.admin();
    await admin.connect();
    const p = await txnProducer('offsets-app');
    const t1 = await p.transaction();
    await t1.send({ topic: 'txn-offsets', messages: [{ value: 'a' }] });
    await t1.sendOffsets({ consumerGroupId: 'txn-group', topics: [{ topic: 'txn-offsets', partitions: [{ partition: 0, offset: '5' }] }] });
    await t1.commit();
    const t2 = await p.transaction();
    await t2.sendOffsets({ consumerGroupId: 'txn-group', topics: [{ topic: 'txn-offsets', partitions: [{ partition: 0, offset: '9' }] }] });
    await t2.abort();
    const offsets = await admin.fetchOffsets({ groupId: 'txn-group', topics: ['txn-offsets'] });
    assert.equal(offsets[0]!.partitions[0]!.offset, '5', 'the committed transaction’s offset, not the aborted one');
    await p.disconnect();
    await admin.disconnect();
  });

  test('a second producer with the same transactional id fences the first', async () => {
    await createTopic('txn-zombie', 1);
    const zombie = await txnProducer('zombie-app');
    const zt = await zombie.transaction();
    await zt.send({ topic: 'txn-zombie', messages: [{ value: 'zombie-1' }] });
    // The new instance's InitProducerId (kafkajs sends it as its first transaction begins) aborts
    // the zombie's open transaction and bumps the epoch.
    const fresh = await txnProducer('zombie-app');
    const ft = await fresh.transaction();
    await assert.rejects(() => zt.send({ topic: 'txn-zombie', messages: [{ value: 'zombie-2' }] }), 'the zombie cannot write');
    await assert.rejects(() => zt.commit(), 'nor commit');
    await ft.send({ topic: 'txn-zombie', messages: [{ value: 'fresh' }] });
    await ft.commit();
    await fresh.disconnect();
    await zombie.disconnect().catch(() => undefined);
    assert.deepEqual(
      (await readAll('txn-zombie', 'read_committed')).map((r) => r.payload),
      ['fresh'],
    );
  });

  test('a transaction left open past its timeout is aborted, and read_committed readers move past it', async () => {
    await createTopic('txn-timeout', 1);
    const p = await txnProducer('timeout-app', 1000);
    const txn = await p.transaction();
    await txn.send({ topic: 'txn-timeout', messages: [{ value: 'abandoned' }] });
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: 'txn-timeout', messages: [{ value: 'later' }] });
    await eventually('the abandoned transaction is aborted', async () => {
      const rc = (await readAll('txn-timeout', 'read_committed')).map((r) => r.payload);
      return rc.includes('later');
    });
    assert.deepEqual(
      (await readAll('txn-timeout', 'read_committed')).map((r) => r.payload),
      ['later'],
    );
    await assert.rejects(() => txn.commit(), 'the timed-out producer was fenced');
    await plain.disconnect();
    await p.disconnect().catch(() => undefined);
  });

  test('bad transactional requests get Kafka’s error codes', async () => {
    await createTopic('txn-bad', 1);
    const c = await RawConnection.open(broker.port);
    try {
      const end = await c.request(26, 3, { transactionalId: 'nobody', producerId: 12345, producerEpoch: 0, committed: true });
      assert.equal(end.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING, 'EndTxn for an unknown id');
      const tooLong = await c.request(22, 4, {
        transactionalId: 'bad-app',
        transactionTimeoutMs: 3_600_000,
        producerId: -1,
        producerEpoch: -1,
      });
      assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT, 'a timeout above transaction.max.timeout.ms');
      const init = await c.request(22, 4, { transactionalId: 'bad-app', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      assert.equal(init.errorCode, ErrorCode.NONE);
      const missing = await c.request(24, 3, {
        v3AndBelowTransactionalId: 'bad-app',
        v3AndBelowProducerId: init.producerId,
        v3AndBelowProducerEpoch: init.producerEpoch,
        v3AndBelowTopics: [
          { name: 'txn-bad', partitions: [0] },
          { name: 'no-such-topic', partitions: [0] },
        ],
      });
      const codes = missing.resultsByTopicV3AndBelow.map(
        (t: { name: string; resultsByPartition: Array<{ partitionErrorCode: number }> }) => [
          t.name,
          t.resultsByPartition[0]!.partitionErrorCode,
        ],
      );
      assert.deepEqual(codes, [
        ['txn-bad', ErrorCode.OPERATION_NOT_ATTEMPTED],
        ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ]);
      const wrongEpoch = await c.request(26, 3, {
        transactionalId: 'bad-app',
        producerId: init.producerId,
        producerEpoch: init.producerEpoch + 1,
        committed: true,
      });
      assert.equal(wrongEpoch.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'an epoch from the future');
      const notOngoing = await c.request(26, 3, {
        transactionalId: 'bad-app',
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        committed: true,
      });
      assert.equal(notOngoing.errorCode, ErrorCode.INVALID_TXN_STATE, 'EndTxn with no transaction open');
      const offsets = await c.request(28, 3, {
        transactionalId: 'bad-app',
        groupId: 'bad-group',
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [
          { name: 'txn-bad', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] },
        ],
      });
      assert.equal(
        offsets.topics[0].partitions[0].errorCode,
        ErrorCode.INVALID_TXN_STATE,
        'TxnOffsetCommit before AddOffsetsToTxn: no marker would ever reach those offsets',
      );
    } finally {
      c.close();
    }
  });

  test('markers, the last stable offset and the coordinator state survive a kill -9', async () => {
    await createTopic('txn-restart', 1);
    const p = await txnProducer('restart-app');
    const t1 = await p.transaction();
    await t1.send({ topic: 'txn-restart', messages: [{ value: 'c1' }] });
    await t1.commit();
    const t2 = await p.transaction();
    await t2.send({ topic: 'txn-restart', messages: [{ value: 'a1' }] });
    await t2.abort();
    const t3 = await p.transaction();
    await t3.send({ topic: 'txn-restart', messages: [{ value: 'open' }] });
    await p.disconnect().catch(() => undefined);
    await broker.kill9();
    await start();
    assert.deepEqual(
      (await readAll('txn-restart', 'read_committed')).map((r) => r.payload),
      ['c1'],
      'the open transaction still holds the last stable offset',
    );
    // The coordinator remembers the id: a new instance aborts the open transaction and goes on.
    const again = await txnProducer('restart-app');
    const t4 = await again.transaction();
    await t4.send({ topic: 'txn-restart', messages: [{ value: 'c2' }] });
    await t4.commit();
    await again.disconnect();
    assert.deepEqual(
      (await readAll('txn-restart', 'read_committed')).map((r) => r.payload),
      ['c1', 'c2'],
    );
    assert.deepEqual(
      (await readAll('txn-restart', 'read_uncommitted')).map((r) => r.payload),
      ['c1', 'a1', 'open', 'c2'],
    );
  });

  test('franz txn lists, describes and finds a hanging transaction, and abort ends it on its partition', async () => {
    await createTopic('txn-cli', 1);
    const franz = async (...args: string[]) =>
      jsonLines<Record<string, unknown>>(
        (await runOk(process.execPath, [FRANZ_MAIN, 'txn', ...args, '--brokers', broker.address, '--format', 'json'])).stdout,
      );
    const p = await txnProducer('cli-app');
    const txn = await p.transaction();
    await txn.send({ topic: 'txn-cli', messages: [{ value: 'hanging' }] });
    const listed = await franz('list', '--state', 'Ongoing');
    const mine = listed.find((t) => t.transactionalId === 'cli-app');
    assert.equal(mine?.state, 'Ongoing');
    const [described] = await franz('describe', 'cli-app');
    assert.deepEqual(described!.partitions, [{ topic: 'txn-cli', partition: 0 }]);
    const producers = await franz('producers', '--topic', 'txn-cli', '--partition', '0');
    const hanging = producers.find((x) => x.producerId === mine!.producerId);
    assert.equal(hanging?.currentTxnStartOffset, 0, 'the open transaction starts at offset 0');
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: 'txn-cli', messages: [{ value: 'after' }] });
    await plain.disconnect();
    assert.deepEqual(
      (await readAll('txn-cli', 'read_committed')).map((r) => r.payload),
      [],
    );
    await franz('abort', '--topic', 'txn-cli', '--partition', '0', '--producer-id', String(mine!.producerId));
    assert.deepEqual(
      (await readAll('txn-cli', 'read_committed')).map((r) => r.payload),
      ['after'],
      'the aborted record is hidden and the one after it is readable',
    );
    await p.disconnect().catch(() => undefined);
  });
});
