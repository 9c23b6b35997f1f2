/**
 * TimeIndex: the sparse `.timeindex` file of a segment, in Kafka's format.
 *
 * Each entry is 12 bytes: the largest timestamp seen so far in the segment (int64) and the relative
 * offset of the batch that carried it (int32). Entries are only added when the timestamp grows, so a
 * lookup by time is a binary search. Like OffsetIndex, entries reach the file in batches (`flush`)
 * and no descriptor is held. Rebuilt from the log after a crash. Not thread-safe.
 */
import { existsSync, readFileSync } from 'node:fs';
import { flushEntries, truncateEntries } from './index-file.js';

export const TIME_INDEX_ENTRY = 12;

export class TimeIndex {
  private timestamps: Float64Array;
  private relOffsets: Int32Array;
  private count = 0;
  /** Entries already in the file. */
  private written = 0;
  /** Whether the file may exist: created by the first flush (see OffsetIndex.onDisk). */
  private onDisk: boolean;

  constructor(readonly path: string, readonly baseOffset: number) {
    this.onDisk = existsSync(path);
    const buf = this.onDisk ? readFileSync(path) : Buffer.alloc(0);
    const n = Math.floor(buf.length / TIME_INDEX_ENTRY);
    this.timestamps = new Float64Array(Math.max(16, n));
    this.relOffsets = new Int32Array(Math.max(16, n));
    for (let i = 0; i < n; i++) {
      this.timestamps[i] = Number(buf.readBigInt64BE(i * 12));
      this.relOffsets[i] = buf.readInt32BE(i * 12 + 8);
    }
    this.count = n;
    this.written = n;
  }

  get entries(): number {
    return this.count;
  }

  get maxTimestamp(): number {
    return this.count === 0 ? -1 : this.timestamps[this.count - 1]!;
  }

  /** The entry with the largest timestamp <= target, or the segment start when none is. */
  lookup(target: number): { timestamp: number; offset: number } {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! <= target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return { timestamp: -1, offset: this.baseOffset };
    return { timestamp: this.timestamps[found]!, offset: this.baseOffset + this.relOffsets[found]! };
  }

  append(timestamp: number, offset: number): void {
    if (this.count > 0 && timestamp <= this.timestamps[this.count - 1]!) return;
    if (this.count === this.timestamps.length) {
      const t = new Float64Array(this.count * 2);
      t.set(this.timestamps);
      this.timestamps = t;
      const o = new Int32Array(this.count * 2);
      o.set(this.relOffsets);
      this.relOffsets = o;
    }
    this.timestamps[this.count] = timestamp;
    this.relOffsets[this.count] = offset - this.baseOffset;
    this.count++;
  }

  /** Writes the entries the file does not have yet. */
  flush(): void {
    if (this.written >= this.count) return;
    const buf = Buffer.allocUnsafe((this.count - this.written) * TIME_INDEX_ENTRY);
    for (let i = this.written, at = 0; i < this.count; i++, at += TIME_INDEX_ENTRY) {
      buf.writeBigInt64BE(BigInt(this.timestamps[i]!), at);
      buf.writeInt32BE(this.relOffsets[i]!, at + 8);
    }
    flushEntries(this.path, buf, this.written * TIME_INDEX_ENTRY);
    this.onDisk = true;
    this.written = this.count;
  }

  /** Drops entries for offsets >= `offset`. */
  truncateToOffset(offset: number): void {
    let n = this.count;
    while (n > 0 && this.baseOffset + this.relOffsets[n - 1]! >= offset) n--;
    this.truncateTo(n);
  }

  reset(): void {
    this.truncateTo(0);
  }

  private truncateTo(n: number): void {
    this.count = n;
    if (this.onDisk && (this.written > n || n === 0)) truncateEntries(this.path, n * TIME_INDEX_ENTRY);
    this.written = Math.min(this.written, n);
  }
}
