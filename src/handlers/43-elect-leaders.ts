/**
 * ElectLeaders (43), v0-2.
 *
 * Behavior: for each partition asked for (every partition when the list is null, then reporting
 * only those that needed an election), the preferred replica (type 0, the first in the replica
 * list) becomes leader if it is alive and in sync, or (type 1, KIP-460) a live replica takes a
 * partition that has no live leader, an in-sync one first. Per partition: NONE,
 * ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE or
 * UNKNOWN_TOPIC_OR_PARTITION. In a cluster the receiving broker writes the new leadership to etcd
 * itself (compare-and-swap; Kafka forwards to its controller); on a single node there is never an
 * election to hold. The answer comes once the change is written, not waiting for the new leader
 * to take over (timeoutMs is accepted).
 * Version notes: v1 adds the election type and a top-level error code; v2 flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/43-elect-leaders.js';
import { groupByTopic } from '../metadata/group-by-topic.js';
import { defineHandler } from './registry.js';

export const electLeaders = defineHandler(spec, {
  versions: [0, 2],
  async handle(ctx, req) {
    const type = req.electionType;
    if (type !== 0 && type !== 1) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
    const asked =
      req.topicPartitions === null
        ? null
        : req.topicPartitions.flatMap((t) => t.partitionId.map((partition) => ({ topic: t.topic, partition })));
    const results = await ctx.topics.electLeaders(type, asked);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      replicaElectionResults: [...groupByTopic(results)].map(([topic, list]) => ({
        topic,
        partitionResult: list.map((r) => ({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.message })),
      })),
    };
  },
});
