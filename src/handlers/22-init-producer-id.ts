/**
 * InitProducerId (22), v0-5.
 *
 * Behavior: hands an idempotent producer a fresh producer id with epoch 0. Ids come from blocks
 * persisted before use, so an id is never handed out twice, even across crashes. A producer that
 * passes its current id and epoch (v3+, after a fatal error) gets the same id with the epoch bumped.
 * A transactional id is refused until transactions are implemented, with INVALID_REQUEST: clients
 * treat it as fatal and say so, where COORDINATOR_NOT_AVAILABLE made them retry forever in silence.
 * The broker logs the first such request.
 * Version notes: v2+ flexible from v2; v3 adds producerId/producerEpoch in the request.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/22-init-producer-id.js';
import { defineHandler } from './registry.js';

/** The largest epoch a bump may reach: Kafka keeps Short.MAX_VALUE - 1 for its own fencing. */
const MAX_BUMPED_EPOCH = 32766;
let loggedTransactionalRefusal = false;

export const initProducerId = defineHandler(spec, {
  versions: [0, 5],
  handle(ctx, req) {
    if (req.transactionalId !== null && req.transactionalId !== '') {
      if (!loggedTransactionalRefusal) {
        loggedTransactionalRefusal = true;
        ctx.log.warn('a producer asked for a transactional id; transactions are not supported yet (INVALID_REQUEST)', {
          transactionalId: req.transactionalId,
          peer: ctx.peer,
        });
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1 };
    }
    const pid = req.producerId;
    const epoch = req.producerEpoch;
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
