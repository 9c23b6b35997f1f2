/**
 * Delayed delivery's record formats (franz's own; Kafka has no delay queue).
 *
 * A producer asks for delay with a record header, from any client: `franz-deliver-at` (epoch
 * milliseconds) or `franz-delay-ms` (milliseconds from when the broker receives it), decimal
 * ASCII; a topic's `franz.delivery.delay.ms` delays every record of the topic that names no
 * header. A batch holding a delayed record is stored in its partition as a **delay batch**: a
 * control batch (consumers skip control batches, so nothing of it is visible) with the producer's
 * id, epoch, first sequence and record count, so that the producer's sequence numbers, its
 * transaction and its acknowledgement work as for any batch, in the same single append. Each of
 * its control records carries one record of the producer's batch:
 *
 *   key   = int16 version 0, int16 type DELAY_CONTROL_TYPE (Kafka's control record key)
 *   value = int16 version 0, int8 kind (0: deliver, 1: cancel), int64 due ms, int64 the record's
 *           own timestamp, then the record: int32 key length (-1: null) + bytes,
 *           int32 value length (-1: null) + bytes, int32 header count, each header int16 key
 *           length + UTF-8 key and int32 value length (-1: null) + bytes
 *
 * stamped with its due time, so that retention by time keeps it until it is due (and as long
 * after as any record). A record with a `franz-cancel` header (and a key) is a cancel:
 * it is never delivered, and the records of its key that wait in its partition, written before
 * it, are dropped when they come due. When due, the broker appends the record to the same partition
 * as an ordinary record (the DelayScheduler), with its key, value and headers (the delay headers
 * kept) and two more headers: `franz-delayed-from` (the offset of its control record: what makes
 * delivery exactly once, see delay-scheduler.ts) and `franz-original-timestamp`.
 */
import { Reader, Writer } from '../protocol/primitives.js';
/** Where a batch's lastOffsetDelta sits in its header. */
const LAST_OFFSET_DELTA_AT = 23;

import {
  ATTR_COMPRESSION_MASK,
  ATTRIBUTES_AT,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  Compression,
  decodeRecordBatches,
  decompress,
  encodeRecordBatch,
  type KafkaRecord,
  type RecordHeader,
} from './record-batch.js';

export const DELIVER_AT_HEADER = 'franz-deliver-at';
export const CANCEL_HEADER = 'franz-cancel';
export const DELAY_MS_HEADER = 'franz-delay-ms';
export const DELAYED_FROM_HEADER = 'franz-delayed-from';
export const ORIGINAL_TIMESTAMP_HEADER = 'franz-original-timestamp';

/** The control record type of a delay batch's records: franz's, far from Kafka's (0-8). */
export const DELAY_CONTROL_TYPE = 0x4672;

/** The delay and cancel headers all start with this: a payload without it has no delayed record. */
const PREFILTER = Buffer.from('franz-');

