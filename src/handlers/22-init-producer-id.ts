/**
 * InitProducerId (22), v0-5.
 *
 * Behavior: hands an idempotent producer a fresh producer id with epoch 0. Ids come from blocks
 * persisted before use, so an id is never handed out twice, even across crashes. A producer that
 * passes its current id and epoch (v3+, after a fatal error) gets the same id with the epoch bumped.
 * Transactional ids are refused with COORDINATOR_NOT_AVAILABLE until transactions are implemented.
 * Version notes: v2+ flexible from v2; v3 adds producerId/producerEpoch in the request.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler } from './registry.js';

export const initProducerId: Handler = {
  apiKey: 22,
  versions: [0, 5],
  handle(ctx, req) {
    if (req.transactionalId !== null && req.transactionalId !== '') {
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
    const pid = req.producerId as number;
    const epoch = req.producerEpoch as number;
    if (pid >= 0 && epoch >= 0 && epoch < 32766) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: epoch + 1 };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: ctx.broker.allocateProducerId(), producerEpoch: 0 };
  },
};
