/**
 * One clean of one partition's log (Kafka's Cleaner.doClean), as a function of files: it runs in
 * a piscina worker thread (cleaner-worker.ts), never on the event loop. It reads, decompresses,
 * deduplicates and writes; the main thread only swaps the files it wrote in (LogCleaner, Log).
 *
 * 1. Map: from the first dirty offset up to the first uncleanable one, each key's latest offset
 *    goes into an OffsetMap of fixed memory. Control batches and aborted transactions' records
 *    are left out (an aborted write must not hide an older committed value). A full map ends the
 *    mapping early; this clean then covers what was mapped (`endOffset`), the next one the rest.
 * 2. Copy: the segments below `endOffset`, in groups whose sizes add up to at most segment.bytes,
 *    each group into one `<base>.log.cleaned` file. A record stays unless a later record of its key
 *    is mapped, it has no key, or it is a tombstone (null value) in a segment last written before
 *    the delete horizon (now - delete.retention.ms). Records at or past `endOffset` always stay.
 *    Aborted transactions' batches go; transaction markers stay. A batch losing no record is
 *    copied byte for byte; one losing some is re-encoded with the same base and last offset,
 *    producer fields and codec (retainedBatch, from the records' own bytes); one losing all goes, unless it is its
 *    producer's last batch, which stays empty so that the producer's sequence survives.
 *
 * Each `.cleaned` file is fsynced and given the newest modification time of its sources (the
 * tombstone horizon reads it). Nothing else in the directory is touched.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, rmSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_AT,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  decompress,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  retainedBatch,
  scanRecords,
} from '../records/record-batch.js';
import { KeyDigests, OffsetMap } from './offset-map.js';

/** A segment as the clean sees it. Closed segments do not change while it runs. */
export interface CleanSegment {
  readonly base: number;
  /** Bytes of whole batches in the file when the clean was planned. */
  readonly size: number;
}

/** An aborted transaction: the producer's batches from firstOffset up to the marker at lastOffset. */
export interface CleanAbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface CleanTask {
  readonly dir: string;
  /** The log's closed segments from its start, in order; the clean reads no further than these. */
  readonly segments: readonly CleanSegment[];
  readonly firstDirtyOffset: number;
  /** No record at or past this offset is mapped (active segment, last stable offset, min.compaction.lag.ms). */
  readonly firstUncleanableOffset: number;
  /** The clean's time (ms): tombstones in segments last modified deleteRetentionMs before it are removed. */
  readonly now: number;
  /** delete.retention.ms. */
  readonly deleteRetentionMs: number;
  readonly aborted: readonly CleanAbortedTxn[];
  /** Per producer id, the last offset of its newest batch in the log (its batch is kept even when emptied). */
  readonly producerLastOffsets: ReadonlyArray<readonly [number, number]>;
  readonly segmentBytes: number;
  /** OffsetMap memory for this clean. */
  readonly mapBytes: number;
  readonly maxBatchBytes: number;
}

export interface CleanedGroup {
  /** The base offset of the group's first source segment: the cleaned segment's name. */
  readonly base: number;
  readonly sources: readonly number[];
  /** The `.cleaned` file (empty of batches when nothing in the group survived). */
  readonly file: string;
  readonly bytes: number;
}

export interface CleanResult {
  readonly groups: readonly CleanedGroup[];
  /** Everything below this offset is clean now: the next clean's first dirty offset. */
  readonly endOffset: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly recordsRead: number;
  readonly recordsRemoved: number;
  /** The earliest time (ms) a kept tombstone passes its delete horizon, or -1 if none was kept. */
  readonly nextTombstoneExpiryMs: number;
}

/** Reads whole batches of a segment file in chunks, so memory stays at a chunk and one batch. */
function* batchesOf(path: string, size: number, maxBatchBytes: number): Generator<{ bytes: Buffer; base: number; last: number }> {
  const fd = openSync(path, 'r');
  try {
    let chunk = Buffer.allocUnsafe(Math.min(Math.max(size, 1), 8 << 20));
    let filled = 0;
    let used = 0;
    let filePos = 0;
    for (;;) {
      if (filled - used < BATCH_LOG_OVERHEAD || filled - used < BATCH_LOG_OVERHEAD + chunk.readInt32BE(used + 8)) {
        // Move what is left to the front and read more.
        chunk.copy(chunk, 0, used, filled);
        filled -= used;
        used = 0;
        if (filled >= BATCH_LOG_OVERHEAD) {
          const need = BATCH_LOG_OVERHEAD + chunk.readInt32BE(8);
          if (need > maxBatchBytes || need < BATCH_LOG_OVERHEAD) throw new Error(`${path}: batch of ${need} bytes at ${filePos - filled}`);
          if (need > chunk.length) {
            const bigger = Buffer.allocUnsafe(need);
            chunk.copy(bigger, 0, 0, filled);
            chunk = bigger;
          }
        }
        const want = Math.min(chunk.length - filled, size - filePos);
        if (want <= 0) {
          if (filled !== 0) throw new Error(`${path}: ${filled} bytes after the last whole batch`);
          return;
        }
        const n = readSync(fd, chunk, filled, want, filePos);
        if (n <= 0) throw new Error(`${path}: short read at ${filePos}`);
        filled += n;
        filePos += n;
        continue;
      }
      const len = BATCH_LOG_OVERHEAD + chunk.readInt32BE(used + 8);
      const base = Number(chunk.readBigInt64BE(used));
      const last = base + chunk.readInt32BE(used + 23);
      yield { bytes: chunk.subarray(used, used + len), base, last };
      used += len;
    }
  } finally {
    closeSync(fd);
  }
}

