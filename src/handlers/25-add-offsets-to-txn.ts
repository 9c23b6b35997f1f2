/**
 * AddOffsetsToTxn (25), v0-4.
 *
 * Behavior: before a transactional producer commits a group's offsets in its transaction
 * (TxnOffsetCommit, to the group coordinator), its transaction coordinator adds the group's
 * `__consumer_offsets` partition to the transaction, so that the commit or abort marker reaches
 * it and the offsets count only if the transaction commits. Errors as AddPartitionsToTxn.
 * Version notes: v2 PRODUCER_FENCED; v3 flexible.
 */
import { OFFSETS_TOPIC } from '../group/group-store.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/25-add-offsets-to-txn.js';
import { defineHandler } from './registry.js';
import { fencedFor } from './txn-errors.js';

export const addOffsetsToTxn = defineHandler(spec, {
  versions: [0, 4],
  async handle(ctx, req) {
    if (req.groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
    const txns = ctx.transactions;
    const elsewhere = txns.notCoordinator(req.transactionalId);
    if (elsewhere !== null) return { throttleTimeMs: 0, errorCode: elsewhere };
    const partition = ctx.groups.store.partitionFor(req.groupId);
    const code = await txns.coordinator.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, [
      { topic: OFFSETS_TOPIC, partition },
    ]);
    return { throttleTimeMs: 0, errorCode: fencedFor(code, ctx.version, 2) };
  },
});
