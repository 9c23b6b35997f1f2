/**
 * Produce (0), v3-11 served, v0-11 advertised (Kafka 4 advertises 0 so that older librdkafka keeps
 * its features on, and refuses v0-2 requests; we never see them as we close such connections).
 *
 * Behavior: each partition's payload is validated whole by the addon (sizes, magic 2, CRC-32C, each
 * batch within max.message.bytes) before anything is written: one bad batch fails that partition's
 * payload and nothing of it is appended. Idempotent batches are checked against the producer's
 * sequence numbers (a retry is answered with its original offsets). Transactional batches need
 * the request's transactional id and a transaction that holds the partition, as the id's
 * coordinator (this broker or another) tells: INVALID_TXN_STATE otherwise; from v12, with
 * transaction.version 2, the partition joins the transaction instead (KIP-890). In durable mode acks=1/all wait
 * for the group-commit fsync; acks=0 gets no response at all. In a cluster, acks=all needs an ISR of
 * at least min.insync.replicas (NOT_ENOUGH_REPLICAS) and waits for the high watermark to pass the
 * records (REQUEST_TIMED_OUT after the request's timeout).
 * Buffer lifetime (releasesRequestBytes): everything this handler does with the request's bytes
 * (validation, the LogAppendTime stamp, the append) happens before handle() returns, and nothing
 * it returns or keeps refers to them, so the connection gives the request's buffer to the
 * FramePool for a later request to fill. Work that needs the bytes later must copy them.
 * Version notes: v3 adds transactional id; v5 log start offset; v7 allows zstd; v8 record errors and
 * error message; v9 flexible; v10 leader hints (tagged); v11 TRANSACTION_ABORTABLE; v12 adds the
 * partition to the transaction (transactions v2).
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/00-produce.js';
import type { DecodedRequest, Elem, ResponseBody } from '../protocol/schema.js';
import { BASE_SEQUENCE_AT, BATCH_HEADER_BYTES, PRODUCER_EPOCH_AT, PRODUCER_ID_AT } from '../records/record-batch.js';
import type { MutableProduceEvent } from '../records/trace-records.js';
import type { AppendResult, Log } from '../storage/log.js';
import { clientHost, defineHandler, type RequestContext } from './registry.js';

type PartitionData = Elem<Elem<DecodedRequest<typeof spec>['topicData']>['partitionData']>;
type PartitionResult = Elem<Elem<ResponseBody<typeof spec>['responses']>['partitionResponses']>;

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

/** What a partition's acknowledgement waits for: NONE, or the error the partition is answered with instead. */
type AckWait = { result: PartitionResult; done: Promise<number> };

/**
 * The answer to a producer whose transaction could not be checked, as Kafka's leaders give it: a
 * coordinator that cannot be reached or is moving becomes NOT_ENOUGH_REPLICAS, which producers
 * retry without refreshing metadata; CONCURRENT_TRANSACTIONS stays itself only for transactions
 * v2 producers, which expect it while their previous transaction completes.
 */
function admissionError(code: number, v2: boolean): { errorCode: number; errorMessage: string | null } {
  switch (code) {
    case ErrorCode.PRODUCER_FENCED:
      return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, errorMessage: null };
    case ErrorCode.INVALID_TXN_STATE:
      return { errorCode: code, errorMessage: 'Partition was not added to the transaction' };
    case ErrorCode.CONCURRENT_TRANSACTIONS:
      if (v2) return { errorCode: code, errorMessage: null };
      return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, errorMessage: 'the transaction coordinator is busy with the transaction' };
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.NETWORK_EXCEPTION:
      return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, errorMessage: `could not reach the transaction coordinator (error ${code})` };
    default:
      return { errorCode: code, errorMessage: null };
  }
}

/**
 * Message trace: the produce event of this payload, made before the append (the request's bytes
 * are given back once handle() returns) and completed with its offsets after; undefined when the
 * topic is not traced or the batch is not sampled. Always the same shape (absent fields
 * undefined, which JSON leaves out), so the hot path stays monomorphic.
 */
