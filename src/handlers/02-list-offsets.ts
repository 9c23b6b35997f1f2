/**
 * ListOffsets (2), v1-8.
 *
 * Behavior: per partition, timestamp -2 gives the log start offset, -1 the high watermark (at
 * read_committed, the last stable offset), -3 (v7+) the offset and time of the
 * record with the largest timestamp, -4 (v8+, earliest local) the log start offset, and any other
 * timestamp the first record whose timestamp is >= it, or -1 with timestamp -1 when none is
 * (Log.offsetForTimestamp and Log.maxTimestampOffset find the record).
 * Version notes: v2 adds isolation level; v4 leader epochs; v6 is flexible.
 */
import { ListOffsetsTimestamp } from '../protocol/constants.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/02-list-offsets.js';
import { checkLeaderEpoch } from './leader-epoch.js';
import { defineHandler } from './registry.js';

const { LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL } = ListOffsetsTimestamp;

export const listOffsets = defineHandler(spec, {
  versions: [1, 8],
  handle(ctx, req) {
    const { logs } = ctx;
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const out = {
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.NONE,
          timestamp: -1,
          offset: -1,
          leaderEpoch: logs.leaderEpochOf(t.name, p.partitionIndex),
        };
        const log = logs.partition(t.name, p.partitionIndex);
        if (log === undefined) return { ...out, errorCode: logs.missingPartitionError(t.name, p.partitionIndex), leaderEpoch: -1 };
        const fenced = checkLeaderEpoch(p.currentLeaderEpoch, out.leaderEpoch);
        if (fenced !== null) return { ...out, errorCode: fenced };
        if (log.offlineError !== null) return { ...out, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
        const ts = p.timestamp;
        // read_committed (isolation level 1, v2+) sees the log only up to its last stable offset.
        if (ts === LATEST) return { ...out, offset: req.isolationLevel === 1 ? log.lastStableOffset : log.highWatermark };
        if (ts === EARLIEST || ts === EARLIEST_LOCAL) return { ...out, offset: log.logStartOffset };
        if (ts < 0 && ts !== MAX_TIMESTAMP) return { ...out, errorCode: ErrorCode.UNSUPPORTED_VERSION };
        const hit = ts === MAX_TIMESTAMP ? log.maxTimestampOffset() : log.offsetForTimestamp(ts);
        return hit === null ? out : { ...out, offset: hit.offset, timestamp: hit.timestamp };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
