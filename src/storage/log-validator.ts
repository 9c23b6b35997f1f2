/**
 * LogValidator (Kafka's name): what a partition's leader does with records before they join its
 * log. Every write goes through it: a Produce request's partition payload, and the group
 * coordinator's records in `__consumer_offsets`. In one synchronous call:
 *
 * 1. validation, by the addon: whole v2 batches only, magic 2, CRC-32C, recordCount and
 *    lastOffsetDelta >= 0, each batch within max.message.bytes. Refused with the addon's code and
 *    no message: CORRUPT_MESSAGE, UNSUPPORTED_FOR_MESSAGE_FORMAT, MESSAGE_TOO_LARGE;
 * 2. policy, over the validated facts:
 *    - zstd before Produce v7: UNSUPPORTED_COMPRESSION_TYPE (clients that old cannot read it back);
 *    - a codec above zstd (4): CORRUPT_MESSAGE 'unknown compression codec';
 *    - control batches from a client: INVALID_RECORD (markers are the coordinator's);
 *    - the transactional bit in a request that names no transactional id: INVALID_TXN_STATE;
 *    - a record without a key for a compacted topic: INVALID_RECORD (Kafka's rule: compaction keeps
 *      records by key). Only compacted topics pay for decoding the records here;
 *    a single refused batch refuses the whole payload, and nothing of it is written;
 * 3. the append (Log.appendValidated, through the ValidatedLog port): producer sequence checks, offsets and leader epoch, and,
 *    when the topic's message.timestamp.type is LogAppendTime, the append time stamped into every
 *    batch by the addon in the same pass (timestamp-type bit, maxTimestamp, new CRC).
 *
 * Validation and append happen in the same call on purpose: the addon's facts live in one array
 * that the next validation reuses (native.validateBatches), so they must not outlive this call,
 * and the bytes appended must be the bytes validated. Not thread-safe: main thread only.
 */
import * as native from '../native/index.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  ATTR_COMPRESSION_MASK,
  ATTRIBUTES_AT,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  Compression,
  type ControlTypeValue,
  decompress,
  encodeControlBatch,
  RECORD_COUNT_AT,
  RecordsError,
  scanRecords,
} from '../records/record-batch.js';
import { type DelayPolicy, DelayHeaderError, type ScheduledPayload, toDelayBatches } from '../records/delayed-records.js';
import * as facts from './batch-facts.js';
import type { ValidatedBatches } from '../native/index.js';

/** What a leader's append answers (Log.appendAsLeader, Log.appendValidated). */
export interface AppendResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  lastOffset: number;
  logStartOffset: number;
  /** True when the batch was a retry of one already in the log. */
  duplicate: boolean;
  /** The append time stamped into the batches (LogAppendTime), or -1 when they keep the producer's times. */
  logAppendTimeMs: number;
  /** True when validation or the leader's policy refused the records: nothing reached the log. */
  invalidRecords: boolean;
}

/** What LogValidator needs of the log it appends to: the Log (log.ts), or a test's stand-in. */
export interface ValidatedLog {
  readonly config: { readonly maxMessageBytes: number; readonly logAppendTime: boolean; readonly compact?: boolean };
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  appendValidated(
    payload: Buffer,
    validated: ValidatedBatches,
    leaderEpoch: number,
    logAppendTime: number,
    origin?: AppendOrigin,
  ): AppendResult;
}

/**
 * Who writes (Kafka's AppendOrigin): a client's Produce, the broker's own coordinators (offsets
 * and transaction state, whose batches carry no sequences to check), or a follower replicating
 * its leader (sequences recorded as they come, not checked).
 */
export type AppendOrigin = 'client' | 'coordinator' | 'replication';

export interface LeaderAppendOptions {
  /**
   * The Produce request's version, for the rules that depend on it (zstd needs v7). Omitted for
   * the broker's own writes (the group coordinator), which no client version constrains.
   */
  readonly apiVersion?: number;
  /** The leader epoch written into every batch. */
  readonly leaderEpoch: number;
  /** 'client' unless said (see AppendOrigin). */
  readonly origin?: AppendOrigin;
  /**
   * The Produce request named a transactional id: transactional batches are accepted (the caller
   * has checked the transaction holds the partition). Without it they are refused.
   */
  readonly transactional?: boolean;
  /** The records' keys were already checked for a compacted topic (appendFromClient did, before recompressing). */
  readonly keysChecked?: boolean;
  /**
   * The payload's control batches are delay batches appendFromClient made of a client's payload
   * it checked as sent (delayed delivery): allowed, and not held to max.message.bytes, which
   * the payload as sent met.
   */
  readonly delayBatches?: boolean;
}

