/**
 * TimeIndex: the sparse `.timeindex` file of a segment, in Kafka's format.
 *
 * Each entry is 12 bytes: the largest timestamp seen so far in the segment (int64) and the relative
 * offset of the batch that carried it (int32). Entries are only added when the timestamp grows, so a
 * lookup by time is a binary search. Rebuilt from the log after a crash. Not thread-safe.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

export const TIME_INDEX_ENTRY = 12;

export class TimeIndex {
  private timestamps: Float64Array;
  private relOffsets: Int32Array;
  private count = 0;
  private fd: number;

  constructor(readonly path: string, readonly baseOffset: number) {
    this.fd = openSync(path, 'a+');
    const n = Math.floor(fstatSync(this.fd).size / TIME_INDEX_ENTRY);
    this.timestamps = new Float64Array(Math.max(16, n));
    this.relOffsets = new Int32Array(Math.max(16, n));
    if (n > 0) {
      const buf = Buffer.allocUnsafe(n * TIME_INDEX_ENTRY);
      readSync(this.fd, buf, 0, buf.length, 0);
      for (let i = 0; i < n; i++) {
        this.timestamps[i] = Number(buf.readBigInt64BE(i * 12));
        this.relOffsets[i] = buf.readInt32BE(i * 12 + 8);
      }
      this.count = n;
    }
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
    const entry = Buffer.allocUnsafe(TIME_INDEX_ENTRY);
    entry.writeBigInt64BE(BigInt(timestamp), 0);
    entry.writeInt32BE(offset - this.baseOffset, 8);
    writeSync(this.fd, entry);
  }

  /** Drops entries for offsets >= `offset`. */
  truncateToOffset(offset: number): void {
    let n = this.count;
    while (n > 0 && this.baseOffset + this.relOffsets[n - 1]! >= offset) n--;
    this.count = n;
    ftruncateSync(this.fd, n * TIME_INDEX_ENTRY);
  }

  reset(): void {
    this.count = 0;
    ftruncateSync(this.fd, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}
