/**
 * Batch facts: what the addon reports about each record batch (validateBatches, scanSegment),
 * packed as rows of numbers in a Float64Array. This module is the only reader of those arrays:
 * storage code says `maxTimestamp(facts, k)` for batch `k` (its row, 0 .. batchCount - 1)
 * instead of indexing the array by hand. The layout itself is defined once, in Rust
 * (native/src/batch.rs), and src/native/index.ts takes it from the addon when it loads.
 *
 * Positions are relative to the validated buffer (validateBatches) or absolute in the segment
 * file (scanSegment). Every accessor is a plain read: nothing here allocates, so the append path
 * stays free of per-batch garbage.
 */
import * as native from '../native/index.js';
import { ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_TRANSACTIONAL } from '../records/record-batch.js';

/** Rows of packed batch facts, `native.BATCH_STRIDE` numbers per batch. */
export type PackedFacts = Float64Array;

/** What the idempotent-producer checks need of a batch (ProducerStateManager). */
export interface BatchIdentity {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
  /** The batch's attributes: transactional (bit 4) and control (bit 5) batches change transaction state. */
  attributes: number;
}

const STRIDE = native.BATCH_STRIDE;
const POSITION = native.B_POSITION;
const SIZE = native.B_SIZE;
const BASE_OFFSET = native.B_BASE_OFFSET;
const LAST_OFFSET_DELTA = native.B_LAST_OFFSET_DELTA;
const FIRST_TIMESTAMP = native.B_FIRST_TIMESTAMP;
const MAX_TIMESTAMP = native.B_MAX_TIMESTAMP;
const PRODUCER_ID = native.B_PRODUCER_ID;
const PRODUCER_EPOCH = native.B_PRODUCER_EPOCH;
const BASE_SEQUENCE = native.B_BASE_SEQUENCE;
const ATTRIBUTES = native.B_ATTRIBUTES;
const RECORD_COUNT = native.B_RECORD_COUNT;

/** How many batches `b` describes. */
export function batchCount(b: PackedFacts): number {
  return b.length / STRIDE;
}

/** Where batch k starts: in the validated buffer, or in the segment file for scans. */
export function position(b: PackedFacts, k: number): number {
  return b[k * STRIDE + POSITION]!;
}

/** Whole size of batch k in bytes (12 + batchLength). */
export function size(b: PackedFacts, k: number): number {
  return b[k * STRIDE + SIZE]!;
}

/** baseOffset as the header holds it (the producer's 0 before the append; the assigned one in a segment). */
export function baseOffset(b: PackedFacts, k: number): number {
  return b[k * STRIDE + BASE_OFFSET]!;
}

export function lastOffsetDelta(b: PackedFacts, k: number): number {
  return b[k * STRIDE + LAST_OFFSET_DELTA]!;
}

/** The batch's baseTimestamp. */
export function firstTimestamp(b: PackedFacts, k: number): number {
  return b[k * STRIDE + FIRST_TIMESTAMP]!;
}

/** maxTimestamp: after an append with LogAppendTime, the append time the addon stamped. */
export function maxTimestamp(b: PackedFacts, k: number): number {
  return b[k * STRIDE + MAX_TIMESTAMP]!;
}

export function producerId(b: PackedFacts, k: number): number {
  return b[k * STRIDE + PRODUCER_ID]!;
}

export function producerEpoch(b: PackedFacts, k: number): number {
  return b[k * STRIDE + PRODUCER_EPOCH]!;
}

export function baseSequence(b: PackedFacts, k: number): number {
  return b[k * STRIDE + BASE_SEQUENCE]!;
}

export function attributes(b: PackedFacts, k: number): number {
  return b[k * STRIDE + ATTRIBUTES]!;
}

export function recordCount(b: PackedFacts, k: number): number {
  return b[k * STRIDE + RECORD_COUNT]!;
}

/** Attributes bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd (anything above is unknown). */
export function compressionCodec(b: PackedFacts, k: number): number {
  return attributes(b, k) & ATTR_COMPRESSION_MASK;
}

/** Attributes bit 4: the batch belongs to a transaction. */
export function isTransactional(b: PackedFacts, k: number): boolean {
  return (attributes(b, k) & ATTR_TRANSACTIONAL) !== 0;
}

/** Attributes bit 5: a control batch (a transaction marker). */
export function isControl(b: PackedFacts, k: number): boolean {
  return (attributes(b, k) & ATTR_CONTROL) !== 0;
}

/**
 * Batch k's producer identity, written into `out` and returned: the caller keeps one object for
 * every batch (ProducerStateManager reads it and copies what it keeps), so a payload of many
 * batches allocates nothing for the sequence checks.
 */
export function readIdentity(b: PackedFacts, k: number, out: BatchIdentity): BatchIdentity {
  const row = k * STRIDE;
  out.producerId = b[row + PRODUCER_ID]!;
  out.producerEpoch = b[row + PRODUCER_EPOCH]!;
  out.baseSequence = b[row + BASE_SEQUENCE]!;
  out.lastOffsetDelta = b[row + LAST_OFFSET_DELTA]!;
  out.maxTimestamp = b[row + MAX_TIMESTAMP]!;
  out.attributes = b[row + ATTRIBUTES]!;
  return out;
}

/** A fresh identity object to fill with readIdentity. */
export function newIdentity(): BatchIdentity {
  return { producerId: -1, producerEpoch: -1, baseSequence: -1, lastOffsetDelta: 0, maxTimestamp: -1, attributes: 0 };
}
