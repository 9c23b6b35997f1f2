/**
 * TxnOffsetCommit (28), v0-5.
 *
 * Behavior: a transactional producer commits a consumer group's offsets in its transaction
 * (sendOffsetsToTransaction), to the group's coordinator. They are written to
 * `__consumer_offsets` as a transactional batch of the producer and count only once the
 * transaction's commit marker reaches that partition; an abort drops them. Until then OffsetFetch
 * with requireStable answers UNSTABLE_OFFSET_COMMIT for those partitions. A member id or
 * generation (v3+) is checked as OffsetCommit checks them (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 * FENCED_INSTANCE_ID); partitions of unknown topics are UNKNOWN_TOPIC_OR_PARTITION. The group's
 * offsets partition must be in the transaction, as its coordinator (this broker or another)
 * tells (INVALID_TXN_STATE otherwise), so that no offsets wait for a marker that will never
 * come; from v5, with transaction.version 2, it joins the transaction instead (KIP-890: the
 * producer sends no AddOffsetsToTxn).
 * Version notes: v2 leader epoch; v3 flexible, member id, generation and instance id, PRODUCER_FENCED;
 * v4 TRANSACTION_ABORTABLE; v5 adds the offsets partition to the transaction (transactions v2).
 */
import { OFFSETS_TOPIC } from '../group/group-store.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/28-txn-offset-commit.js';
import { commitRequest, traceCommits } from './offset-commit-request.js';
import { defineHandler } from './registry.js';
import { fencedFor } from './txn-errors.js';

/** A transaction coordinator elsewhere that could not be asked: the producer retries at this group coordinator. */
function coordinatorUnreachable(code: number): number {
  return code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE || code === ErrorCode.NETWORK_EXCEPTION
    ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    : code;
}

export const txnOffsetCommit = defineHandler(spec, {
  versions: [0, 5],
  async handle(ctx, req) {
    const { groupId } = req;
    const r = commitRequest(ctx, req.topics);
    const answer = (topics: ReturnType<typeof r.respond>) => ({ throttleTimeMs: 0, topics });
    if (groupId === '') return answer(r.all(ErrorCode.INVALID_GROUP_ID));
    const groups = ctx.groups;
    const elsewhere = groups.notCoordinator(groupId);
    if (elsewhere !== null) return answer(r.all(elsewhere));
    // The group's offsets partition must be in the transaction (AddOffsetsToTxn came first, or
    // it is added now): offsets no marker would ever reach would stay pending.
    const offsetsPartition = { topic: OFFSETS_TOPIC, partition: groups.store.partitionFor(groupId) };
    const log = ctx.logs.partition(offsetsPartition.topic, offsetsPartition.partition);
    const [admitted] = ctx.transactions.admit(
      req.transactionalId,
      req.producerId,
      req.producerEpoch,
      [offsetsPartition],
      ctx.version >= 5 && ctx.config.num('franz.transaction.version') >= 2,
      () => log?.producers.inTransaction(req.producerId, req.producerEpoch) ?? false,
    );
    const verified = await admitted!;
    if (verified !== ErrorCode.NONE) return answer(r.all(fencedFor(coordinatorUnreachable(verified), ctx.version, 3)));
    // A producer that names its consumer's membership (v3+) is checked as a commit would be.
    if (req.memberId !== '' || req.generationId !== -1) {
      const check = groups.validateCommit(groupId, req.memberId, req.groupInstanceId, req.generationId);
      if (check !== ErrorCode.NONE) return answer(r.all(check));
    }
    const codes = r.inputs.length === 0 ? [] : await groups.commitInTransaction(groupId, req.producerId, req.producerEpoch, r.inputs);
    // Traced when sent: the offsets count once the transaction commits (an abort drops them).
    traceCommits(ctx, groupId, req.memberId, r.inputs, codes, req.transactionalId);
    return answer(r.respond(codes, (code) => fencedFor(code, ctx.version, 3)));
  },
});
