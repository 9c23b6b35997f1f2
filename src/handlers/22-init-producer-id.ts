/**
 * InitProducerId (22), v0-5.
 *
 * Behavior: without a transactional id, hands an idempotent producer a fresh producer id with
 * epoch 0. Ids come from blocks persisted before use, so an id is never handed out twice, even
 * across crashes. A producer that passes its current id and epoch (v3+, after a fatal error) gets
 * the same id with the epoch bumped.
 * With a transactional id, the id's transaction coordinator answers (NOT_COORDINATOR on another
 * broker): the id's producer id with a bumped epoch, which fences older instances; an open
 * transaction of the old epoch is aborted first (the client is told CONCURRENT_TRANSACTIONS and
 * retries); a timeout above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT.
 * Version notes: v2+ flexible from v2; v3 adds producerId/producerEpoch in the request.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/22-init-producer-id.js';
import { defineHandler } from './registry.js';
import { fencedFor } from './txn-errors.js';

/** The largest epoch a bump may reach: Kafka keeps Short.MAX_VALUE - 1 for its own fencing. */
const MAX_BUMPED_EPOCH = 32766;

export const initProducerId = defineHandler(spec, {
  versions: [0, 5],
  async handle(ctx, req) {
    const pid = req.producerId;
    const epoch = req.producerEpoch;
    if (req.transactionalId !== null && req.transactionalId !== '') {
      const txns = ctx.transactions;
      const elsewhere = txns.notCoordinator(req.transactionalId);
      if (elsewhere !== null) return { throttleTimeMs: 0, errorCode: elsewhere, producerId: -1, producerEpoch: -1 };
      const r = await txns.coordinator.initProducerId(
        req.transactionalId,
        req.transactionTimeoutMs,
        pid >= 0 ? { producerId: pid, producerEpoch: epoch } : undefined,
      );
      return { throttleTimeMs: 0, ...r, errorCode: fencedFor(r.errorCode, ctx.version, 4) };
    }
    if (pid >= 0 && epoch >= 0 && epoch < MAX_BUMPED_EPOCH) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: epoch + 1 };
    }
    const producerId = ctx.producerIds.allocate();
    // A cluster broker between id blocks: the client retries, as it does while Kafka's manager waits for a block.
    if (producerId === null)
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producerId: -1, producerEpoch: -1 };
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
});
