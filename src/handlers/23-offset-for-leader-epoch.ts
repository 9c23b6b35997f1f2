/**
 * OffsetForLeaderEpoch (23), v2-4.
 *
 * Behavior: for each partition this broker leads, the largest leader epoch at or below the one
 * asked for that its log has, and the offset where that epoch's records end (the start of the next
 * epoch, or the log end offset for the latest): how a follower of a cluster finds the point its
 * log and its new leader's part ways before it truncates (KIP-101, KIP-279), and how a consumer
 * detects truncation (KIP-320). UNDEFINED (-1, -1) when the log has no epoch that old. A current
 * leader epoch older than the partition's is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH.
 * Version notes: v3 adds the replica id; v4 flexible.
 */
import { checkLeaderEpoch } from './leader-epoch.js';
import { spec } from '../protocol/messages/23-offset-for-leader-epoch.js';
import { defineHandler } from './registry.js';

export const offsetForLeaderEpoch = defineHandler(spec, {
  versions: [2, 4],
  handle(ctx, req) {
    const { logs } = ctx;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const none = { partition: p.partition, leaderEpoch: -1, endOffset: -1 };
          const log = logs.partition(t.topic, p.partition);
          if (log === undefined) return { ...none, errorCode: logs.missingPartitionError(t.topic, p.partition) };
          const fenced = checkLeaderEpoch(p.currentLeaderEpoch, logs.leaderEpochOf(t.topic, p.partition));
          if (fenced !== null) return { ...none, errorCode: fenced };
          const [leaderEpoch, endOffset] = log.epochs.endOffsetFor(p.leaderEpoch, log.logEndOffset);
          return { partition: p.partition, errorCode: 0, leaderEpoch, endOffset };
        }),
      })),
    };
  },
});
