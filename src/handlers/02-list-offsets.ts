/**
 * ListOffsets (2), v1-8.
 *
 * Behavior: per partition, timestamp -2 gives the log start offset, -1 the high watermark (the
 * last stable offset is the same until transactions exist), -3 (v7+) the offset and time of the
 * record with the largest timestamp, -4 (v8+, earliest local) the log start offset, and any other
 * timestamp the first record whose timestamp is >= it, or -1 with timestamp -1 when none is. The
 * log finds the batch from its in-memory table; the record inside it is found by decoding that one
 * batch (decompressing it if needed; a zstd batch, which franz cannot decompress yet, is answered
 * with its first offset).
 * Version notes: v2 adds isolation level; v4 leader epochs; v6 is flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import type { Handler } from './registry.js';
import type { Log } from '../storage/log.js';
import { decodeRecordBatches } from '../records/record-batch.js';

/** Narrows a batch-level hit to the first record of that batch matching `accept`. */
function refine(
  log: Log,
  hit: { offset: number; timestamp: number },
  accept: (recordTimestamp: number) => boolean,
): { offset: number; timestamp: number } {
  try {
    const { batches } = decodeRecordBatches(log.readBytes(hit.offset, 1), { verifyCrc: false });
    const b = batches[0];
    if (b === undefined) return hit;
    // LogAppendTime: every record of the batch carries the batch's time.
    if (b.logAppendTime) return { offset: Math.max(b.baseOffset, log.logStartOffset), timestamp: b.maxTimestamp };
    for (const r of b.records) {
      if (r.offset >= log.logStartOffset && accept(r.timestamp)) return { offset: r.offset, timestamp: r.timestamp };
    }
  } catch {
    // A batch we cannot decode (zstd): batch granularity.
  }
  return hit;
}

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
        if (log === undefined) return { ...out, errorCode: broker.missingPartitionError(t.name, p.partitionIndex), leaderEpoch: -1 };
        if (log.offlineError !== null) return { ...out, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
        const ts = p.timestamp as number;
        if (ts === LATEST) return { ...out, offset: log.highWatermark };
        if (ts === EARLIEST || ts === EARLIEST_LOCAL) return { ...out, offset: log.logStartOffset };
        if (ts === MAX_TIMESTAMP) {
          const hit = log.maxTimestampOffset();
          if (hit === null) return out;
          const r = refine(log, hit, (t) => t === hit.timestamp);
          return { ...out, offset: r.offset, timestamp: r.timestamp };
        }
        if (ts < 0) return { ...out, errorCode: ErrorCode.UNSUPPORTED_VERSION };
        const hit = log.offsetForTimestamp(ts);
        if (hit === null) return out;
        const r = refine(log, hit, (t) => t >= ts);
        return { ...out, offset: r.offset, timestamp: r.timestamp };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
};