function traceOf(ctx: RequestContext, topic: string, p: PartitionData, transactionalId: string | null): MutableProduceEvent | undefined {
  const ratio = ctx.trace.produceRatio(topic);
  if (ratio <= 0 || (ratio < 1 && Math.random() >= ratio)) return undefined;
  const records = p.records;
  if (records === null || records.length < BATCH_HEADER_BYTES) return undefined;
  const producerId = Number(records.readBigInt64BE(PRODUCER_ID_AT));
  const idempotent = producerId >= 0;
  return {
    type: 'produce',
    topic,
    partition: p.index,
    first: -1,
    last: -1,
    records: 0,
    bytes: records.length,
    time: Date.now(),
    client: ctx.header.clientId ?? '',
    address: clientHost(ctx),
    producerId: idempotent ? producerId : undefined,
    producerEpoch: idempotent ? records.readInt16BE(PRODUCER_EPOCH_AT) : undefined,
    sequence: idempotent ? records.readInt32BE(BASE_SEQUENCE_AT) : undefined,
    transactionalId: transactionalId ?? undefined,
    more: undefined,
  };
}

/** Produce v12+ adds partitions to transactions when transaction.version 2 is finalized (KIP-890). */
function transactionsV2(ctx: RequestContext): boolean {
  return ctx.version >= 12 && ctx.config.num('franz.transaction.version') >= 2;
}

/**
 * A transactional request's partitions, checked with the transaction's coordinator together
 * (Transactions.admit): each must be in the producer's open transaction (AddPartitionsToTxn came
 * first, v1) or is added now (transactions v2). One write to `__transaction_state`, or one
 * request to the coordinator elsewhere, for all of them. Partitions this broker has no log for
 * are left out (they fail, or are made, in appendPartition).
 */
function admitPartitions(
  ctx: RequestContext,
  transactionalId: string,
  parts: ReadonlyArray<{ topic: string; p: PartitionData }>,
): Map<PartitionData, number | Promise<number>> {
  const out = new Map<PartitionData, number | Promise<number>>();
  // By producer: a request normally holds one producer's batches (Kafka refuses more than one).
  const byProducer = new Map<string, Array<{ topic: string; p: PartitionData; log: Log }>>();
  for (const { topic, p } of parts) {
    const log = ctx.logs.partition(topic, p.index);
    const records = p.records;
    if (log === undefined || records === null || records.length < BATCH_HEADER_BYTES) continue;
    const key = `${records.readBigInt64BE(PRODUCER_ID_AT)}:${records.readInt16BE(PRODUCER_EPOCH_AT)}`;
    const list = byProducer.get(key);
    if (list === undefined) byProducer.set(key, [{ topic, p, log }]);
    else list.push({ topic, p, log });
  }
  const v2 = transactionsV2(ctx);
  for (const list of byProducer.values()) {
    const first = list[0]!.p.records!;
    const producerId = Number(first.readBigInt64BE(PRODUCER_ID_AT));
    const producerEpoch = first.readInt16BE(PRODUCER_EPOCH_AT);
    const partitions = list.map((x) => ({ topic: x.topic, partition: x.p.index }));
    const codes = ctx.transactions.admit(transactionalId, producerId, producerEpoch, partitions, v2, (tp) =>
      list[partitions.indexOf(tp)]!.log.producers.inTransaction(producerId, producerEpoch),
    );
    for (let i = 0; i < list.length; i++) out.set(list[i]!.p, codes[i]!);
  }
  return out;
}

function appendPartition(
  ctx: RequestContext,
  topic: string,
  p: PartitionData,
  acks: number,
  timeoutMs: number,
  waits: AckWait[],
  transactionalId: string | null,
  admission: number | Promise<number> | undefined,
): PartitionResult | Promise<PartitionResult> {
  const { logs, topics } = ctx;
  const index = p.index;
  let log = logs.partition(topic, index);
  if (log === undefined && topics.get(topic) === undefined && topics.autoCreate(topic) !== undefined) {
    log = logs.partition(topic, index);
  }
  if (log === undefined) return failed(index, logs.missingPartitionError(topic, index));
  if (acks === -1) {
    const notEnough = logs.acksAllError(topic, index);
    if (notEnough !== ErrorCode.NONE) return failed(index, notEnough);
  }
  const records = p.records;
  if (records === null || records.length === 0) return failed(index, ErrorCode.CORRUPT_MESSAGE, 'empty record set');
  let admitted: Promise<{ errorCode: number; errorMessage: string | null }> | undefined;
  if (transactionalId !== null && records.length >= BATCH_HEADER_BYTES) {
    // The transaction must hold the partition (see admitPartitions); a partition made by this
    // request (auto-created) is asked about alone. A short payload is left to validation to refuse.
    const v2 = transactionsV2(ctx);
    const check = admission ?? admitPartitions(ctx, transactionalId, [{ topic, p }]).get(p)!;
    if (typeof check !== 'number') admitted = check.then((code) => admissionError(code, v2));
    else if (check !== ErrorCode.NONE) {
      const e = admissionError(check, v2);
      return failed(index, e.errorCode, e.errorMessage);
    }
  }
  const traced = traceOf(ctx, topic, p, transactionalId);
  const trace = ctx.trace;
  // Validation, policy (zstd before v7, unknown codecs, control batches, the transactional bit
  // without a transactional id, keyless records for a compacted topic) and the append, stamped
  // with LogAppendTime when the topic asks for it: LogValidator (storage/log-validator.ts). When
  // the topic's compression.type names another codec, the append waits for a worker to
  // recompress the batches (Log.appendFromClient).
  const appended = log.appendFromClient(
    records,
    { apiVersion: ctx.version, leaderEpoch: logs.leaderEpochOf(topic, index), transactional: transactionalId !== null },
    admitted,
  );
  const answer = (r: AppendResult): PartitionResult => {
    if (traced !== undefined && r.errorCode === ErrorCode.NONE && !r.duplicate) {
      traced.first = r.baseOffset;
      traced.last = r.lastOffset;
      traced.records = r.lastOffset - r.baseOffset + 1;
      trace.produced(traced);
    }
    return acknowledge(log, r, index, acks, timeoutMs, waits, logs.replicated);
  };
  return appended instanceof Promise ? appended.then(answer) : answer(appended);
}

