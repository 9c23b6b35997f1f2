/**
 * Record batches v2 (magic 2), the unit records travel in on the wire and lie in segment files.
 *
 * Batch layout (61 bytes of header, then the records, compressed as one blob when the batch is):
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
 *   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
 *   producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records...
 * The CRC-32C covers `attributes` to the end of the batch. `recordCount` is never compressed.
 *
 * Record layout (every integer a zig-zag varint, lengths of -1 meaning null):
 *   length | attributes int8 | timestampDelta varlong | offsetDelta | keyLength | key |
 *   valueLength | value | headerCount | (headerKeyLength | headerKey utf8 | headerValueLength | value)*
 *
 * Compression (attributes bits 0-2): none, gzip (zlib gzip format), snappy (encoded with the xerial
 * framing the Java client writes; decoded from either xerial framing or a raw snappy block, as
 * librdkafka writes), lz4 (the LZ4 frame format), zstd (one frame, by the native addon).
 * Decompression is bounded (DecodeOptions.maxDecompressedBytes): a small batch that would inflate
 * past the bound is refused with DECOMPRESSED_TOO_LARGE before it can take the memory.
 *
 * Everything here is a synchronous pure function over buffers: no I/O. Bad input makes the decoder
 * throw a RecordsError with a stable `code`; it never reads out of bounds and never sizes an
 * allocation from a count on the wire. The CRC is computed by the native addon's crc32c.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { crc32c, snappyBlockDecompress, snappyCompress, zstdCompress, zstdDecompress } from '../native/index.js';
import { Reader, Writer } from '../protocol/primitives.js';

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;
export type CompressionCodec = (typeof Compression)[CompressionName];

const CODEC_NAMES: readonly string[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export function compressionName(codec: number): string {
  return CODEC_NAMES[codec] ?? `unknown(${codec})`;
}

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

/** Bytes before the records: the fixed batch header. */
export const BATCH_HEADER_BYTES = 61;
/** Bytes before batchLength's range starts (baseOffset + batchLength). */
export const BATCH_LOG_OVERHEAD = 12;
const CRC_START = 21;
const MAGIC_AT = 16;
const CRC_AT = 17;
/** Where a batch's attributes, producer id and epoch and record count sit in its header. */
export const ATTRIBUTES_AT = 21;
export const PRODUCER_ID_AT = 43;
export const PRODUCER_EPOCH_AT = 51;
export const BASE_SEQUENCE_AT = 53;
export const RECORD_COUNT_AT = 57;

export type RecordsErrorCode =
  | 'CORRUPT_BATCH' // a length, count or varint that does not fit the bytes present
  | 'CRC_MISMATCH'
  | 'UNSUPPORTED_MAGIC'
  | 'UNSUPPORTED_COMPRESSION'
  | 'DECOMPRESSION_FAILED'
  | 'DECOMPRESSED_TOO_LARGE'; // a compressed records section that would inflate past the bound

export class RecordsError extends Error {
  constructor(
    readonly code: RecordsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordsError';
  }
}

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

/** A record as decoded: absolute offset and timestamp. */
export interface KafkaRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

export interface RecordBatch {
  readonly baseOffset: number;
  /** Whole batch size on the wire (12 + batchLength). */
  readonly sizeInBytes: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly compression: number;
  readonly logAppendTime: boolean;
  readonly transactional: boolean;
  readonly control: boolean;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly records: readonly KafkaRecord[];
}

type Bytes = Uint8Array | string;

/** A record to encode. The timestamp defaults to the batch's `timestamp` option. */
export interface RecordInput {
  readonly key?: Bytes | null;
  readonly value: Bytes | null;
  readonly headers?: ReadonlyArray<{ readonly key: string; readonly value: Bytes | null }>;
  readonly timestamp?: number;
}

