/**
 * `__transaction_state` records (Kafka's TransactionLogKey and TransactionLogValue, versions 0
 * and 1) and the transaction state machine's allowed transitions.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTransactionKey, decodeTransactionValue, transactionKey, transactionValue } from '../../src/txn/records.js';
import { canTransition, isCompleting, isTxnState, TxnState, TXN_STATE_NAMES } from '../../src/txn/transaction-state.js';

const value = {
  producerId: 4000,
  previousProducerId: -1,
  nextProducerId: -1,
  producerEpoch: 7,
  transactionTimeoutMs: 60_000,
  transactionStatus: TxnState.Ongoing,
  transactionPartitions: [
    { topic: 'orders', partitionIds: [0, 3] },
    { topic: '__consumer_offsets', partitionIds: [12] },
  ],
  transactionLastUpdateTimestampMs: 1_765_000_000_123,
  transactionStartTimestampMs: 1_765_000_000_000,
  clientTransactionVersion: 2,
};

describe('__transaction_state records', () => {
  test('a key is version 0 and the id as a string', () => {
    const key = transactionKey('app-1');
    // int16 version 0, int16 length 5, "app-1".
    assert.deepEqual([...key], [0, 0, 0, 5, 0x61, 0x70, 0x70, 0x2d, 0x31]);
    assert.equal(decodeTransactionKey(key), 'app-1');
    assert.equal(decodeTransactionKey(Buffer.from([0, 1, 0, 0])), null, 'another version is not ours');
  });

  test('a value round-trips in version 1, with its tagged fields', () => {
    const bytes = transactionValue(value);
    assert.equal(bytes.readInt16BE(0), 1);
    assert.deepEqual(decodeTransactionValue(bytes), value);
  });

  test('a version 0 value (no tagged fields) decodes with the defaults', () => {
    // int16 0 | producerId int64 | epoch int16 | timeout int32 | status int8 | partitions: int32 count,
    // (string topic, int32 count, int32s) | last update int64 | start int64
    const parts = [
      Buffer.from([0, 0]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0x0f, 0xa0]),
      Buffer.from([0, 7]),
      Buffer.from([0, 0, 0xea, 0x60]),
      Buffer.from([TxnState.CompleteCommit]),
      Buffer.from([0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, 0, 0, 0, 2]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 9]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 8]),
    ];
    assert.deepEqual(decodeTransactionValue(Buffer.concat(parts)), {
      producerId: 4000,
      previousProducerId: -1,
      nextProducerId: -1,
      producerEpoch: 7,
      transactionTimeoutMs: 60_000,
      transactionStatus: TxnState.CompleteCommit,
      transactionPartitions: [{ topic: 't', partitionIds: [2] }],
      transactionLastUpdateTimestampMs: 9,
      transactionStartTimestampMs: 8,
      clientTransactionVersion: 0,
    });
  });

  test('truncated or unknown-version values are refused', () => {
    const bytes = transactionValue(value);
    assert.equal(decodeTransactionValue(bytes.subarray(0, bytes.length - 3)), null);
    const v9 = Buffer.from(bytes);
    v9.writeInt16BE(9, 0);
    assert.equal(decodeTransactionValue(v9), null);
  });
});

describe('transaction states', () => {
  test('the allowed transitions are Kafka’s', () => {
    const { Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence } = TxnState;
    assert.ok(canTransition(Empty, Ongoing));
    assert.ok(canTransition(Ongoing, PrepareCommit));
    assert.ok(canTransition(PrepareCommit, CompleteCommit));
    assert.ok(canTransition(Ongoing, PrepareAbort));
    assert.ok(canTransition(PrepareAbort, CompleteAbort));
    assert.ok(canTransition(Ongoing, PrepareEpochFence));
    assert.ok(canTransition(PrepareEpochFence, PrepareAbort));
    assert.ok(canTransition(CompleteCommit, Dead));
    // A decided transaction cannot change its mind, nor skip its markers.
    assert.equal(canTransition(PrepareCommit, PrepareAbort), false);
    assert.equal(canTransition(PrepareAbort, CompleteCommit), false);
    assert.equal(canTransition(Ongoing, CompleteCommit), false);
    assert.equal(canTransition(Empty, PrepareCommit), false);
    assert.equal(canTransition(Dead, Ongoing), false);
    assert.equal(canTransition(Ongoing, Dead), false);
    assert.ok(isCompleting(PrepareCommit) && isCompleting(PrepareEpochFence) && !isCompleting(Ongoing));
    assert.equal(TXN_STATE_NAMES[PrepareEpochFence], 'PrepareEpochFence');
    assert.ok(isTxnState(7) && !isTxnState(8) && !isTxnState(-1));
  });
});
