/**
 * OffsetMap: the log cleaner's key -> latest offset table (Kafka's SkimpyOffsetMap). A key is
 * stored as its 16-byte MD5 digest, not its bytes, so an entry costs 24 bytes whatever the key's
 * size and the table's memory is fixed when it is made: `log.cleaner.dedupe.buffer.size` divided
 * among `log.cleaner.threads`. Two keys sharing a digest would make the older one's records look
 * superseded; with 128-bit digests that is as unlikely as in Kafka, which makes the same trade.
 *
 * Open addressing with linear probing in two typed arrays; the table is "full" at 90% load
 * (Kafka's log.cleaner.io.buffer.load.factor), when the cleaner stops mapping and cleans what it
 * has mapped so far.
 */
import * as crypto from 'node:crypto';

/**
 * MD5 of a key: Node's one-shot `crypto.hash` (Node >= 20.12) costs half of a createHash object
 * per key, and the cleaner hashes every key of a log twice.
 */
const md5: (key: Uint8Array) => Buffer =
  typeof crypto.hash === 'function' ? (key) => crypto.hash('md5', key, 'buffer') : (key) => crypto.createHash('md5').update(key).digest();

const HASH_BYTES = 16;
/** Bytes per entry: the digest and the offset (a float64 holds every offset exactly). */
export const OFFSET_MAP_ENTRY_BYTES = HASH_BYTES + 8;
const LOAD_FACTOR = 0.9;

export class OffsetMap {
  private readonly hashes: Uint8Array;
  private readonly offsets: Float64Array;
  private readonly slots: number;
  private used = 0;
  /** How many entries fit before the map counts as full. */
  readonly capacity: number;

  constructor(memoryBytes: number) {
    this.slots = Math.max(16, Math.floor(memoryBytes / OFFSET_MAP_ENTRY_BYTES));
    this.capacity = Math.floor(this.slots * LOAD_FACTOR);
    this.hashes = new Uint8Array(this.slots * HASH_BYTES);
    this.offsets = new Float64Array(this.slots).fill(-1);
  }

  get size(): number {
    return this.used;
  }

  get full(): boolean {
    return this.used >= this.capacity;
  }

  /**
   * Records `offset` as the latest of the key at `buf[at, at + length)` (offsets come in increasing
   * order). Returns the offset it replaces, or -1 for a key not seen before.
   */
  put(buf: Buffer, at: number, length: number, offset: number): number {
    const digest = md5(buf.subarray(at, at + length));
    const slot = this.find(digest);
    const previous = this.offsets[slot]!;
    if (previous === -1) {
      if (this.full) throw new Error('offset map is full');
      this.hashes.set(digest, slot * HASH_BYTES);
      this.used++;
    }
    this.offsets[slot] = offset;
    return previous;
  }

  /** The latest offset recorded for the key at `buf[at, at + length)`, or -1. */
  get(buf: Buffer, at: number, length: number): number {
    return this.offsets[this.find(md5(buf.subarray(at, at + length)))]!;
  }

  /** The slot holding `digest`, or the empty slot where it would go. */
  private find(digest: Buffer): number {
    let slot = digest.readUInt32BE(0) % this.slots;
    for (;;) {
      if (this.offsets[slot] === -1) return slot;
      const at = slot * HASH_BYTES;
      let same = true;
      for (let i = 0; i < HASH_BYTES; i++) {
        if (this.hashes[at + i] !== digest[i]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }
}