/** The partition's answer for an append, and what its acknowledgement waits for (pushed to `waits`). */
function acknowledge(
  log: Log,
  r: AppendResult,
  index: number,
  acks: number,
  timeoutMs: number,
  waits: AckWait[],
  replicated: boolean,
): PartitionResult {
  if (r.errorCode !== ErrorCode.NONE) return failed(index, r.errorCode, r.errorMessage);
  const result: PartitionResult = {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: r.baseOffset,
    logAppendTimeMs: r.logAppendTimeMs,
    logStartOffset: r.logStartOffset,
    recordErrors: [],
    errorMessage: null,
  };
  const end = r.lastOffset + 1;
  if (acks === -1 && replicated) {
    // acks=all in a cluster: answered once every in-sync replica has the records (the high
    // watermark passed them; in durable mode each of them has also fsynced), or REQUEST_TIMED_OUT;
    // NOT_LEADER_OR_FOLLOWER when the leadership ended first (the records may be truncated).
    const done = log
      .waitForHighWatermark(end, timeoutMs)
      .then((w) => (w === 'reached' ? ErrorCode.NONE : w === 'timed-out' ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_LEADER_OR_FOLLOWER));
    waits.push({ result, done });
  } else if (acks !== 0 && log.config.durable) {
    // A failed fsync: the records may not be durable, so they are not acknowledged.
    const done = log.flushTo(end).then(
      () => ErrorCode.NONE,
      () => ErrorCode.KAFKA_STORAGE_ERROR,
    );
    waits.push({ result, done });
  }
  return result;
}

export const produce = defineHandler(spec, {
  versions: [3, 12],
  advertisedMin: 0,
  releasesRequestBytes: true,
  handle(ctx, req) {
    const { acks, transactionalId: txn } = req;
    const waits: AckWait[] = [];
    const pending: Array<Promise<unknown>> = [];
    const admissions =
      txn === null || (acks !== 0 && acks !== 1 && acks !== -1)
        ? undefined
        : admitPartitions(
            ctx,
            txn,
            req.topicData.flatMap((t) => t.partitionData.map((p) => ({ topic: t.name, p }))),
          );
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => {
        if (acks !== 0 && acks !== 1 && acks !== -1) return failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS);
        const r = appendPartition(ctx, t.name, p, acks, req.timeoutMs, waits, txn, admissions?.get(p));
        if (!(r instanceof Promise)) return r;
        // Recompressed on a worker: the answer is filled in once appended.
        const slot = failed(p.index, ErrorCode.NONE);
        pending.push(r.then((result) => Object.assign(slot, result)));
        return slot;
      }),
    }));
    if (acks === 0) return null;
    const body = { responses, throttleTimeMs: 0 };
    if (pending === null && waits.length === 0) return body;
    return Promise.all(pending ?? [])
      .then(() => Promise.all(waits.map((w) => w.done)))
      .then((codes) => {
        codes.forEach((code, i) => {
          const w = waits[i]!;
          if (code !== ErrorCode.NONE)
            Object.assign(w.result, failed(w.result.index, code, code === ErrorCode.KAFKA_STORAGE_ERROR ? 'fsync failed' : null));
        });
        return body;
      });
  },
});
