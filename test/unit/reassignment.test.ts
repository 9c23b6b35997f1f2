/**
 * Partition reassignment as records (src/cluster/reassignment.ts): a move starts with the target
 * and the leaving replicas listed together, completes only once every added replica is in sync
 * (the leader handing over if it leaves), is replaced or cancelled back to the original replicas,
 * and refuses bad targets with Kafka's error codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeReassignment, isReassigning, originalReplicas, reassign } from '../../src/cluster/reassignment.js';
import type { PartitionRecord, PartitionState } from '../../src/cluster/state.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const brokers = new Set([1, 2, 3, 4]);

function state(over: Partial<PartitionState> = {}): PartitionState {
  return { topicId: 'ab', replicas: [1, 2, 3], leader: 1, leaderEpoch: 5, isr: [1, 2, 3], partitionEpoch: 9, revision: 100, ...over };
}

function record(r: PartitionRecord | { errorCode: number }): PartitionRecord {
  assert.ok(!('errorCode' in r), `refused: ${JSON.stringify(r)}`);
  return r as PartitionRecord;
}

const asState = (r: PartitionRecord, over: Partial<PartitionState> = {}): PartitionState => ({ ...r, revision: 101, ...over });

test('a move to a new broker lists old and new replicas, and completes once the new one is in sync', () => {
  const started = record(reassign(state(), [2, 3, 4], brokers, true));
  assert.deepEqual(started.replicas, [2, 3, 4, 1]);
  assert.deepEqual([started.adding, started.removing], [[4], [1]]);
  assert.equal(started.leader, 1, 'the leader stays while the new replica copies');
  assert.equal(started.leaderEpoch, 5);
  assert.equal(started.partitionEpoch, 10);
  assert.ok(isReassigning(started));
  assert.deepEqual(originalReplicas(started), [2, 3, 1]);
  // Not in sync yet: nothing to complete.
  assert.equal(completeReassignment(asState(started), brokers), null);
  // In sync: the leaving leader hands over to the first in-sync target replica, a new epoch.
  const done = completeReassignment(asState(started, { isr: [1, 2, 3, 4], partitionEpoch: 11 }), brokers)!;
  assert.deepEqual(done.replicas, [2, 3, 4]);
  assert.deepEqual(done.isr, [2, 3, 4]);
  assert.equal(done.leader, 2);
  assert.equal(done.leaderEpoch, 6);
  assert.equal(done.partitionEpoch, 12);
  assert.ok(!isReassigning(done));
});

test('a leader that stays keeps its epoch; a reordering or shrink completes at once', () => {
  const s = record(reassign(state(), [1, 4], brokers, true));
  const done = completeReassignment(asState(s, { isr: [1, 2, 3, 4] }), brokers)!;
  assert.deepEqual([done.replicas, done.isr, done.leader, done.leaderEpoch], [[1, 4], [1, 4], 1, 5]);
  const shrunk = record(reassign(state(), [3, 2], brokers, true));
  assert.deepEqual([shrunk.replicas, shrunk.isr, shrunk.leader, shrunk.leaderEpoch, shrunk.adding], [[3, 2], [2, 3], 3, 6, undefined]);
});

test('a new target replaces a move in progress; null cancels it back to the original replicas', () => {
  const first = asState(record(reassign(state(), [2, 3, 4], brokers, true)));
  const second = record(reassign(first, [1, 2, 4], brokers, true));
  assert.deepEqual([second.replicas, second.adding, second.removing], [[1, 2, 4, 3], [4], [3]]);
  const cancelled = record(reassign(asState(second, { isr: [1, 2, 3] }), null, brokers, true));
  assert.deepEqual([cancelled.replicas, cancelled.isr, cancelled.leader, cancelled.adding], [[1, 2, 3], [1, 2, 3], 1, undefined]);
  // A leader among the added replicas hands back to an original in-sync one.
  const led = record(reassign(asState(second, { leader: 4, isr: [2, 4] }), null, brokers, true));
  assert.deepEqual([led.replicas, led.leader, led.leaderEpoch, led.isr], [[1, 2, 3], 2, 6, [2]]);
});

test("bad targets get Kafka's errors", () => {
  const code = (r: PartitionRecord | { errorCode: number }) => ('errorCode' in r ? r.errorCode : ErrorCode.NONE);
  assert.equal(code(reassign(state(), null, brokers, true)), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  assert.equal(code(reassign(state(), [], brokers, true)), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(code(reassign(state(), [1, 1, 2], brokers, true)), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(code(reassign(state(), [1, 2, 9], brokers, true)), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(code(reassign(state(), [1, 2], brokers, false)), ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(code(reassign(state(), [4, 2, 3], brokers, false)), ErrorCode.NONE);
});
