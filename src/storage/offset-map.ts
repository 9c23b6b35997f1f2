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
import { md5Keys } from '../native/index.js';

const HASH_BYTES = 16;
/** Bytes per entry: the digest and the offset (a float64 holds every offset exactly). */
export const OFFSET_MAP_ENTRY_BYTES = HASH_BYTES + 8;
const LOAD_FACTOR = 0.9;

/**
 * The digests of a batch's keys, hashed in one call into the addon (hashing each key from
 * JavaScript cost more than the rest of a clean; docs/perf/broker-compression.md): `add` the
 * keys' positions, `hash` them, then hand the digests to OffsetMap by index.
 */
export class KeyDigests {
  private spans = new Uint32Array(2048);
  digests = new Uint8Array(1024 * 16);
  count = 0;

  reset(): void {
    this.count = 0;
  }

  add(at: number, length: number): number {
    if (2 * this.count + 2 > this.spans.length) {
      const bigger = new Uint32Array(this.spans.length * 2);
      bigger.set(this.spans);
      this.spans = bigger;
    }
    this.spans[2 * this.count] = at;
    this.spans[2 * this.count + 1] = length;
    return this.count++;
  }

  /** Hashes the keys added since the last reset, all in `data`. */
  hash(data: Buffer): void {
    if (this.digests.length < this.count * HASH_BYTES) this.digests = new Uint8Array(this.count * HASH_BYTES * 2);
    if (this.count > 0) md5Keys(data, this.spans, this.count, this.digests);
  }
}

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
   * Records `offset` as the latest of key `i` of `keys` (offsets come in increasing order).
   * Returns the offset it replaces, or -1 for a key not seen before.
   */
  put(keys: KeyDigests, i: number, offset: number): number {
    const d = i * HASH_BYTES;
    const slot = this.find(keys.digests, d);
    const previous = this.offsets[slot]!;
    if (previous === -1) {
      if (this.full) throw new Error('offset map is full');
      this.hashes.set(keys.digests.subarray(d, d + HASH_BYTES), slot * HASH_BYTES);
      this.used++;
    }
    this.offsets[slot] = offset;
    return previous;
  }

  /** The latest offset recorded for key `i` of `keys`, or -1. */
  get(keys: KeyDigests, i: number): number {
    return this.offsets[this.find(keys.digests, i * HASH_BYTES)]!;
  }

  /** The slot holding the digest at `digests[d]`, or the empty slot where it would go. */
  private find(digests: Uint8Array, d: number): number {
    let slot = ((digests[d]! << 24) | (digests[d + 1]! << 16) | (digests[d + 2]! << 8) | digests[d + 3]!) >>> 0;
    slot %= this.slots;
    for (;;) {
      if (this.offsets[slot] === -1) return slot;
      const at = slot * HASH_BYTES;
      let same = true;
      for (let i = 0; i < HASH_BYTES; i++) {
        if (this.hashes[at + i] !== digests[d + i]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }
}
