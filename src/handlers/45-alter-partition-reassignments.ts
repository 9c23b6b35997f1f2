/**
 * AlterPartitionReassignments (45), v0-1.
 *
 * Behavior: each partition named gets its target replicas (the move is written as a
 * compare-and-swap on its etcd record and completed by the controller once the new replicas are
 * in sync: cluster/reassignment.ts), or with null replicas its move in progress is cancelled.
 * Per partition: NONE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty, repeated or
 * unregistered brokers), INVALID_REPLICATION_FACTOR (a size change with
 * allowReplicationFactorChange false), NO_REASSIGNMENT_IN_PROGRESS (a cancel with none). The
 * answer comes once the move is started, not finished (timeoutMs is accepted). On a single node
 * the only possible target is the node itself.
 * Version notes: v1 adds allowReplicationFactorChange (KIP-860), echoed in the response.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/45-alter-partition-reassignments.js';
import { groupByTopic } from '../metadata/group-by-topic.js';
import { defineHandler } from './registry.js';

export const alterPartitionReassignments = defineHandler(spec, {
  versions: [0, 1],
  async handle(ctx, req) {
    const changes = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })),
    );
    const results = await ctx.topics.alterPartitionReassignments(changes, req.allowReplicationFactorChange);
    return {
      throttleTimeMs: 0,
      allowReplicationFactorChange: req.allowReplicationFactorChange,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: [...groupByTopic(results)].map(([name, list]) => ({
        name,
        partitions: list.map((r) => ({ partitionIndex: r.partition, errorCode: r.errorCode, errorMessage: r.message })),
      })),
    };
  },
});
