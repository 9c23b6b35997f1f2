/**
 * EndTxn (26), v0-4.
 *
 * Behavior: commits or aborts the producer's Ongoing transaction. The coordinator stores
 * PrepareCommit or PrepareAbort first (from then on the outcome survives a crash), writes the
 * markers to every partition of the transaction, stores CompleteCommit or CompleteAbort, and only
 * then answers, so that a read_committed consumer sees the transaction's records as soon as the
 * producer is told. A retry of an EndTxn that completed is answered NONE; ending a transaction
 * that is not Ongoing is INVALID_TXN_STATE; an older epoch PRODUCER_FENCED.
 * Version notes: v2 PRODUCER_FENCED; v3 flexible. v5 (transactions v2, KIP-890, which bumps the
 * epoch on every end) is not served: franz does not advertise transaction.version 2, so clients
 * keep to v4.
 */
import { spec } from '../protocol/messages/26-end-txn.js';
import { defineHandler } from './registry.js';
import { fencedFor } from './txn-errors.js';

export const endTxn = defineHandler(spec, {
  versions: [0, 4],
  async handle(ctx, req) {
    const txns = ctx.transactions;
    const elsewhere = txns.notCoordinator(req.transactionalId);
    if (elsewhere !== null) return { throttleTimeMs: 0, errorCode: elsewhere, producerId: -1, producerEpoch: -1 };
    const code = await txns.coordinator.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: fencedFor(code, ctx.version, 2), producerId: -1, producerEpoch: -1 };
  },
});
