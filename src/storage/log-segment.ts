/**
 * LogSegment: one `<20-digit base offset>.log` file of a partition with its `.index` and `.timeindex`.
 *
 * The `.log` holds record batches exactly as they travel on the wire (v2 format), with the assigned
 * base offset and leader epoch (and, for LogAppendTime, the append time) written in by the native
 * append. The segment's index is its BatchTable: a dense in-memory table of its batches (base/last
 * offset, position, size, max timestamp), so a fetch finds its byte range without a single read
 * syscall and sends it with sendfile. The table is built on append, by recovery, or by a header scan
 * when the segment is opened. The `.index` and `.timeindex` files are written for operators and
 * Kafka's tools (IndexWriter) and never read back. Not thread-safe: owned by its Log on the main thread.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, unlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as native from '../native/index.js';
import type { ValidatedBatches } from '../native/index.js';
import * as facts from './batch-facts.js';
import { IndexWriter, OFFSET_INDEX, TIME_INDEX } from './index-file.js';
import { closeWhenUnpinned } from './file-pins.js';
import { asFilePosition, asOffset, type FilePosition, type Offset } from './types.js';
import type { FileRegion } from '../protocol/primitives.js';

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/**
 * The segment's index: growable columns of per-batch facts (base and last offset, file position,
 * size, max timestamp), one row per batch in file order. Every lookup (a Fetch's byte range,
 * ListOffsets by time) is a search here; nothing reads the index files.
 */
class BatchTable {
  base = new Float64Array(64);
  last = new Float64Array(64);
  pos = new Float64Array(64);
  size = new Float64Array(64);
  maxTs = new Float64Array(64);
  count = 0;

  push(base: number, last: number, pos: number, size: number, maxTs: number): void {
    if (this.count === this.base.length) {
      const grow = (a: Float64Array): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.base = grow(this.base);
      this.last = grow(this.last);
      this.pos = grow(this.pos);
      this.size = grow(this.size);
      this.maxTs = grow(this.maxTs);
    }
    const i = this.count++;
    this.base[i] = base;
    this.last[i] = last;
    this.pos[i] = pos;
    this.size[i] = size;
    this.maxTs[i] = maxTs;
  }

