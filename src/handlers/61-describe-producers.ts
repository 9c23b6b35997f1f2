/**
 * DescribeProducers (61), v0.
 *
 * Behavior: the partition leader's view of the producers that wrote to each partition (what
 * kafka-transactions.sh describe-producers shows, to find a hanging transaction): producer id and
 * epoch, last sequence and timestamp, and the first offset of the producer's open transaction
 * there (-1 when none). A partition this broker does not lead gets the partition's error
 * (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION). The coordinator epoch is not kept per
 * producer here: -1.
 */
import { spec } from '../protocol/messages/61-describe-producers.js';
import { ErrorCode } from '../protocol/errors.js';
import { defineHandler } from './registry.js';

export const describeProducers = defineHandler(spec, {
  versions: [0, 0],
  handle(ctx, req) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const log = ctx.logs.partition(t.name, p);
          if (log === undefined) {
            return { partitionIndex: p, errorCode: ctx.logs.missingPartitionError(t.name, p), errorMessage: null, activeProducers: [] };
          }
          return {
            partitionIndex: p,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: log.producers.activeProducers().map((a) => ({
              producerId: a.producerId,
              producerEpoch: a.epoch,
              lastSequence: a.lastSequence,
              lastTimestamp: a.lastTimestamp,
              coordinatorEpoch: -1,
              currentTxnStartOffset: a.txnStartOffset,
            })),
          };
        }),
      })),
    };
  },
});