/**
 * How far a batch's records may inflate, as a multiple of max.message.bytes (at least 1 MiB): a
 * batch beyond it is a compression bomb, refused with CORRUPT_MESSAGE before it takes the memory.
 */
export const DECOMPRESSION_RATIO_LIMIT = 32;

export function maxDecompressedBytes(maxMessageBytes: number): number {
  return Math.max(maxMessageBytes, 1 << 20) * DECOMPRESSION_RATIO_LIMIT;
}

/** Produce v7 is the first that may carry zstd batches (KIP-110). */
const ZSTD_MIN_PRODUCE_VERSION = 7;

/** Validates `records`, applies the leader's policy, and appends them to `log` (see the top). */
export function appendAsLeader(log: ValidatedLog, records: Buffer, opts: LeaderAppendOptions): AppendResult {
  const validated = native.validateBatches(records, opts.delayBatches === true ? Number.MAX_SAFE_INTEGER : log.config.maxMessageBytes);
  const refusal = leaderRefusal(log, records, validated, opts);
  if (refusal !== null) return refused(log, refusal.errorCode, refusal.errorMessage);
  const logAppendTime = log.config.logAppendTime ? Date.now() : -1;
  return log.appendValidated(records, validated, opts.leaderEpoch, logAppendTime, opts.origin ?? 'client');
}

/**
 * A transaction marker written by the leader for the transaction coordinator: one control batch
 * (see encodeControlBatch) that ends `producerId`'s transaction on this partition. The clients'
 * policy does not apply (it refuses control batches); the batch is still validated.
 */
export function appendMarker(
  log: ValidatedLog,
  marker: { type: ControlTypeValue; producerId: number; producerEpoch: number; coordinatorEpoch: number },
  leaderEpoch: number,
): AppendResult {
  const batch = encodeControlBatch(marker.type, {
    producerId: marker.producerId,
    producerEpoch: marker.producerEpoch,
    coordinatorEpoch: marker.coordinatorEpoch,
  });
  const validated = native.validateBatches(batch, Number.MAX_SAFE_INTEGER);
  if (validated.errorCode !== ErrorCode.NONE) return refused(log, validated.errorCode, null);
  const logAppendTime = log.config.logAppendTime ? Date.now() : -1;
  return log.appendValidated(batch, validated, leaderEpoch, logAppendTime, 'coordinator');
}

/**
 * A follower's append: the batches as its leader stored them. Validation still runs (a corrupt
 * batch never reaches a log, whoever sent it); the leader's policy does not, it was applied once.
 */
export function appendAsFollower(log: ValidatedLog, records: Buffer): AppendResult {
  // The leader may hand more than the follower's max.message.bytes (topic configs can differ in
  // flight): followers accept what their leader accepted.
  const validated = native.validateBatches(records, Number.MAX_SAFE_INTEGER);
  if (validated.errorCode !== ErrorCode.NONE) return refused(log, validated.errorCode, null);
  if (validated.count === 0) return refused(log, ErrorCode.CORRUPT_MESSAGE, 'no batch');
  const base = Number(records.readBigInt64BE(0));
  if (base !== log.logEndOffset) {
    return refused(log, ErrorCode.OFFSET_OUT_OF_RANGE, `the leader's batches start at ${base}, this replica ends at ${log.logEndOffset}`);
  }
  return log.appendValidated(records, validated, -1, -1, 'replication');
}

/** Why the leader refuses a payload (validation, policy, keys), or null: appendAsLeader's checks without the append. */
export function leaderPrecheck(log: ValidatedLog, records: Buffer, opts: LeaderAppendOptions): Refusal | null {
  const max = opts.delayBatches === true ? Number.MAX_SAFE_INTEGER : log.config.maxMessageBytes;
  return leaderRefusal(log, records, native.validateBatches(records, max), opts);
}

/**
 * Delayed delivery: the payload with its delayed records' batches as delay batches, null when no
 * record is delayed, or why it is refused: INVALID_RECORD for a bad delay header (with the
 * reason), CORRUPT_MESSAGE for records that cannot be decoded.
 */
