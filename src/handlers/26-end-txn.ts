/**
 * EndTxn (26), v0-5.
 *
 * Behavior: commits or aborts the producer's Ongoing transaction. The coordinator stores
 * PrepareCommit or PrepareAbort first (from then on the outcome survives a crash), writes the
 * markers to every partition of the transaction, stores CompleteCommit or CompleteAbort, and only
 * then answers, so that a read_committed consumer sees the transaction's records as soon as the
 * producer is told. A retry of an EndTxn that completed is answered NONE; ending a transaction
 * that is not Ongoing is INVALID_TXN_STATE; an older epoch PRODUCER_FENCED.
 * v5 is transactions v2 (KIP-890): every end bumps the producer's epoch (its markers carry the new
 * one, fencing late writes of the transaction), the answer names the producer id and epoch of the
 * next transaction, an abort with nothing open is allowed, and a retry names the epoch before the
 * bump (TransactionCoordinator.endTransactionBumping).
 * Version notes: v2 PRODUCER_FENCED; v3 flexible; v5 transactions v2, producer id and epoch answered.
 */
import { spec } from '../protocol/messages/26-end-txn.js';
import { defineHandler } from './registry.js';
import { fencedFor } from './txn-errors.js';

export const endTxn = defineHandler(spec, {
  versions: [0, 5],
  async handle(ctx, req) {
    const txns = ctx.transactions;
    const elsewhere = txns.notCoordinator(req.transactionalId);
    if (elsewhere !== null) return { throttleTimeMs: 0, errorCode: elsewhere, producerId: -1, producerEpoch: -1 };
    if (ctx.version >= 5) {
      const r = await txns.coordinator.endTransactionBumping(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
      return { throttleTimeMs: 0, ...r };
    }
    const code = await txns.coordinator.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: fencedFor(code, ctx.version, 2), producerId: -1, producerEpoch: -1 };
  },
});
