/**
 * OffsetIndex: the sparse `.index` file of a segment, in Kafka's format.
 *
 * Each entry is 8 bytes: relative offset (int32, offset - segment base offset) and the byte position
 * of the batch in the `.log` file (int32). One entry is added every `index.interval.bytes` of log.
 * Unlike Kafka we do not preallocate the file; it holds exactly the entries written. Entries are kept
 * in memory too, so a lookup never reads the file. After a crash the file is rebuilt from the log,
 * never trusted. Not thread-safe: owned by one LogSegment on the main thread.
 */
import { closeSync, ftruncateSync, openSync, readSync, fstatSync, writeSync } from 'node:fs';

export const OFFSET_INDEX_ENTRY = 8;

export class OffsetIndex {
  private relOffsets: Int32Array;
  private positions: Int32Array;
  private count = 0;
  private fd: number;

  constructor(readonly path: string, readonly baseOffset: number) {
    this.fd = openSync(path, 'a+');
    const size = fstatSync(this.fd).size;
    const n = Math.floor(size / OFFSET_INDEX_ENTRY);
    this.relOffsets = new Int32Array(Math.max(16, n));
    this.positions = new Int32Array(Math.max(16, n));
    if (n > 0) {
      const buf = Buffer.allocUnsafe(n * OFFSET_INDEX_ENTRY);
      readSync(this.fd, buf, 0, buf.length, 0);
      for (let i = 0; i < n; i++) {
        this.relOffsets[i] = buf.readInt32BE(i * 8);
        this.positions[i] = buf.readInt32BE(i * 8 + 4);
      }
      this.count = n;
    }
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
    const entry = Buffer.allocUnsafe(OFFSET_INDEX_ENTRY);
    entry.writeInt32BE(rel, 0);
    entry.writeInt32BE(position, 4);
    writeSync(this.fd, entry);
  }

  /** Drops every entry at or past `position` in the log (used when the log is truncated). */
  truncateToPosition(position: number): void {
    let n = this.count;
    while (n > 0 && this.positions[n - 1]! >= position) n--;
    this.count = n;
    ftruncateSync(this.fd, n * OFFSET_INDEX_ENTRY);
  }

  reset(): void {
    this.count = 0;
    ftruncateSync(this.fd, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}