export function delayBatchesOf(records: Buffer, policy: DelayPolicy, maxDecompressed: number): ScheduledPayload | null | Refusal {
  try {
    return toDelayBatches(records, Date.now(), policy, maxDecompressed);
  } catch (err) {
    if (err instanceof DelayHeaderError) return { errorCode: ErrorCode.INVALID_RECORD, errorMessage: err.message };
    if (err instanceof RecordsError) return { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: err.message };
    throw err;
  }
}

function leaderRefusal(log: ValidatedLog, records: Buffer, validated: ValidatedBatches, opts: LeaderAppendOptions): Refusal | null {
  if (validated.errorCode !== ErrorCode.NONE) return { errorCode: validated.errorCode, errorMessage: null };
  const refusal = policyRefusal(
    validated,
    opts.apiVersion,
    opts.transactional === true || opts.origin === 'coordinator',
    opts.delayBatches === true,
  );
  if (refusal !== null) return refusal;
  if (log.config.compact === true && (opts.origin ?? 'client') === 'client' && opts.keysChecked !== true) {
    return keylessRefusal(records, log.config.maxMessageBytes);
  }
  return null;
}

export interface Refusal {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

const ZSTD_BEFORE_V7: Refusal = { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, errorMessage: null };
const UNKNOWN_CODEC: Refusal = { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: 'unknown compression codec' };
/** Markers are the transaction coordinator's to write (Kafka refuses them from clients too). */
const CONTROL: Refusal = { errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'control batches are written by the broker only' };
/** A transactional batch in a Produce request without a transactional id (Kafka refuses it too). */
const TRANSACTIONAL: Refusal = {
  errorCode: ErrorCode.INVALID_TXN_STATE,
  errorMessage: 'a transactional batch needs a transactional id in the request',
};

/** Why the leader refuses these (valid) batches, or null when it accepts them. */
function policyRefusal(
  validated: ValidatedBatches,
  apiVersion: number | undefined,
  transactional: boolean,
  delayBatches: boolean,
): Refusal | null {
  const b = validated.batches;
  const n = validated.count;
  // zstd is checked over all batches first: a zstd batch refuses the payload for that reason
  // even when an earlier batch would be refused for another.
  if (apiVersion !== undefined && apiVersion < ZSTD_MIN_PRODUCE_VERSION) {
    for (let k = 0; k < n; k++) if (facts.compressionCodec(b, k) === Compression.zstd) return ZSTD_BEFORE_V7;
  }
  for (let k = 0; k < n; k++) {
    if (facts.compressionCodec(b, k) > Compression.zstd) return UNKNOWN_CODEC;
    if (facts.isControl(b, k) && !delayBatches) return CONTROL;
    if (!transactional && facts.isTransactional(b, k)) return TRANSACTIONAL;
  }
  return null;
}

/**
 * For a compacted topic: INVALID_RECORD when a record has no key (with Kafka's message), or
 * CORRUPT_MESSAGE when the records cannot be decoded. Decoding is bounded like every other.
 */
function keylessRefusal(records: Buffer, maxMessageBytes: number): Refusal | null {
  try {
    // Records are scanned in place (no object per record); the payload is whole batches already
    // (validateBatches checked their lengths).
    let keyless = false;
    for (let at = 0; at + BATCH_HEADER_BYTES <= records.length && !keyless; ) {
      const size = BATCH_LOG_OVERHEAD + records.readInt32BE(at + 8);
      const batch = records.subarray(at, at + size);
      const codec = batch.readInt16BE(ATTRIBUTES_AT) & ATTR_COMPRESSION_MASK;
      const data = decompress(codec, batch.subarray(BATCH_HEADER_BYTES), maxDecompressedBytes(maxMessageBytes));
      scanRecords(data, batch.readInt32BE(RECORD_COUNT_AT), (r) => {
        if (r.keyLength < 0) keyless = true;
      });
      at += size;
    }
    return keyless ? { errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'Compacted topic cannot accept message without key.' } : null;
  } catch (err) {
    if (err instanceof RecordsError) return { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: err.message };
    throw err;
  }
}

export function refused(
  log: { readonly logStartOffset: number },
  errorCode: number,
  errorMessage: string | null,
  invalidRecords = true,
): AppendResult {
  return {
    errorCode,
    errorMessage,
    baseOffset: -1,
    lastOffset: -1,
    logStartOffset: log.logStartOffset,
    duplicate: false,
    logAppendTimeMs: -1,
    invalidRecords,
  };
}
