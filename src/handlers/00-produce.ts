/**
 * Produce (0), v3-11 served, v0-11 advertised (Kafka 4 advertises 0 so that older librdkafka keeps
 * its features on, and refuses v0-2 requests; we never see them as we close such connections).
 *
 * Behavior: each partition's payload is validated whole by the addon (sizes, magic 2, CRC-32C, each
 * batch within max.message.bytes) before anything is written: one bad batch fails that partition's
 * payload and nothing of it is appended. Idempotent batches are checked against the producer's
 * sequence numbers (a retry is answered with its original offsets). In durable mode acks=1/all wait
 * for the group-commit fsync; acks=0 gets no response at all.
 * Buffer lifetime (releasesRequestBytes): everything this handler does with the request's bytes
 * (validation, the LogAppendTime stamp, the append) happens before handle() returns, and nothing
 * it returns or keeps refers to them, so the connection gives the request's buffer to the
 * FramePool for a later request to fill. Work that needs the bytes later must copy them.
 * Version notes: v3 adds transactional id; v5 log start offset; v7 allows zstd; v8 record errors and
 * error message; v9 flexible; v10 leader hints (tagged).
 */
import * as native from '../native/index.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import type { Handler, RequestContext } from './registry.js';

const ZSTD = 4;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;

/**
 * message.timestamp.type=LogAppendTime: the broker sets each batch's max timestamp to the append
 * time and flags the timestamp type, as Kafka does for v2 batches. Both fields are inside the
 * CRC'd range, so the CRC is recomputed. Returns the time used.
 */
function stampLogAppendTime(records: Buffer, batches: Float64Array): number {
  const now = Date.now();
  for (let i = 0; i < batches.length; i += native.BATCH_STRIDE) {
    const at = batches[i + native.B_POSITION]!;
    const size = batches[i + native.B_SIZE]!;
    records.writeInt16BE(records.readInt16BE(at + 21) | TIMESTAMP_TYPE_LOG_APPEND, at + 21);
    records.writeBigInt64BE(BigInt(now), at + 35);
    records.writeUInt32BE(native.crc32c(records.subarray(at + 21, at + size)), at + 17);
    batches[i + native.B_MAX_TIMESTAMP] = now;
  }
  return now;
}

interface PartitionResult {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: Message[];
  errorMessage: string | null;
}

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

function appendPartition(ctx: RequestContext, topic: string, p: Message, acks: number, waits: Promise<void>[]): PartitionResult {
  const { broker } = ctx;
  const index = p.index as number;
  let log = broker.partition(topic, index);
  if (log === undefined && broker.topics.get(topic) === undefined && broker.autoCreate(topic) !== undefined) {
    log = broker.partition(topic, index);
  }
  if (log === undefined) return failed(index, broker.missingPartitionError(topic, index));
  const records = p.records as Buffer | null;
  if (records === null || records.length === 0) return failed(index, ErrorCode.CORRUPT_MESSAGE, 'empty record set');
  const v = native.validateBatches(records, log.config.maxMessageBytes);
  if (v.errorCode !== ErrorCode.NONE) return failed(index, v.errorCode);
  if (ctx.version < 7) {
    for (let i = 0; i < v.batches.length; i += native.BATCH_STRIDE) {
      if ((v.batches[i + native.B_ATTRIBUTES]! & 7) === ZSTD) return failed(index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    }
  }
  for (let i = 0; i < v.batches.length; i += native.BATCH_STRIDE) {
    if ((v.batches[i + native.B_ATTRIBUTES]! & 7) > ZSTD) return failed(index, ErrorCode.CORRUPT_MESSAGE, 'unknown compression codec');
    if ((v.batches[i + native.B_ATTRIBUTES]! & 0x10) !== 0) {
      return failed(index, ErrorCode.INVALID_TXN_STATE, 'transactional batches are not supported yet');
    }
  }
  const logAppendTime = log.config.logAppendTime ? stampLogAppendTime(records, v.batches) : -1;
  const r = log.append(records, v.batches, broker.leaderEpoch);
  if (r.errorCode !== ErrorCode.NONE) return failed(index, r.errorCode, r.errorMessage);
  if (acks !== 0 && log.config.durable) waits.push(log.flushTo(r.lastOffset + 1));
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: r.baseOffset,
    logAppendTimeMs: logAppendTime,
    logStartOffset: log.logStartOffset,
    recordErrors: [],
    errorMessage: null,
  };
}

export const produce: Handler = {
  apiKey: 0,
  versions: [3, 11],
  advertisedMin: 0,
  releasesRequestBytes: true,
  handle(ctx, req) {
    const acks = req.acks as number;
    const topicData = req.topicData as Message[];
    const txn = req.transactionalId as string | null;
    const waits: Promise<void>[] = [];
    const responses = topicData.map((t) => ({
      name: t.name as string,
      partitionResponses: (t.partitionData as Message[]).map((p) => {
        if (acks !== 0 && acks !== 1 && acks !== -1) return failed(p.index as number, ErrorCode.INVALID_REQUIRED_ACKS);
        if (txn !== null) return failed(p.index as number, ErrorCode.INVALID_TXN_STATE, 'transactions are not supported yet');
        return appendPartition(ctx, t.name as string, p, acks, waits);
      }),
    }));
    if (acks === 0) return null;
    const body = { responses, throttleTimeMs: 0 };
    if (waits.length === 0) return body;
    return Promise.allSettled(waits).then((settled) => {
      if (settled.some((s) => s.status === 'rejected')) {
        // The fsync failed: the records may not be durable, so none of this request is acknowledged.
        for (const t of responses) {
          for (const p of t.partitionResponses) {
            if (p.errorCode === ErrorCode.NONE) Object.assign(p, failed(p.index, ErrorCode.KAFKA_STORAGE_ERROR, 'fsync failed'));
          }
        }
      }
      return body;
    });
  },
};