/** A record to deliver when due, as a delay batch holds it. */
export interface DelayedRecord {
  /** A cancel (franz-cancel): its key's earlier waiting records are dropped; it is never delivered. */
  readonly cancel: boolean;
  readonly dueMs: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

/** How a partition schedules: the broker's bound on delays and the topic's default delay. */
export interface DelayPolicy {
  /** franz.delay.max.ms: the longest delay accepted. */
  readonly maxDelayMs: number;
  /** The topic's franz.delivery.delay.ms (0: records without a header are not delayed). */
  readonly topicDelayMs: number;
}

export class DelayHeaderError extends Error {}

/**
 * A record's due time: from its headers, else the topic's delay; null when it is not delayed.
 * Throws DelayHeaderError for a header that is not a whole number, negative, or past the bound.
 */
export function dueTimeOf(headers: readonly RecordHeader[], now: number, policy: DelayPolicy): number | null {
  // A cancel is filed at once: it takes effect on the records that wait.
  if (headers.some((h) => h.key === CANCEL_HEADER)) return now;
  for (const h of headers) {
    if (h.key !== DELIVER_AT_HEADER && h.key !== DELAY_MS_HEADER) continue;
    const text = h.value === null ? '' : h.value.toString('latin1');
    if (!/^\d{1,16}$/.test(text)) throw new DelayHeaderError(`${h.key} must be a whole number of milliseconds, got "${text.slice(0, 40)}"`);
    const n = Number(text);
    const delay = h.key === DELAY_MS_HEADER ? n : n - now;
    if (delay > policy.maxDelayMs) {
      throw new DelayHeaderError(`${h.key} asks for a delay of ${delay} ms, past franz.delay.max.ms (${policy.maxDelayMs})`);
    }
    return h.key === DELAY_MS_HEADER ? now + n : n;
  }
  return policy.topicDelayMs > 0 ? now + policy.topicDelayMs : null;
}

/**
 * Whether a validated payload may hold a delayed record: the topic delays every record, or a
 * batch's records (decompressed when compressed) contain the headers' common prefix. Cheap for
 * the payloads of producers that never ask for delay: a byte search, no decoding.
 */
export function mayHoldDelayed(records: Buffer, policy: DelayPolicy, maxDecompressedBytes: number): boolean {
  if (policy.topicDelayMs > 0) return true;
  // Not validated yet: a length that does not fit ends the search (validation refuses it later).
  for (let at = 0; at + BATCH_HEADER_BYTES <= records.length; ) {
    const size = BATCH_LOG_OVERHEAD + records.readInt32BE(at + 8);
    if (size < BATCH_HEADER_BYTES || at + size > records.length) return false;
    const batch = records.subarray(at, at + size);
    const codec = batch.readInt16BE(ATTRIBUTES_AT) & ATTR_COMPRESSION_MASK;
    if (codec === Compression.none) {
      if (batch.indexOf(PREFILTER, BATCH_HEADER_BYTES) >= 0) return true;
    } else {
      try {
        if (decompress(codec, batch.subarray(BATCH_HEADER_BYTES), maxDecompressedBytes).indexOf(PREFILTER) >= 0) return true;
      } catch {
        return false;
      }
    }
    at += size;
  }
  return false;
}

/** A payload made ready for the log: its delay batches, and where and when each record is due. */
export interface ScheduledPayload {
  readonly payload: Buffer;
  /** Each delayed record: its offset from the payload's first offset, and when it is due. */
  readonly due: ReadonlyArray<DueRecord>;
}

/** A delayed record (or cancel) of a payload: its offset from the payload's first, its due time. */
export interface DueRecord {
  readonly delta: number;
  readonly dueMs: number;
  /** For a cancel: the key whose waiting records it drops. */
  readonly cancelKey?: Buffer;
}

/**
 * The payload with every batch that holds a delayed record turned into a delay batch (see the
 * top); batches without one are kept as they are. null when no record is delayed. A record of a
 * delay batch that asked for no delay is due at once (`now`): a batch is stored whole. The
 * payload must be validated (whole batches).
 */
export function toDelayBatches(records: Buffer, now: number, policy: DelayPolicy, maxDecompressedBytes: number): ScheduledPayload | null {
  const parts: Buffer[] = [];
  const due: DueRecord[] = [];
  let delta = 0;
  for (let at = 0; at + BATCH_HEADER_BYTES <= records.length; ) {
    const size = BATCH_LOG_OVERHEAD + records.readInt32BE(at + 8);
    const raw = records.subarray(at, at + size);
    at += size;
    const first = delta;
    // Offsets follow lastOffsetDelta, as the log assigns them.
    delta += raw.readInt32BE(LAST_OFFSET_DELTA_AT) + 1;
    const batch = decodeRecordBatches(raw, { verifyCrc: false, maxDecompressedBytes }).batches[0];
    if (batch === undefined) {
      parts.push(raw);
      continue;
    }
    if (batch.records.length !== batch.lastOffsetDelta + 1) {
      throw new DelayHeaderError(`a batch of ${batch.records.length} records with lastOffsetDelta ${batch.lastOffsetDelta}`);
    }
    const dues = batch.records.map((r) => dueTimeOf(r.headers, now, policy));
    if (dues.every((d) => d === null)) {
      parts.push(raw);
      continue;
    }
    // The delay batch has one record per offset of the batch it replaces.
    const recs = batch.records.map((r, i) => {
      const cancel = r.headers.some((h) => h.key === CANCEL_HEADER);
      if (cancel && r.key === null) throw new DelayHeaderError(`${CANCEL_HEADER} needs the key of the records it cancels`);
      due.push(cancel ? { delta: first + i, dueMs: now, cancelKey: r.key! } : { delta: first + i, dueMs: dues[i] ?? now });
      return delayControlRecord(r, dues[i] ?? now, cancel);
    });
    parts.push(
      encodeRecordBatch(recs, {
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
        transactional: batch.transactional,
        control: true,
      }),
    );
  }
  return due.length === 0 ? null : { payload: Buffer.concat(parts), due };
}

const CONTROL_KEY = (() => {
  const k = Buffer.alloc(4);
  k.writeInt16BE(0, 0);
  k.writeInt16BE(DELAY_CONTROL_TYPE, 2);
  return k;
})();

function delayControlRecord(r: KafkaRecord, dueMs: number, cancel: boolean): { key: Buffer; value: Buffer; timestamp: number } {
  const w = new Writer(64 + (r.key?.length ?? 0) + (r.value?.length ?? 0));
  w.int16(0);
  w.int8(cancel ? 1 : 0);
  w.int64(dueMs);
  w.int64(r.timestamp);
  bytes32(w, r.key);
  bytes32(w, r.value);
  w.int32(r.headers.length);
  for (const h of r.headers) {
    const k = Buffer.from(h.key, 'utf8');
    w.int16(k.length);
    w.raw(k);
    bytes32(w, h.value);
  }
  // Stamped with its due time: retention by time counts from when the record becomes visible.
  return { key: CONTROL_KEY, value: w.toBuffer(), timestamp: dueMs };
}

function bytes32(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.int32(-1);
    return;
  }
  w.int32(b.length);
  w.raw(b);
}