export interface BatchOptions {
  readonly compression?: CompressionCodec;
  /** The codec's level (gzip 1-9, zstd its own range); the codec's default when absent. lz4 has none here. */
  readonly compressionLevel?: number;
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  /** A control batch (transaction markers; see encodeControlBatch). */
  readonly control?: boolean;
  readonly logAppendTime?: boolean;
  /** Timestamp of records that carry none; defaults to Date.now() at the call. */
  readonly timestamp?: number;
}

/** Control record types (the key's `type`): a transaction's end, written to each of its partitions. */
export const ControlType = { abort: 0, commit: 1 } as const;
export type ControlTypeValue = (typeof ControlType)[keyof typeof ControlType];

/**
 * A transaction marker: a control batch (transactional and control attributes, no sequence) of one
 * record whose key is (version 0, type) and value (version 0, coordinator epoch), both int16 but the
 * epoch int32, as Kafka writes them.
 */
export function encodeControlBatch(
  type: ControlTypeValue,
  opts: { producerId: number; producerEpoch: number; coordinatorEpoch: number; timestamp?: number },
): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(opts.coordinatorEpoch, 2);
  return encodeRecordBatch([{ key, value, timestamp: opts.timestamp }], {
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
  });
}

/**
 * The type of the control batch at `at` in `buf` (its first record's key), or -1 when the bytes
 * there are not a whole, uncompressed control record with a 4-byte key.
 */
export function controlRecordType(buf: Uint8Array, at: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (at + BATCH_HEADER_BYTES > b.length) return -1;
  const r = new Reader(b, at + BATCH_HEADER_BYTES, b.length);
  const length = r.varint();
  if (r.bad || length <= 0 || length > r.remaining) return -1;
  r.int8();
  r.varlong();
  r.varint();
  const keyLength = r.varint();
  if (r.bad || keyLength < 4 || keyLength > r.remaining) return -1;
  const at2 = r.pos;
  return b.readInt16BE(at2 + 2);
}

// ---------------------------------------------------------------------------------------------
// Compression codecs. lz4-napi is a native package, loaded on first use so that a client that
// never meets lz4 does not pay for loading it; zstd and snappy are the addon's (the snappy npm
// package leaked native memory on every call, docs/perf/broker-compression.md).

interface Lz4Module {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}

const requireCjs = createRequire(import.meta.url);
let lz4Module: Lz4Module | null = null;
function lz4(): Lz4Module {
  lz4Module ??= requireCjs('lz4-napi') as Lz4Module;
  return lz4Module;
}

/**
 * How far a batch's records may inflate unless the caller says otherwise: above any batch a Kafka
 * client writes by default (max.message.bytes is 1 MiB of compressed bytes) yet far below what would
 * hurt the process.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** 0x82 'SNAPPY' 0x00: the xerial snappy-java stream header's magic. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** Uncompressed bytes per xerial block, as snappy-java's default. */
