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
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/00-produce.js';
import type { DecodedRequest, Elem, ResponseBody } from '../protocol/schema.js';
import { defineHandler, type RequestContext } from './registry.js';

type PartitionData = Elem<Elem<DecodedRequest<typeof spec>['topicData']>['partitionData']>;
type PartitionResult = Elem<Elem<ResponseBody<typeof spec>['responses']>['partitionResponses']>;

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

function appendPartition(ctx: RequestContext, topic: string, p: PartitionData, acks: number, waits: Promise<void>[]): PartitionResult {
  const { logs, topics } = ctx;
  const index = p.index;
  let log = logs.partition(topic, index);
  if (log === undefined && topics.get(topic) === undefined && topics.autoCreate(topic) !== undefined) {
    log = logs.partition(topic, index);
  }
  if (log === undefined) return failed(index, logs.missingPartitionError(topic, index));
  const records = p.records;
  if (records === null || records.length === 0) return failed(index, ErrorCode.CORRUPT_MESSAGE, 'empty record set');
  // Validation, policy (zstd before v7, unknown codecs, transactions) and the append, stamped with
  // LogAppendTime when the topic asks for it: LogValidator (storage/log-validator.ts).
  const r = log.appendAsLeader(records, { apiVersion: ctx.version, leaderEpoch: logs.leaderEpochOf(topic, index) });
  if (r.errorCode !== ErrorCode.NONE) return failed(index, r.errorCode, r.errorMessage);
  if (acks !== 0 && log.config.durable) waits.push(log.flushTo(r.lastOffset + 1));
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: r.baseOffset,
    logAppendTimeMs: r.logAppendTimeMs,
    logStartOffset: r.logStartOffset,
    recordErrors: [],
    errorMessage: null,
  };
}

export const produce = defineHandler(spec, {
  versions: [3, 11],
  advertisedMin: 0,
  releasesRequestBytes: true,
  handle(ctx, req) {
    const { acks, transactionalId: txn } = req;
    const waits: Promise<void>[] = [];
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => {
        if (acks !== 0 && acks !== 1 && acks !== -1) return failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS);
        if (txn !== null) return failed(p.index, ErrorCode.INVALID_TXN_STATE, 'transactions are not supported yet');
        return appendPartition(ctx, t.name, p, acks, waits);
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
});