function segmentPath(dir: string, base: number): string {
  return join(dir, `${String(base).padStart(20, '0')}.log`);
}

/** The header fields of a stored batch the clean reads, straight from its bytes. */
interface BatchView {
  readonly base: number;
  readonly attributes: number;
  readonly producerId: number;
  readonly recordCount: number;
}

function viewOf(bytes: Buffer, base: number): BatchView {
  return {
    base,
    attributes: bytes.readInt16BE(ATTRIBUTES_AT),
    producerId: Number(bytes.readBigInt64BE(PRODUCER_ID_AT)),
    recordCount: bytes.readInt32BE(RECORD_COUNT_AT),
  };
}

/** Whether the batch belongs to an aborted transaction. */
function isAborted(b: BatchView, aborted: readonly CleanAbortedTxn[]): boolean {
  if ((b.attributes & ATTR_TRANSACTIONAL) === 0 || (b.attributes & ATTR_CONTROL) !== 0) return false;
  for (const t of aborted) if (t.producerId === b.producerId && b.base >= t.firstOffset && b.base < t.lastOffset) return true;
  return false;
}

/** The largest dirty range (in offsets) tracked in a bitset: 8 MiB of bits. */
const MAX_BITSET_OFFSETS = 64 * 1024 * 1024;

/** Runs one clean (see the top). Throws on an I/O error or a batch it cannot decode; its files are then removed. */
export function runClean(task: CleanTask): CleanResult {
  const map = new OffsetMap(task.mapBytes);
  const keys = new KeyDigests();
  // Per keyed record of the batch being mapped: its offset, by its index in `keys`.
  let keyOffsets = new Float64Array(1024);
  // The records section, decompressed (bounded) when the batch is compressed; a view otherwise.
  const recordsOf = (bytes: Buffer, v: BatchView): Buffer =>
    decompress(v.attributes & ATTR_COMPRESSION_MASK, bytes.subarray(BATCH_HEADER_BYTES), 16 * task.maxBatchBytes);
  let bytesRead = 0;

  // 1. Map the dirty section. Each record a later one of its key replaces is marked in a bitset
  // (by its offset's distance from the first dirty offset), so that the copy needs no second
  // hash of a dirty record's key; records below the dirty section are looked up in the map.
  let endOffset = task.firstDirtyOffset;
  const range = task.firstUncleanableOffset - task.firstDirtyOffset;
  const superseded = range > 0 && range <= MAX_BITSET_OFFSETS ? new Uint8Array(Math.ceil(range / 8)) : null;
  const mark = (offset: number): void => {
    const i = offset - task.firstDirtyOffset;
    superseded![i >>> 3]! |= 1 << (i & 7);
  };
  const isSuperseded = (offset: number): boolean => {
    const i = offset - task.firstDirtyOffset;
    return (superseded![i >>> 3]! & (1 << (i & 7))) !== 0;
  };
  mapping: for (let i = 0; i < task.segments.length; i++) {
    const s = task.segments[i]!;
    const next = task.segments[i + 1]?.base ?? Number.MAX_SAFE_INTEGER;
    if (next <= task.firstDirtyOffset) continue;
    if (s.base >= task.firstUncleanableOffset) break;
    for (const b of batchesOf(segmentPath(task.dir, s.base), s.size, task.maxBatchBytes)) {
      if (b.last < task.firstDirtyOffset) continue;
      if (b.base >= task.firstUncleanableOffset) break mapping;
      bytesRead += b.bytes.length;
      const v = viewOf(b.bytes, b.base);
      if ((v.attributes & ATTR_CONTROL) === 0 && !isAborted(v, task.aborted)) {
        // A batch is mapped whole or not at all, so endOffset falls between batches.
        if (map.size + v.recordCount > map.capacity) break mapping;
        const data = recordsOf(b.bytes, v);
        keys.reset();
        scanRecords(data, v.recordCount, (r) => {
          if (r.keyLength < 0) return;
          const i = keys.add(r.keyAt, r.keyLength);
          if (i >= keyOffsets.length) {
            const bigger = new Float64Array(keyOffsets.length * 2);
            bigger.set(keyOffsets);
            keyOffsets = bigger;
          }
          keyOffsets[i] = v.base + r.offsetDelta;
        });
        keys.hash(data);
        for (let i = 0; i < keys.count; i++) {
          const previous = map.put(keys, i, keyOffsets[i]!);
          if (previous >= task.firstDirtyOffset && superseded !== null) mark(previous);
        }
      }
      endOffset = b.last + 1;
    }
  }

  // 2. Copy the segments below endOffset, grouped by size.
  const sources = task.segments.filter((s) => s.base < endOffset);
  const groups: CleanSegment[][] = [];
  for (const s of sources) {
    const g = groups[groups.length - 1];
    const sum = g?.reduce((n, x) => n + x.size, 0) ?? 0;
    // Kafka's offset indexes hold 32-bit offsets relative to the segment's base.
    const fits = g !== undefined && sum + s.size <= task.segmentBytes && s.base - g[0]!.base < 0x7fffffff - 1_000_000;
    if (fits) g.push(s);
    else groups.push([s]);
  }
  const producerLast = new Map(task.producerLastOffsets);
  const out: CleanedGroup[] = [];
  let bytesWritten = 0;
  let recordsRead = 0;
  let recordsRemoved = 0;
  let nextTombstoneExpiryMs = -1;
  const written: string[] = [];
  try {
    for (const g of groups) {
      const file = `${segmentPath(task.dir, g[0]!.base)}.cleaned`;
      written.push(file);
      const fd = openSync(file, 'w');
      let bytes = 0;
      let newestMtime = 0;
      try {
        for (const s of g) {
          const path = segmentPath(task.dir, s.base);
          const mtimeMs = fstatMtime(path);
          newestMtime = Math.max(newestMtime, mtimeMs);
          const tombstonesExpire = mtimeMs < task.now - task.deleteRetentionMs;
          for (const b of batchesOf(path, s.size, task.maxBatchBytes)) {
            bytesRead += b.bytes.length;
            const v = viewOf(b.bytes, b.base);
            recordsRead += v.recordCount;
            let keep: Buffer | null;
            if ((v.attributes & ATTR_CONTROL) !== 0) keep = b.bytes;
            else if (isAborted(v, task.aborted)) {
              recordsRemoved += v.recordCount;
              keep = null;
            } else {
              const data = recordsOf(b.bytes, v);
              // Keys whose fate the bitset does not tell (below the dirty section) are looked up
              // in the map: hashed together first, in one call.
              const lookup = (offset: number): boolean => offset < endOffset && (superseded === null || offset < task.firstDirtyOffset);
              keys.reset();
              // A batch wholly in the dirty section (with the bitset) needs no lookup: one scan.
              if (superseded === null || v.base < task.firstDirtyOffset) {
                scanRecords(data, v.recordCount, (r) => {
                  if (r.keyLength >= 0 && lookup(v.base + r.offsetDelta)) keys.add(r.keyAt, r.keyLength);
                });
                keys.hash(data);
              }
              let looked = 0;
              const parts: Buffer[] = [];
              scanRecords(data, v.recordCount, (r) => {
                const offset = v.base + r.offsetDelta;
                let stays = true;
                if (offset < endOffset) {
                  if (r.keyLength < 0) stays = false;
                  else if (lookup(offset)) stays = map.get(keys, looked++) <= offset;
                  else stays = !isSuperseded(offset);
                  if (stays && r.valueLength < 0) {
                    if (tombstonesExpire) stays = false;
                    else {
                      const expiry = mtimeMs + task.deleteRetentionMs;
                      if (nextTombstoneExpiryMs < 0 || expiry < nextTombstoneExpiryMs) nextTombstoneExpiryMs = expiry;
                    }
                  }
                }
                if (stays) parts.push(data.subarray(r.start, r.end));
              });
              recordsRemoved += v.recordCount - parts.length;
              if (parts.length === v.recordCount) keep = b.bytes;
              else if (parts.length > 0 || (v.producerId >= 0 && producerLast.get(v.producerId) === b.last))
                keep = retainedBatch(b.bytes, parts);
              else keep = null;
            }
            if (keep !== null) {
              writeAll(fd, keep, bytes);
              bytes += keep.length;
            }
          }
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      // The cleaned segment is as old as its newest source: the tombstone horizon reads this.
      const when = new Date(newestMtime);
      utimesSync(file, when, when);
      bytesWritten += bytes;
      out.push({ base: g[0]!.base, sources: g.map((s) => s.base), file, bytes });
    }
  } catch (err) {
    for (const f of written) rmSync(f, { force: true });
    throw err;
  }
  return { groups: out, endOffset, bytesRead, bytesWritten, recordsRead, recordsRemoved, nextTombstoneExpiryMs };
}

function fstatMtime(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).mtimeMs;
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done);
}