const XERIAL_BLOCK = 32 * 1024;

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Snappy with the xerial framing (header, then [int32 length][raw block] chunks). */
export function snappyXerialCompress(data: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  parts.push(header);
  for (let at = 0; at < data.length; at += XERIAL_BLOCK) {
    const block = snappyCompress(data.subarray(at, Math.min(data.length, at + XERIAL_BLOCK)));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** Decodes xerial-framed snappy or a raw snappy block, refusing output past `maxBytes`. */
export function snappyDecompress(data: Buffer, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  let total = 0;
  const raw = (b: Buffer): Buffer => {
    // A raw block announces its length first: checked (over all blocks) before the addon allocates it.
    total += snappyRawLength(b);
    if (total > maxBytes) throw tooLarge(Compression.snappy, maxBytes);
    return snappyBlockDecompress(b, maxBytes);
  };
  if (!isXerial(data)) return raw(data);
  const parts: Buffer[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < data.length) {
    if (data.length - at < 4) throw new RecordsError('CORRUPT_BATCH', 'truncated xerial snappy block length');
    const len = data.readInt32BE(at);
    at += 4;
    if (len < 0 || len > data.length - at) throw new RecordsError('CORRUPT_BATCH', 'xerial snappy block overruns the batch');
    parts.push(raw(data.subarray(at, at + len)));
    at += len;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Compresses the records section of a batch with the given codec (at `level`, where it has levels). */
export function compress(codec: number, data: Buffer, level?: number): Buffer {
  switch (codec) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return level === undefined ? gzipSync(data) : gzipSync(data, { level });
    case Compression.snappy:
      return snappyXerialCompress(data);
    case Compression.lz4:
      return lz4().compressFrameSync(data);
    case Compression.zstd:
      return zstdCompress(data, level ?? 3);
    default:
      throw new RecordsError('UNSUPPORTED_COMPRESSION', `unknown compression codec ${codec}`);
  }
}

function tooLarge(codec: number, maxBytes: number): RecordsError {
  return new RecordsError('DECOMPRESSED_TOO_LARGE', `${compressionName(codec)} records inflate past ${maxBytes} bytes`);
}

/** The uncompressed length a raw snappy block announces (its leading varint), or -1 if unreadable. */
function snappyRawLength(b: Buffer): number {
  let n = 0;
  for (let i = 0, shift = 0; i < Math.min(b.length, 5); i++, shift += 7) {
    n += (b[i]! & 0x7f) * 2 ** shift;
    if ((b[i]! & 0x80) === 0) return n;
  }
  return -1;
}

/**
 * The LZ4 frame's declared content size, when its descriptor has one (FLG bit 3), else -1. The
 * frame format allows leaving it out, and lz4 inflates at most 255-fold, so without it the output
 * is checked after decoding.
 */
function lz4ContentSize(b: Buffer): number {
  if (b.length < 15 || b.readUInt32LE(0) !== 0x184d2204 || (b[4]! & 0x08) === 0) return -1;
  return Number(b.readBigUInt64LE(6));
}

/**
 * Decompresses the records section of a batch, producing at most `maxBytes`
 * (DECOMPRESSED_TOO_LARGE beyond: a compression bomb costs a bounded allocation).
 */
export function decompress(codec: number, data: Buffer, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  if (codec === Compression.none) return data;
  if (codec > Compression.zstd) throw new RecordsError('UNSUPPORTED_COMPRESSION', `unknown compression codec ${codec}`);
  let out: Buffer;
  try {
    switch (codec) {
      case Compression.gzip:
        out = gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
        break;
      case Compression.snappy:
        out = snappyDecompress(data, maxBytes);
        break;
      case Compression.zstd:
        out = zstdDecompress(data, maxBytes);
        break;
      default:
        if (lz4ContentSize(data) > maxBytes) throw tooLarge(codec, maxBytes);
        out = lz4().decompressFrameSync(data);
    }
  } catch (e) {
    if (e instanceof RecordsError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || /^(zstd|snappy): decompressed size exceeds/.test(why)) throw tooLarge(codec, maxBytes);
    throw new RecordsError('DECOMPRESSION_FAILED', `${compressionName(codec)} decompression failed: ${why}`, { cause: e });
  }
  if (out.length > maxBytes) throw tooLarge(codec, maxBytes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function toBytes(v: Bytes | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : asBuffer(v);
}

function writeVarBytes(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.varint(-1);
    return;
  }
  w.varint(b.length);
  w.raw(b);
}

/** Encodes one record body (everything after its length) into `body`. */
function encodeRecord(body: Writer, r: RecordInput, timestampDelta: number, offsetDelta: number): void {
  body.int8(0); // attributes: unused
  body.varlong(timestampDelta);
  body.varint(offsetDelta);
  writeVarBytes(body, toBytes(r.key));
  writeVarBytes(body, toBytes(r.value));
  const headers = r.headers ?? [];
  body.varint(headers.length);
  for (const h of headers) {
    writeVarBytes(body, Buffer.from(h.key, 'utf8'));
    writeVarBytes(body, toBytes(h.value));
  }
}

/**
 * Encodes records as one batch (magic 2). The first record's timestamp is the base timestamp (as
 * the Java client does; later deltas may be negative). Throws RangeError for an empty record list.
 */
export function encodeRecordBatch(records: readonly RecordInput[], options: BatchOptions = {}): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const codec = options.compression ?? Compression.none;
  const now = options.timestamp ?? Date.now();
  const baseTimestamp = records[0]!.timestamp ?? now;
  let maxTimestamp = baseTimestamp;

  const out = new Writer(256);
  const body = new Writer(128);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? now;
    if (ts > maxTimestamp) maxTimestamp = ts;
    body.pos = 0;
    encodeRecord(body, r, ts - baseTimestamp, i);
    const bytes = body.toBuffer();
    out.varint(bytes.length);
    out.raw(bytes);
  }
  let attributes = codec;
  if (options.logAppendTime) attributes |= ATTR_LOG_APPEND_TIME;
  if (options.transactional) attributes |= ATTR_TRANSACTIONAL;
  if (options.control) attributes |= ATTR_CONTROL;
  return assembleBatch(compress(codec, out.toBuffer(), options.compressionLevel), {
    baseOffset: options.baseOffset ?? 0,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
    attributes,
    lastOffsetDelta: records.length - 1,
    baseTimestamp,
    maxTimestamp,
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerEpoch ?? -1,
    baseSequence: options.baseSequence ?? -1,
    recordCount: records.length,
  });
}

/** A batch's header fields, apart from the lengths and the CRC the assembly computes. */
type BatchHeader = Pick<
  RecordBatch,
  | 'baseOffset'
  | 'partitionLeaderEpoch'
  | 'attributes'
  | 'lastOffsetDelta'
  | 'baseTimestamp'
  | 'maxTimestamp'
  | 'producerId'
  | 'producerEpoch'
  | 'baseSequence'
> & { readonly recordCount: number };

/** The header, then the (compressed) records section; the CRC-32C computed last. */
function assembleBatch(payload: Buffer, h: BatchHeader): Buffer {
  const size = BATCH_HEADER_BYTES + payload.length;
  const w = new Writer(size);
  w.int64(h.baseOffset);
  w.int32(size - BATCH_LOG_OVERHEAD);
  w.int32(h.partitionLeaderEpoch);
  w.int8(2);
  w.uint32(0); // crc, patched below
  w.int16(h.attributes);
  w.int32(h.lastOffsetDelta);
  w.int64(h.baseTimestamp);
  w.int64(h.maxTimestamp);
  w.int64(h.producerId);
  w.int16(h.producerEpoch);
  w.int32(h.baseSequence);
  w.int32(h.recordCount);
  w.raw(payload);
  const batch = w.toBuffer();
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), CRC_AT);
  return batch;
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface DecodeOptions {
  /** Check each batch's CRC-32C (default true). */
  readonly verifyCrc?: boolean;
  /** The most a batch's records may inflate to (DEFAULT_MAX_DECOMPRESSED_BYTES when absent). */
  readonly maxDecompressedBytes?: number;
}

export interface DecodeResult {
  readonly batches: RecordBatch[];
  /**
   * Bytes at the end that do not make a whole batch. A Fetch response may end inside a batch
   * (the broker cut at max bytes); that is not an error, the consumer asks again from there.
   */
  readonly partialBytes: number;
}

function corrupt(what: string): RecordsError {
  return new RecordsError('CORRUPT_BATCH', `corrupt record batch: ${what}`);
}

function readVarBytes(r: Reader): Buffer | null {
  const len = r.varint();
  if (len < 0) {
    if (len !== -1) r.fail();
    return null;
  }
  if (len > r.remaining) {
    r.fail();
    return null;
  }
  const at = r.pos;
  r.skip(len);
  return r.buf.subarray(at, at + len);
}

function decodeRecords(
  data: Buffer,
  count: number,
  baseOffset: number,
  baseTimestamp: number,
  logAppendTime: boolean,
  maxTimestamp: number,
): KafkaRecord[] {
  const r = new Reader(data);
  const records: KafkaRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    if (r.bad || length < 0 || length > r.remaining) throw corrupt(`record ${i} length ${length} exceeds the batch`);
    const end = r.pos + length;
    const rr = new Reader(data, r.pos, end);
    rr.int8(); // attributes: unused
    const timestampDelta = rr.varlong();
    const offsetDelta = rr.varint();
    const key = readVarBytes(rr);
    const value = readVarBytes(rr);
    const headerCount = rr.varint();
    if (headerCount < 0 || headerCount > rr.remaining) rr.fail();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount && !rr.bad; h++) {
      const k = readVarBytes(rr);
      const v = readVarBytes(rr);
      if (k === null) rr.fail();
      else headers.push({ key: k.toString('utf8'), value: v });
    }
    if (rr.bad || rr.pos !== end) throw corrupt(`record ${i} does not match its length`);
    r.pos = end;
    records.push({
      offset: baseOffset + offsetDelta,
      timestamp: logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
  if (r.remaining !== 0) throw corrupt(`${r.remaining} bytes after the last record`);
  return records;
}

/** Decodes the one whole batch that starts at `at` and spans `size` bytes. */
function decodeBatch(buf: Buffer, at: number, size: number, verifyCrc: boolean, maxDecompressed: number): RecordBatch {
  const magic = buf.readInt8(at + MAGIC_AT);
  if (magic !== 2) throw new RecordsError('UNSUPPORTED_MAGIC', `record batch magic ${magic} is not supported (only 2)`);
  const batch = buf.subarray(at, at + size);
  const crc = batch.readUInt32BE(CRC_AT);
  if (verifyCrc) {
    const actual = crc32c(batch.subarray(CRC_START));
    if (actual !== crc) {
      throw new RecordsError('CRC_MISMATCH', `record batch CRC mismatch: stored ${crc}, computed ${actual}`);
    }
  }
  const h = new Reader(batch);
  const baseOffset = h.int64();
  h.int32(); // batchLength
  const partitionLeaderEpoch = h.int32();
  h.int8(); // magic
  h.uint32(); // crc
  const attributes = h.int16();
  const lastOffsetDelta = h.int32();
  const baseTimestamp = h.int64();
  const maxTimestamp = h.int64();
  const producerId = h.int64();
  const producerEpoch = h.int16();
  const baseSequence = h.int32();
  const recordCount = h.int32();
  if (recordCount < 0) throw corrupt(`negative record count ${recordCount}`);
  const compression = attributes & ATTR_COMPRESSION_MASK;
  const logAppendTime = (attributes & ATTR_LOG_APPEND_TIME) !== 0;
  const data = decompress(compression, batch.subarray(BATCH_HEADER_BYTES), maxDecompressed);
  // Every record takes at least 7 bytes, so a count beyond that is a lie; checked before looping.
  if (recordCount > data.length) throw corrupt(`record count ${recordCount} exceeds the batch`);
  const records = decodeRecords(data, recordCount, baseOffset, baseTimestamp, logAppendTime, maxTimestamp);
  return {
    baseOffset,
    sizeInBytes: size,
    partitionLeaderEpoch,
    magic,
    crc,
    attributes,
    compression,
    logAppendTime,
    transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    control: (attributes & ATTR_CONTROL) !== 0,
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    baseSequence,
    records,
  };
}

/**
 * Decodes the record batches in `buf` (a partition's `records` from a Fetch or Produce). A trailing
 * partial batch is reported in `partialBytes`, not decoded. Throws RecordsError for a batch that is
 * whole but bad (CRC, magic, lengths, codec).
 */
export function decodeRecordBatches(buf: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const b = asBuffer(buf);
  const verifyCrc = options.verifyCrc ?? true;
  const batches: RecordBatch[] = [];
  let at = 0;
  while (at < b.length) {
    const left = b.length - at;
    if (left < BATCH_LOG_OVERHEAD) break;
    const batchLength = b.readInt32BE(at + 8);
    if (batchLength < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD) throw corrupt(`batch length ${batchLength} is too small`);
    const size = BATCH_LOG_OVERHEAD + batchLength;
    if (size > left) break;
    batches.push(decodeBatch(b, at, size, verifyCrc, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES));
    at += size;
  }
  return { batches, partialBytes: b.length - at };
}

/**
 * The batches of `buf` with their records compressed by `codec` instead (broker-side compression,
 * a topic's compression.type). The records section of a batch is the same bytes whatever its
 * codec, so each is decompressed and compressed again as a blob, never decoded record by record:
 * the header keeps every field but the codec bits, the length and the CRC. A batch already in
 * `codec`, or without records, is copied as it is. Decompression is bounded by
 * `maxDecompressedBytes` per batch; a payload that is not whole batches is CORRUPT_BATCH.
 */
export function recompressBatches(
  buf: Uint8Array,
  codec: CompressionCodec,
  level: number | undefined,
  maxDecompressedBytes: number,
): Buffer {
  const b = asBuffer(buf);
  // Each batch as [header or whole batch, recompressed records or null]: copied once, at the end,
  // into one buffer of its own (which a worker hands back by transfer, not by copy).
  const out: Array<[Buffer, Buffer | null]> = [];
  let total = 0;
  let at = 0;
  while (at < b.length) {
    if (b.length - at < BATCH_HEADER_BYTES) throw corrupt(`${b.length - at} bytes after the last whole batch`);
    const size = BATCH_LOG_OVERHEAD + b.readInt32BE(at + 8);
    if (size < BATCH_HEADER_BYTES || size > b.length - at)
      throw corrupt(`batch length ${size - BATCH_LOG_OVERHEAD} does not fit the payload`);
    const batch = b.subarray(at, at + size);
    const attributes = batch.readInt16BE(ATTRIBUTES_AT);
    const from = attributes & ATTR_COMPRESSION_MASK;
    if (from === codec || batch.readInt32BE(RECORD_COUNT_AT) === 0) {
      out.push([batch, null]);
      total += size;
    } else {
      const packed = compress(codec, decompress(from, batch.subarray(BATCH_HEADER_BYTES), maxDecompressedBytes), level);
      out.push([batch.subarray(0, BATCH_HEADER_BYTES), packed]);
      total += BATCH_HEADER_BYTES + packed.length;
    }
    at += size;
  }
  const result = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  for (const [head, packed] of out) {
    const start = pos;
    pos += head.copy(result, pos);
    if (packed === null) continue;
    pos += packed.copy(result, pos);
    result.writeInt32BE(pos - start - BATCH_LOG_OVERHEAD, start + 8);
    result.writeInt16BE((head.readInt16BE(ATTRIBUTES_AT) & ~ATTR_COMPRESSION_MASK) | codec, start + ATTRIBUTES_AT);
    result.writeUInt32BE(crc32c(result.subarray(start + CRC_START, pos)), start + CRC_AT);
  }
  return result;
}

/**
 * One record of a records section as scanRecords sees it: where its bytes are (`start` to `end`,
 * its length varint included: the record as it travels) and where its key lies. The one object is
 * reused for every record of a scan: read it inside the visitor.
 */
export interface RecordSpan {
  start: number;
  end: number;
  offsetDelta: number;
  /** The key's first byte, and its length (-1: null key). */
  keyAt: number;
  keyLength: number;
  /** -1: a null value (a tombstone). */
  valueLength: number;
}

/** Where the last readVarint stopped (a module variable: no object per varint on the scan's hot path). */
let varintNext = 0;

/**
 * A zig-zag varint at `at` of `b` (at most 5 bytes for an int32; 10 for a varlong, whose value is
 * not needed); the position after it goes to varintNext.
 */
function readVarint(b: Buffer, at: number, end: number, maxBytes: number): number {
  let raw = 0;
  let shift = 0;
  for (let i = 0; i < maxBytes; i++) {
    if (at + i >= end) break;
    const byte = b[at + i]!;
    if (shift < 28) raw |= (byte & 0x7f) << shift;
    else if (shift === 28) raw |= (byte & 0x0f) << 28;
    shift += 7;
    if ((byte & 0x80) === 0) {
      varintNext = at + i + 1;
      return (raw >>> 1) ^ -(raw & 1);
    }
  }
  throw corrupt('a varint runs past its record');
}

/**
 * Walks the `count` records of a decompressed records section without making an object per
 * record (the log cleaner reads every record of a log twice): `visit` gets each record's span.
 * Throws CORRUPT_BATCH for records that do not fit the bytes.
 */
export function scanRecords(data: Buffer, count: number, visit: (span: RecordSpan) => void): void {
  const span: RecordSpan = { start: 0, end: 0, offsetDelta: 0, keyAt: 0, keyLength: -1, valueLength: -1 };
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = readVarint(data, at, data.length, 5);
    const end = varintNext + length;
    if (length < 0 || end > data.length) throw corrupt(`record ${i} length ${length} exceeds the batch`);
    readVarint(data, varintNext + 1, end, 10); // after the attributes byte: timestampDelta
    const offsetDelta = readVarint(data, varintNext, end, 5);
    const keyLength = readVarint(data, varintNext, end, 5);
    const keyAt = varintNext;
    const afterKey = keyLength < 0 ? keyAt : keyAt + keyLength;
    if (afterKey > end) throw corrupt(`record ${i} key exceeds its record`);
    const valueLength = readVarint(data, afterKey, end, 5);
    if (valueLength >= 0 && varintNext + valueLength > end) throw corrupt(`record ${i} value exceeds its record`);
    span.start = at;
    span.end = end;
    span.offsetDelta = offsetDelta;
    span.keyAt = keyAt;
    span.keyLength = keyLength < 0 ? -1 : keyLength;
    span.valueLength = valueLength < 0 ? -1 : valueLength;
    visit(span);
    at = end;
  }
  if (at !== data.length) throw corrupt(`${data.length - at} bytes after the last record`);
}

/**
 * A batch like `batch` (whole, as stored) holding only the records whose bytes `parts` are (each
 * taken from its decompressed records section as scanRecords found it), compressed with the
 * batch's codec: base offset, last offset delta, timestamps and producer fields stay, as Kafka's
 * cleaner keeps them (maxTimestamp stays the original's, an upper bound of what is left). With no
 * part, an empty batch without a codec.
 */
export function retainedBatch(batch: Buffer, parts: readonly Buffer[], compressionLevel?: number): Buffer {
  const attributes = batch.readInt16BE(ATTRIBUTES_AT);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  // Uncompressed records go straight into the new batch; compressed ones are joined for the codec.
  const packed = parts.length === 0 || codec === Compression.none ? null : compress(codec, Buffer.concat(parts), compressionLevel);
  const bodyBytes = packed?.length ?? parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + bodyBytes);
  batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
  out.writeInt32BE(BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD + bodyBytes, 8);
  if (parts.length === 0) out.writeInt16BE(attributes & ~ATTR_COMPRESSION_MASK, ATTRIBUTES_AT);
  out.writeInt32BE(parts.length, RECORD_COUNT_AT);
  if (packed !== null) packed.copy(out, BATCH_HEADER_BYTES);
  else {
    let pos = BATCH_HEADER_BYTES;
    for (const p of parts) pos += p.copy(out, pos);
  }
  out.writeUInt32BE(crc32c(out.subarray(CRC_START)), CRC_AT);
  return out;
}