/** Whether a control record's key is a delay record's. */
export function isDelayKey(key: Buffer | null): boolean {
  return key !== null && key.length >= 4 && key.readInt16BE(2) === DELAY_CONTROL_TYPE;
}

/** The record a delay control record carries, or null when its value is not one. */
export function decodeDelayedRecord(r: KafkaRecord): DelayedRecord | null {
  if (!isDelayKey(r.key) || r.value === null) return null;
  const rd = new Reader(r.value);
  if (rd.int16() !== 0) return null;
  const kind = rd.int8();
  const dueMs = Number(rd.int64());
  const timestamp = Number(rd.int64());
  const key = readBytes32(rd);
  const value = readBytes32(rd);
  const count = rd.int32();
  if (rd.bad || count < 0 || count > r.value.length) return null;
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const kl = rd.int16();
    if (rd.bad || kl < 0 || kl > rd.remaining) return null;
    const k = r.value.toString('utf8', rd.pos, rd.pos + kl);
    rd.pos += kl;
    headers.push({ key: k, value: readBytes32(rd) });
  }
  return rd.bad || (kind !== 0 && kind !== 1) ? null : { cancel: kind === 1, dueMs, timestamp, key, value, headers };
}

function readBytes32(rd: Reader): Buffer | null {
  const n = rd.int32();
  if (rd.bad || n < 0 || n > rd.remaining) return null;
  const b = Buffer.from(rd.buf.subarray(rd.pos, rd.pos + n));
  rd.pos += n;
  return b;
}
