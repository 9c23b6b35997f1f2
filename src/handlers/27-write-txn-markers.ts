/**
 * WriteTxnMarkers (27), v1: an inter-broker API. A transaction coordinator asks the leader of
 * each partition of a transaction to append its commit or abort marker; each partition is
 * answered once its marker is durable (fsynced, or in a cluster held by the ISR), with
 * NOT_LEADER_OR_FOLLOWER where this broker does not lead it (the coordinator retries with the
 * new leader) and UNKNOWN_TOPIC_OR_PARTITION for a partition that is gone.
 * Version notes: v0 is not advertised by Kafka 4; v1 is flexible.
 */
import { spec } from '../protocol/messages/27-write-txn-markers.js';
import { defineHandler } from './registry.js';

export const writeTxnMarkers = defineHandler(spec, {
  versions: [1, 1],
  async handle(ctx, req) {
    const markers = await Promise.all(
      req.markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (p) => ({
                partitionIndex: p,
                errorCode: await ctx.transactions.writeLocal(t.name, p, {
                  commit: m.transactionResult,
                  producerId: m.producerId,
                  producerEpoch: m.producerEpoch,
                  coordinatorEpoch: m.coordinatorEpoch,
                }),
              })),
            ),
          })),
        ),
      })),
    );
    return { markers };
  },
});