  /** Index of the first batch whose last offset is >= offset, or count if none. */
  findByOffset(offset: Offset): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.last[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** What LogSegment.read is asked for. */
export interface SegmentReadRequest {
  /** The offset to read from: the batch holding it comes whole. */
  readonly from: Offset;
  /** Batches starting at or past this offset are left out (the high watermark). */
  readonly below: Offset;
  /** Byte budget: whole batches only, none past it... */
  readonly maxBytes: number;
  /** ...except the first batch, which comes whole even when larger (KIP-74) when this is set. */
  readonly minOneBatch: boolean;
  /** The largest batch a header scan accepts, should the table still have to be built. */
  readonly maxBatchBytes: number;
}

export interface SegmentRead {
  region: FileRegion | null;
  /** First offset of the first batch sent (may be below the requested offset: whole batches only). */
  firstOffset: Offset;
  /** Offset just past the last batch sent. */
  nextOffset: Offset;
  /**
   * True when a batch at or after `from` (and below `below`) was left out for the byte budget: the
   * read must end here. False when the segment simply had nothing more to give.
   */
  budgetSpent: boolean;
}

export class LogSegment {
  readonly fd: number;
  /** Bytes of whole batches in the file: where the next append goes. */
  size: number;
  private readonly offsetIndex: IndexWriter;
  private readonly timeIndex: IndexWriter;
  private table: BatchTable | null = null;
  private bytesSinceIndex = 0;
  /** When the oldest index entry not yet in the index files was made (0: none waiting). */
  private indexesDirtySince = 0;
  private deleted = false;
  /** Offset after the last batch; baseOffset when empty. */
  nextOffset: Offset;
  maxTimestamp = -1;
  readonly createdMs: number;

  private constructor(
    readonly dir: string,
    readonly baseOffset: Offset,
    private readonly indexIntervalBytes: number,
  ) {
    this.fd = openSync(this.path, existsSync(this.path) ? 'r+' : 'w+');
    this.size = fstatSync(this.fd).size;
    this.offsetIndex = new IndexWriter(join(dir, segmentFileName(baseOffset, '.index')), OFFSET_INDEX);
    this.timeIndex = new IndexWriter(join(dir, segmentFileName(baseOffset, '.timeindex')), TIME_INDEX);
    this.nextOffset = baseOffset;
    this.createdMs = Date.now();
  }

  get path(): string {
    return join(this.dir, segmentFileName(this.baseOffset, '.log'));
  }

  static create(dir: string, baseOffset: Offset, indexIntervalBytes: number): LogSegment {
    const s = new LogSegment(dir, baseOffset, indexIntervalBytes);
    s.offsetIndex.reset();
    s.timeIndex.reset();
    s.table = new BatchTable();
    return s;
  }

  /**
   * Opens an existing segment. With `recover`, every batch is CRC-checked, the file is cut after the
   * last good batch and the indexes are rebuilt; returns how many bytes were cut.
   */
  static open(
    dir: string,
    baseOffset: Offset,
    indexIntervalBytes: number,
    recover: boolean,
    maxBatchBytes: number,
  ): { segment: LogSegment; truncatedBytes: number; stopReason: string | null } {
    const s = new LogSegment(dir, baseOffset, indexIntervalBytes);
    if (!recover) {
      // A clean segment: its last offset comes from the table, built now (header scan only).
      s.loadTable(maxBatchBytes);
      return { segment: s, truncatedBytes: 0, stopReason: null };
    }
    const scan = native.scanSegment(s.fd, 0, s.size, true, maxBatchBytes);
    const truncatedBytes = s.size - scan.validEnd;
    if (truncatedBytes > 0) {
      ftruncateSync(s.fd, scan.validEnd);
      s.size = scan.validEnd;
    }
    s.offsetIndex.reset();
    s.timeIndex.reset();
    s.table = new BatchTable();
    s.indexBatches(scan.batches, true);
    return { segment: s, truncatedBytes, stopReason: truncatedBytes > 0 ? scan.stopReason : null };
  }

  /** Per-batch facts of this segment in the native packed layout (for producer-state rebuilds). */
  scanBatches(maxBatchBytes: number): Float64Array {
    return native.scanSegment(this.fd, 0, this.size, false, maxBatchBytes).batches;
  }

  private loadTable(maxBatchBytes: number): BatchTable {
    if (this.table !== null) return this.table;
    const scan = native.scanSegment(this.fd, 0, this.size, false, maxBatchBytes);
    this.table = new BatchTable();
    this.indexBatches(scan.batches, false);
    // Anything past the last whole batch is unreachable; a clean segment has nothing there.
    this.size = scan.validEnd;
    if (this.table.count > 0) {
      // The index files already hold these batches' entries: new ones go after them.
      this.offsetIndex.resumeAfter(this.nextOffset - 1 - this.baseOffset);
      this.timeIndex.resumeAfter(this.maxTimestamp);
    }
    return this.table;
  }

  /** Adds packed batches (positions relative to the file) to the table and, if asked, the index files. */
  private indexBatches(b: facts.PackedFacts, writeIndexes: boolean): void {
    const t = this.table!;
    const n = facts.batchCount(b);
    for (let k = 0; k < n; k++) {
      const base = facts.baseOffset(b, k);
      const last = base + facts.lastOffsetDelta(b, k);
      const pos = facts.position(b, k);
      const size = facts.size(b, k);
      const maxTs = facts.maxTimestamp(b, k);
      t.push(base, last, pos, size, maxTs);
      if (writeIndexes) this.indexEntry(last, pos, size, maxTs);
      this.nextOffset = asOffset(last + 1);
      if (maxTs > this.maxTimestamp) this.maxTimestamp = maxTs;
    }
  }

  private indexEntry(lastOffset: number, position: number, size: number, maxTs: number): void {
    // Kafka indexes a batch by its position once index.interval.bytes have accumulated since the last entry.
    if (this.bytesSinceIndex >= this.indexIntervalBytes || this.offsetIndex.entries === 0) {
      this.offsetIndex.append(lastOffset - this.baseOffset, position);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += size;
    this.timeIndex.append(maxTs, lastOffset - this.baseOffset);
    if (this.indexesDirtySince === 0) this.indexesDirtySince = Date.now();
  }

  /** Whether index entries have waited at least `ageMs` for their files (LogManager.flushDueIndexes). */
  indexFlushDue(now: number, ageMs: number): boolean {
    return this.indexesDirtySince !== 0 && now - this.indexesDirtySince >= ageMs;
  }

  /**
   * Appends a validated payload (`validated` from native.validateBatches for `payload`, still
   * current) at the end of the file. Offsets are assigned from `firstOffset`; with `logAppendTime`
   * >= 0 the batches are stamped with it (see native.appendBatches). Returns the next offset.
   */
  append(payload: Buffer, validated: ValidatedBatches, firstOffset: Offset, leaderEpoch: number, logAppendTime: number): Offset {
    const t = this.table ?? this.loadTable(Number.MAX_SAFE_INTEGER);
    const start: FilePosition = asFilePosition(this.size);
    let next: Offset;
    try {
      next = asOffset(native.appendBatches(this.fd, start, payload, validated, firstOffset, leaderEpoch, logAppendTime));
    } catch (err) {
      // A failed write may have left part of the payload in the file: cut it so no torn batch stays.
      try {
        ftruncateSync(this.fd, start);
      } catch {
        // The disk is failing; recovery will cut the tail at the next start.
      }
      throw err;
    }
    // The rows now describe the stored batches (maxTimestamp stamped for LogAppendTime).
    const b = validated.batches;
    let offset: number = firstOffset;
    for (let k = 0; k < validated.count; k++) {
      const last = offset + facts.lastOffsetDelta(b, k);
      const pos = start + facts.position(b, k);
      const size = facts.size(b, k);
      const maxTs = facts.maxTimestamp(b, k);
      t.push(offset, last, pos, size, maxTs);
      this.indexEntry(last, pos, size, maxTs);
      if (maxTs > this.maxTimestamp) this.maxTimestamp = maxTs;
      offset = last + 1;
    }
    this.size = start + payload.length;
    this.nextOffset = next;
    return next;
  }

  /**
   * The byte range of whole batches starting with the one that holds `from`, ending before
   * `below` (exclusive) and within `maxBytes` — except that the first batch is always included
   * when `minOneBatch` is set, as Kafka does (KIP-74) so a consumer can make progress.
   */
  read({ from, below, maxBytes, minOneBatch, maxBatchBytes }: SegmentReadRequest): SegmentRead {
    const t = this.loadTable(maxBatchBytes);
    let i = t.findByOffset(from);
    if (i >= t.count || t.base[i]! >= below) return { region: null, firstOffset: from, nextOffset: from, budgetSpent: false };
    const first = i;
    const startPos = t.pos[i]!;
    let bytes = 0;
    let budgetSpent = false;
    while (i < t.count && t.base[i]! < below) {
      const sz = t.size[i]!;
      if (bytes + sz > maxBytes && !(minOneBatch && i === first)) {
        budgetSpent = true;
        break;
      }
      bytes += sz;
      i++;
    }
    if (bytes === 0) return { region: null, firstOffset: from, nextOffset: from, budgetSpent };
    return {
      region: { fd: this.fd, position: startPos, length: bytes },
      firstOffset: asOffset(t.base[first]!),
      nextOffset: asOffset(t.last[i - 1]! + 1),
      budgetSpent,
    };
  }

  /** First offset whose batch has max timestamp >= ts, with that timestamp; null if none. */
  findByTimestamp(ts: number, maxBatchBytes: number): { offset: Offset; timestamp: number } | null {
    const t = this.loadTable(maxBatchBytes);
    for (let i = 0; i < t.count; i++) {
      if (t.maxTs[i]! >= ts) return { offset: asOffset(Math.max(t.base[i]!, this.baseOffset)), timestamp: t.maxTs[i]! };
    }
    return null;
  }

  /** The offset of the batch holding the segment's largest timestamp. */
  maxTimestampOffset(maxBatchBytes: number): { offset: Offset; timestamp: number } | null {
    const t = this.loadTable(maxBatchBytes);
    let best = -1;
    for (let i = 0; i < t.count; i++) if (best < 0 || t.maxTs[i]! > t.maxTs[best]!) best = i;
    return best < 0 ? null : { offset: asOffset(t.last[best]!), timestamp: t.maxTs[best]! };
  }

  get batchCount(): number {
    return this.table?.count ?? 0;
  }

  /**
   * Writes index entries not yet in the index files (on a roll, a close, the checkpoint tick).
   * Returns the error instead of throwing: the index files serve operators and Kafka's tools, franz
   * never reads them back for lookups, and a failed write is retried at the next flush.
   */
  flushIndexes(): Error | null {
    if (this.deleted) return null;
    try {
      this.offsetIndex.flush();
      this.timeIndex.flush();
      this.indexesDirtySince = 0;
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  /**
   * Cuts the segment before the batch holding `offset` (a follower truncating to where its leader's
   * log and its own part ways): the file, the batch table and the index files. Returns the offset
   * the segment now ends at. Nobody may be reading the cut bytes: a follower's logs serve no one.
   */
  truncateTo(offset: Offset, maxBatchBytes: number): Offset {
    const t = this.table ?? this.loadTable(maxBatchBytes);
    const i = t.findByOffset(offset);
    if (i >= t.count) return this.nextOffset;
    const pos = t.pos[i]!;
    ftruncateSync(this.fd, pos);
    t.count = i;
    this.size = pos;
    this.nextOffset = asOffset(i > 0 ? t.last[i - 1]! + 1 : this.baseOffset);
    this.maxTimestamp = -1;
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.bytesSinceIndex = 0;
    for (let k = 0; k < i; k++) {
      this.indexEntry(t.last[k]!, t.pos[k]!, t.size[k]!, t.maxTs[k]!);
      if (t.maxTs[k]! > this.maxTimestamp) this.maxTimestamp = t.maxTs[k]!;
    }
    return this.nextOffset;
  }

  /** Writes the index files anew from the batch table (a segment the log cleaner made). */
  rewriteIndexes(): void {
    const t = this.table!;
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.bytesSinceIndex = 0;
    for (let k = 0; k < t.count; k++) this.indexEntry(t.last[k]!, t.pos[k]!, t.size[k]!, t.maxTs[k]!);
    this.flushIndexes();
  }

  close(): void {
    this.flushIndexes();
    closeSync(this.fd);
  }

  /**
   * Removes the segment's files (unless the caller moves the whole directory). The descriptor is
   * closed once no Fetch response still to be written names it (see file-pins.ts).
   */
  delete(unlink = true): void {
    // Nothing may write (and so recreate) the index files from now on.
    this.deleted = true;
    // A whole log's deletion moves its directory aside instead (LogManager.drop).
    if (unlink)
      for (const suffix of ['.log', '.index', '.timeindex', '.txnindex']) {
        try {
          unlinkSync(join(this.dir, segmentFileName(this.baseOffset, suffix)));
        } catch {
          // Already gone: nothing to delete.
        }
      }
    closeWhenUnpinned(this.fd, () => this.close());
  }
}
