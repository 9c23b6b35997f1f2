/**
 * ListPartitionReassignments (46), v0.
 *
 * Behavior: the partition moves in progress (cluster/reassignment.ts) among the partitions asked
 * for, or all of them when topics is null: every replica the partition has during the move, and
 * those being added and removed. Partitions not being moved, and unknown ones, are left out, as
 * Kafka does. A single node never has a move in progress.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/46-list-partition-reassignments.js';
import { groupByTopic } from '../metadata/group-by-topic.js';
import { defineHandler } from './registry.js';

export const listPartitionReassignments = defineHandler(spec, {
  versions: [0, 0],
  handle(ctx, req) {
    const asked =
      req.topics === null ? null : req.topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
    const moves = ctx.topics.listPartitionReassignments(asked);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [...groupByTopic(moves)].map(([name, list]) => ({
        name,
        partitions: list.map((m) => ({
          partitionIndex: m.partition,
          replicas: [...m.replicas],
          addingReplicas: [...m.adding],
          removingReplicas: [...m.removing],
        })),
      })),
    };
  },
});
