/**
 * The transaction coordinator's rules, over fake ports (a store that keeps every record in order,
 * a marker writer that records its calls): producer ids and epochs, fencing, adding partitions,
 * commit and abort with their markers, timeouts, the error codes of bad requests, a store that
 * fails, and a restart that replays the stored records and completes a prepared transaction.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { TransactionCoordinator, type TransactionPorts, type TxnPartition } from '../../src/txn/coordinator.js';
import { decodeTransactionValue, transactionValue, type TransactionRecord } from '../../src/txn/records.js';
import { TxnState } from '../../src/txn/transaction-state.js';

interface Fake extends TransactionPorts {
  stored: Array<[string, TransactionRecord]>;
  tombstones: string[];
  markers: Array<{ partitions: readonly TxnPartition[]; commit: boolean; producerId: number; producerEpoch: number }>;
  failStore: number;
  clock: number;
}

function fake(): Fake {
  let nextId = 1000;
  const f: Fake = {
    stored: [],
    tombstones: [],
    markers: [],
    failStore: ErrorCode.NONE,
    clock: 1_000_000,
    maxTimeoutMs: 900_000,
    store: async (id, record) => {
      if (f.failStore !== ErrorCode.NONE) return f.failStore;
      if (record === null) {
        f.tombstones.push(id);
        return ErrorCode.NONE;
      }
      // Through the real encoding, as the topic would hold it.
      f.stored.push([id, decodeTransactionValue(transactionValue(record))!]);
      return ErrorCode.NONE;
    },
    writeMarkers: async (partitions, marker) => {
      f.markers.push({ partitions, ...marker });
    },
    newProducerId: async () => nextId++,
    now: () => f.clock,
  };
  return f;
}

const p = (topic: string, partition: number): TxnPartition => ({ topic, partition });

describe('the transaction coordinator', () => {
  test('init, add partitions, commit: markers on every partition, and each step stored first', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    const init = await c.initProducerId('app', 60_000);
    assert.deepEqual(init, { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
    assert.equal(await c.addPartitions('app', 1000, 0, [p('a', 0), p('a', 1)]), ErrorCode.NONE);
    assert.equal(await c.addPartitions('app', 1000, 0, [p('a', 1), p('b', 0)]), ErrorCode.NONE);
    assert.equal(c.get('app')!.state, TxnState.Ongoing);
    assert.equal(await c.endTransaction('app', 1000, 0, true), ErrorCode.NONE);
    assert.deepEqual(f.markers, [{ partitions: [p('a', 0), p('a', 1), p('b', 0)], commit: true, producerId: 1000, producerEpoch: 0 }]);
    assert.deepEqual(
      f.stored.map(([, r]) => r.transactionStatus),
      [TxnState.Empty, TxnState.Ongoing, TxnState.Ongoing, TxnState.PrepareCommit, TxnState.CompleteCommit],
    );
    // The prepared record names the partitions its markers go to.
    assert.deepEqual(f.stored[3]![1].transactionPartitions, [
      { topic: 'a', partitionIds: [0, 1] },
      { topic: 'b', partitionIds: [0] },
    ]);
    // A retried EndTxn of the same outcome is answered again; the other outcome is refused.
    assert.equal(await c.endTransaction('app', 1000, 0, true), ErrorCode.NONE);
    assert.equal(await c.endTransaction('app', 1000, 0, false), ErrorCode.INVALID_TXN_STATE);
    assert.equal(f.markers.length, 1);
  });

  test('abort writes abort markers; ending an empty transaction is INVALID_TXN_STATE', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('x', 60_000);
    assert.equal(await c.endTransaction('x', 1000, 0, true), ErrorCode.INVALID_TXN_STATE);
    await c.addPartitions('x', 1000, 0, [p('t', 3)]);
    assert.equal(await c.endTransaction('x', 1000, 0, false), ErrorCode.NONE);
    assert.equal(f.markers[0]!.commit, false);
    assert.equal(c.get('x')!.state, TxnState.CompleteAbort);
  });

  test('a second instance fences the first: its open transaction is aborted at a new epoch', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('app', 60_000);
    await c.addPartitions('app', 1000, 0, [p('t', 0)]);
    const retry = await c.initProducerId('app', 60_000);
    assert.equal(retry.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'the new instance retries while the abort completes');
    assert.deepEqual(f.markers, [{ partitions: [p('t', 0)], commit: false, producerId: 1000, producerEpoch: 1 }]);
    const second = await c.initProducerId('app', 60_000);
    assert.deepEqual(second, { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 2 });
    // The old instance is fenced.
    assert.equal(await c.addPartitions('app', 1000, 0, [p('t', 1)]), ErrorCode.PRODUCER_FENCED);
    assert.equal(await c.endTransaction('app', 1000, 1, true), ErrorCode.PRODUCER_FENCED);
  });

  test('bad requests get Kafka’s error codes', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    assert.equal((await c.initProducerId('t', 0)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await c.initProducerId('t', 900_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal(await c.endTransaction('unknown', 1, 0, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    await c.initProducerId('t', 60_000);
    assert.equal(await c.addPartitions('t', 999, 0, [p('a', 0)]), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal(await c.addPartitions('t', 1000, 5, [p('a', 0)]), ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('a store that fails changes nothing', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('t', 60_000);
    f.failStore = ErrorCode.NOT_COORDINATOR;
    assert.equal(await c.addPartitions('t', 1000, 0, [p('a', 0)]), ErrorCode.NOT_COORDINATOR);
    assert.equal(c.get('t')!.state, TxnState.Empty);
    assert.equal(c.get('t')!.partitions.length, 0);
  });

  test('a transaction open past its timeout is found and aborted at a new epoch', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('slow', 10_000);
    await c.addPartitions('slow', 1000, 0, [p('t', 0)]);
    assert.deepEqual(c.timedOut(f.clock + 10_000), []);
    const late = c.timedOut(f.clock + 10_001);
    assert.deepEqual(
      late.map((m) => m.transactionalId),
      ['slow'],
    );
    assert.equal(await c.abortTimedOut('slow'), ErrorCode.NONE);
    assert.deepEqual(f.markers, [{ partitions: [p('t', 0)], commit: false, producerId: 1000, producerEpoch: 1 }]);
    assert.equal(await c.endTransaction('slow', 1000, 0, true), ErrorCode.PRODUCER_FENCED);
  });

  test('a restart replays the stored records and completes a transaction stored as PrepareCommit', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('app', 60_000);
    await c.addPartitions('app', 1000, 0, [p('t', 0), p('t', 1)]);
    // The broker dies after storing PrepareCommit, before any marker.
    const prepared = { ...f.stored[f.stored.length - 1]![1], transactionStatus: TxnState.PrepareCommit };
    const records: Array<[string, TransactionRecord]> = [...f.stored, ['app', prepared]];

    const f2 = fake();
    const again = new TransactionCoordinator(f2);
    for (const [id, r] of records) again.load(id, r);
    assert.equal(again.get('app')!.state, TxnState.PrepareCommit);
    await again.completePending();
    assert.deepEqual(f2.markers, [{ partitions: [p('t', 0), p('t', 1)], commit: true, producerId: 1000, producerEpoch: 0 }]);
    assert.equal(again.get('app')!.state, TxnState.CompleteCommit);
    // A record with a state Kafka does not have is not loaded.
    again.load('bad', { ...prepared, transactionStatus: 9 });
    assert.equal(again.get('bad'), undefined);
    // A tombstone forgets the id.
    again.load('app', null);
    assert.equal(again.get('app'), undefined);
  });

  test('transactional.id.expiration.ms: idle ids get a tombstone and go; open or recent ones stay', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('idle', 60_000);
    await c.initProducerId('open', 60_000);
    await c.addPartitions('open', 1001, 0, [p('t', 0)]);
    f.clock += 10_000;
    await c.initProducerId('recent', 60_000);
    assert.equal(await c.expire(f.clock, 5_000), 1);
    assert.deepEqual(f.tombstones, ['idle']);
    assert.equal(c.get('idle'), undefined);
    assert.equal(c.get('open')!.state, TxnState.Ongoing, 'an open transaction is never expired');
    assert.ok(c.get('recent') !== undefined);
    // A failed tombstone keeps the id.
    f.clock += 10_000;
    f.failStore = ErrorCode.NOT_COORDINATOR;
    assert.equal(await c.expire(f.clock, 5_000), 0);
    assert.ok(c.get('recent') !== undefined);
  });

  test('transactions v2 (EndTxn v5): every end bumps the epoch, markers carry the new one, a lost answer is answered again', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('v2', 60_000);
    assert.equal(await c.addPartitions('v2', 1000, 0, [p('t', 0)]), ErrorCode.NONE);
    assert.deepEqual(await c.endTransactionBumping('v2', 1000, 0, true), { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 1 });
    assert.deepEqual(f.markers, [{ partitions: [p('t', 0)], commit: true, producerId: 1000, producerEpoch: 1 }]);
    assert.equal(f.stored[f.stored.length - 1]![1].clientTransactionVersion, 2);
    // The retry of a commit whose answer was lost names the old epoch: answered as before, no new markers.
    assert.deepEqual(await c.endTransactionBumping('v2', 1000, 0, true), { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 1 });
    assert.equal((await c.endTransactionBumping('v2', 1000, 0, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal(f.markers.length, 1);
    // A late write of the finished transaction (the old epoch) is fenced; the next one starts at the new epoch.
    assert.equal(await c.addPartitions('v2', 1000, 0, [p('t', 1)]), ErrorCode.PRODUCER_FENCED);
    assert.equal((await c.endTransactionBumping('v2', 1000, 1, true)).errorCode, ErrorCode.INVALID_TXN_STATE, 'nothing to commit');
    // An abort with nothing open bumps the epoch all the same (writes of the producer may be in flight).
    assert.deepEqual(await c.endTransactionBumping('v2', 1000, 1, false), {
      errorCode: ErrorCode.NONE,
      producerId: 1000,
      producerEpoch: 2,
    });
    assert.deepEqual(f.markers[1], { partitions: [], commit: false, producerId: 1000, producerEpoch: 2 });
    assert.deepEqual(await c.endTransactionBumping('v2', 1000, 1, false), {
      errorCode: ErrorCode.NONE,
      producerId: 1000,
      producerEpoch: 2,
    });
    assert.equal(await c.addPartitions('v2', 1000, 2, [p('t', 0)]), ErrorCode.NONE);
    assert.deepEqual(await c.endTransactionBumping('v2', 1000, 2, false), {
      errorCode: ErrorCode.NONE,
      producerId: 1000,
      producerEpoch: 3,
    });
    // Older epochs, other producers and unknown ids.
    assert.equal((await c.endTransactionBumping('v2', 1000, 1, false)).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await c.endTransactionBumping('v2', 77, 3, false)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal((await c.endTransactionBumping('nobody', 1000, 0, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  });

  test('transactions v2: past the last epoch the id moves to a new producer id, also when completed after a restart', async () => {
    const f = fake();
    const c = new TransactionCoordinator(f);
    await c.initProducerId('old', 60_000);
    await c.addPartitions('old', 1000, 0, [p('t', 0)]);
    const ongoing = f.stored[f.stored.length - 1]![1];
    // The same transaction, as if the producer had reached the last epoch.
    c.load('old', { ...ongoing, producerEpoch: 32766 });
    const end = await c.endTransactionBumping('old', 1000, 32766, true);
    assert.deepEqual(end, { errorCode: ErrorCode.NONE, producerId: 1001, producerEpoch: 0 });
    // The markers go out at the bumped epoch of the old id; the prepared record names the next id.
    assert.deepEqual(f.markers, [{ partitions: [p('t', 0)], commit: true, producerId: 1000, producerEpoch: 32767 }]);
    const prepared = f.stored.find(([, r]) => r.transactionStatus === TxnState.PrepareCommit)![1];
    assert.equal(prepared.nextProducerId, 1001);
    const completed = f.stored[f.stored.length - 1]![1];
    assert.deepEqual([completed.producerId, completed.producerEpoch, completed.previousProducerId], [1001, 0, 1000]);
    // A retry naming the old id and its last epoch is answered with the new id.
    assert.deepEqual(await c.endTransactionBumping('old', 1000, 32766, true), end);
    assert.equal(await c.addPartitions('old', 1001, 0, [p('t', 0)]), ErrorCode.NONE);

    // Stored as prepared when the broker died: completed after the restart, at the new id.
    const f2 = fake();
    const again = new TransactionCoordinator(f2);
    again.load('old', prepared);
    await again.completePending();
    assert.deepEqual(f2.markers, [{ partitions: [p('t', 0)], commit: true, producerId: 1000, producerEpoch: 32767 }]);
    assert.deepEqual([again.get('old')!.producerId, again.get('old')!.producerEpoch], [1001, 0]);
  });
});
