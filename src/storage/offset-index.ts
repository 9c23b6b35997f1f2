/**
 * OffsetIndex: the sparse `.index` file of a segment, in Kafka's format.
 *
 * Each entry is 8 bytes: relative offset (int32, offset - segment base offset) and the byte position
 * of the batch in the `.log` file (int32). One entry is added every `index.interval.bytes` of log.
 * Unlike Kafka we do not preallocate the file; it holds exactly the entries written, and a new
 * segment's file does not exist until its first entry is flushed. Entries live in
 * memory, so a lookup never reads the file, and reach the file in batches (`flush`: on roll, close
 * and the broker's checkpoint tick) with no descriptor held in between: a broker with many
 * thousands of partitions must not spend three descriptors on each, nor a write syscall per batch.
 * The file is not part of durability: after a crash it is rebuilt from the log, never trusted.
 * Not thread-safe: owned by one LogSegment on the main thread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { flushEntries, truncateEntries } from './index-file.js';

export const OFFSET_INDEX_ENTRY = 8;

export class OffsetIndex {
  private relOffsets: Int32Array;
  private positions: Int32Array;
  private count = 0;
  /** Entries already in the file. */
  private written = 0;
  /**
   * Whether the file may exist. A new segment's index file is created by its first flush, not at
   * the segment's creation: every new partition would otherwise cost two more file creations, and
   * creating files is what a topic of thousands of partitions spends its time on.
   */
  private onDisk: boolean;

  constructor(readonly path: string, readonly baseOffset: number) {
    this.onDisk = existsSync(path);
    const buf = this.onDisk ? readFileSync(path) : Buffer.alloc(0);
    const n = Math.floor(buf.length / OFFSET_INDEX_ENTRY);
    this.relOffsets = new Int32Array(Math.max(16, n));
    this.positions = new Int32Array(Math.max(16, n));
    for (let i = 0; i < n; i++) {
      this.relOffsets[i] = buf.readInt32BE(i * 8);
      this.positions[i] = buf.readInt32BE(i * 8 + 4);
    }
    this.count = n;
    this.written = n;
  }

  get entries(): number {
    return this.count;
  }

  /** Largest entry whose offset is <= target, or the segment start when none is. */
  lookup(target: number): { offset: number; position: number } {
    const rel = target - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relOffsets[mid]! <= rel) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + this.relOffsets[found]!, position: this.positions[found]! };
  }

  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    if (this.count > 0 && rel <= this.relOffsets[this.count - 1]!) return;
    if (this.count === this.relOffsets.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.relOffsets = grow(this.relOffsets);
      this.positions = grow(this.positions);
    }
    this.relOffsets[this.count] = rel;
    this.positions[this.count] = position;
    this.count++;
  }

  /** Writes the entries the file does not have yet. */
  flush(): void {
    if (this.written >= this.count) return;
    const buf = Buffer.allocUnsafe((this.count - this.written) * OFFSET_INDEX_ENTRY);
    for (let i = this.written, at = 0; i < this.count; i++, at += OFFSET_INDEX_ENTRY) {
      buf.writeInt32BE(this.relOffsets[i]!, at);
      buf.writeInt32BE(this.positions[i]!, at + 4);
    }
    flushEntries(this.path, buf, this.written * OFFSET_INDEX_ENTRY);
    this.onDisk = true;
    this.written = this.count;
  }

  /** Drops every entry at or past `position` in the log (used when the log is truncated). */
  truncateToPosition(position: number): void {
    let n = this.count;
    while (n > 0 && this.positions[n - 1]! >= position) n--;
    this.truncateTo(n);
  }

  reset(): void {
    this.truncateTo(0);
  }

  private truncateTo(n: number): void {
    this.count = n;
    if (this.onDisk && (this.written > n || n === 0)) truncateEntries(this.path, n * OFFSET_INDEX_ENTRY);
    this.written = Math.min(this.written, n);
  }
}
