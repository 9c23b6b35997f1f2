/**
 * ListOffsets (2), v1-8.
 *
 * Behavior: per partition, timestamp -2 gives the log start offset, -1 the high watermark (the
 * last stable offset is the same until transactions exist), -3 (v7+) the offset and time of the
 * record with the largest timestamp, -4 (v8+, earliest local) the log start offset, and any other
 * timestamp the first offset whose batch timestamp is >= it, or -1 with timestamp -1 when none is.
 * Version notes: v2 adds isolation level; v4 leader epochs; v6 is flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import type { Handler } from './registry.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;

export const listOffsets: Handler = {
  apiKey: 2,
  versions: [1, 8],
  handle(ctx, req) {
    const { broker } = ctx;
    const topics = (req.topics as Message[]).map((t) => ({
      name: t.name,
      partitions: (t.partitions as Message[]).map((p): Message => {
        const out = { partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1, offset: -1, leaderEpoch: broker.leaderEpoch };
        const log = broker.partition(t.name, p.partitionIndex);
        if (log === undefined) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1 };
        if (log.offlineError !== null) return { ...out, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
        const ts = p.timestamp as number;
        if (ts === LATEST) return { ...out, offset: log.highWatermark };
        if (ts === EARLIEST || ts === EARLIEST_LOCAL) return { ...out, offset: log.logStartOffset };
        if (ts === MAX_TIMESTAMP) {
          const hit = log.maxTimestampOffset();
          return hit === null ? out : { ...out, offset: hit.offset, timestamp: hit.timestamp };
        }
        if (ts < 0) return { ...out, errorCode: ErrorCode.UNSUPPORTED_VERSION };
        const hit = log.offsetForTimestamp(ts);
        return hit === null ? out : { ...out, offset: hit.offset, timestamp: hit.timestamp };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
};
