/**
 * Bounds-checked readers and writers for Kafka's primitive types.
 *
 * The Reader keeps a sticky `bad` flag instead of throwing: a primitive that would read past the end
 * marks the input bad and returns a zero value, and callers check `bad` once after a whole message.
 * Lengths and counts from the wire are checked against the bytes actually present before they size
 * anything, so a frame can never make us allocate more than its own length.
 */

/** A byte range of a file, sent with sendfile(2) instead of being copied through JavaScript. */
export interface FileRegion {
  readonly fd: number;
  readonly position: number;
  readonly length: number;
}

/** Encoded output: byte chunks interleaved with file regions, in wire order. */
export type Chunk = Buffer | FileRegion;

/** A `records` value that lives (partly) in segment files. `size` is the sum of the chunks' lengths. */
export interface RecordsRef {
  readonly size: number;
  readonly chunks: readonly Chunk[];
}

export function isRecordsRef(v: unknown): v is RecordsRef {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && Array.isArray((v as RecordsRef).chunks);
}

export function chunkLength(c: Chunk): number {
  return Buffer.isBuffer(c) ? c.length : c.length;
}

const EMPTY = Buffer.alloc(0);
const TWO_32 = 4294967296;
// 2^63 is exact as a double; written as a power so the literal itself loses nothing.
const TWO_63 = 2 ** 63;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export class Reader {
  bad = false;
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    pos = 0,
    end = buf.length,
  ) {
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Marks the input bad and moves to the end, so every later read also fails cheaply. */
  fail(): void {
    this.bad = true;
    this.pos = this.end;
  }

  private take(n: number): number {
    const at = this.pos;
    if (n > this.end - at) {
      this.fail();
      return -1;
    }
    this.pos = at + n;
    return at;
  }

  int8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buf.readInt8(at);
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  int16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buf.readInt16BE(at);
  }
  uint16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buf.readUInt16BE(at);
  }
  int32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buf.readInt32BE(at);
  }
  uint32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buf.readUInt32BE(at);
  }
  int64(): number {
    const at = this.take(8);
    if (at < 0) return 0;
    return this.buf.readInt32BE(at) * TWO_32 + this.buf.readUInt32BE(at + 4);
  }
  float64(): number {
    const at = this.take(8);
    return at < 0 ? 0 : this.buf.readDoubleBE(at);
  }

  /** Unsigned LEB128 varint, at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const at = this.take(1);
      if (at < 0) return 0;
      const b = this.buf[at]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    this.fail();
    return 0;
  }
  /** Zig-zag signed varint (32 bits). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
  /** Zig-zag signed varlong; exact up to 2^53. */
  varlong(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const at = this.take(1);
      if (at < 0) return 0;
      const b = this.buf[at]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      mul *= 128;
    }
    this.fail();
    return 0;
  }

  uuid(): string {
    const at = this.take(16);
    return at < 0 ? ZERO_UUID : this.buf.toString('hex', at, at + 16);
  }

  /** Length of a string/bytes/array: -1 means null. Checked against what is left when `unit` > 0. */
  length(compact: boolean, unitBytes: number): number {
    const n = compact ? this.uvarint() - 1 : 0;
    const len = compact ? n : this.int32();
    if (len < -1 || (unitBytes > 0 && len * unitBytes > this.remaining)) {
      this.fail();
      return -1;
    }
    return len;
  }

  string(compact: boolean): string | null {
    const len = compact ? this.uvarint() - 1 : this.int16();
    if (len < 0) {
      if (len < -1) this.fail();
      return null;
    }
    const at = this.take(len);
    return at < 0 ? null : this.buf.toString('utf8', at, at + len);
  }

  /** A view into the frame (no copy). */
  bytes(compact: boolean): Buffer | null {
    const len = this.length(compact, 1);
    if (len < 0) return null;
    const at = this.take(len);
    return at < 0 ? null : this.buf.subarray(at, at + len);
  }

  skip(n: number): void {
    this.take(n);
  }
}

export const ZERO_UUID = '00000000000000000000000000000000';

/**
 * A growable output buffer. Records that live in files are appended as file regions between byte
 * chunks, so a Fetch response can be sent without copying record bytes through JavaScript.
 */
export class Writer {
  private buf: Buffer;
  pos = 0;
  private readonly out: Chunk[] = [];
  private outBytes = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }
  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }
  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }
  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }
  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  int64(v: number): void {
    this.ensure(8);
    if (!(v >= -TWO_63 && v < TWO_63)) {
      // Past int64's range (or NaN): the nearest int64. An int64 read off the wire past 2^53 is a
      // rounded number, and Long.MAX_VALUE comes back as 2^63, so it goes out as Long.MAX_VALUE.
      this.buf.writeBigInt64BE(Number.isNaN(v) ? 0n : v > 0 ? INT64_MAX : INT64_MIN, this.pos);
      this.pos += 8;
      return;
    }
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
  }
  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }
  uvarint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  varlong(v: number): void {
    let u = v >= 0 ? v * 2 : -v * 2 - 1;
    this.ensure(10);
    while (u >= 0x80) {
      this.buf[this.pos++] = (u % 128) | 0x80;
      u = Math.floor(u / 128);
    }
    this.buf[this.pos++] = u;
  }
  uuid(v: string): void {
    this.ensure(16);
    const n = this.buf.write(v.length === 32 ? v : ZERO_UUID, this.pos, 16, 'hex');
    if (n !== 16) this.buf.fill(0, this.pos + n, this.pos + 16);
    this.pos += 16;
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(v: string | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const len = Buffer.byteLength(v);
    if (compact) this.uvarint(len + 1);
    else this.int16(len);
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
  }

  length(len: number, compact: boolean): void {
    if (compact) this.uvarint(len + 1);
    else this.int32(len);
  }

  bytes(v: Uint8Array | null, compact: boolean): void {
    if (v === null) {
      this.length(-1, compact);
      return;
    }
    this.length(v.length, compact);
    this.raw(v);
  }

  /** Appends records that may include file regions; the preceding bytes become their own chunk. */
  records(v: RecordsRef | Uint8Array | null, compact: boolean): void {
    if (v === null) {
      this.length(-1, compact);
      return;
    }
    if (!isRecordsRef(v)) {
      this.bytes(v, compact);
      return;
    }
    this.length(v.size, compact);
    this.cut();
    for (const c of v.chunks) {
      this.out.push(c);
      this.outBytes += chunkLength(c);
    }
  }

  private cut(): void {
    if (this.pos === 0) return;
    const piece = this.buf.subarray(0, this.pos);
    this.out.push(piece);
    this.outBytes += piece.length;
    this.buf = Buffer.allocUnsafe(Math.max(256, this.buf.length - this.pos));
    this.pos = 0;
  }

  /** Total bytes written so far, including file regions. */
  get size(): number {
    return this.outBytes + this.pos;
  }

  /** The output as chunks (byte chunks and file regions). */
  chunks(): Chunk[] {
    this.cut();
    return this.out;
  }

  /** The output as one buffer; only valid when no file regions were appended. */
  toBuffer(): Buffer {
    if (this.out.length === 0) return this.buf.subarray(0, this.pos);
    const parts = this.chunks();
    if (!parts.every((c): c is Buffer => Buffer.isBuffer(c))) throw new Error('output holds file regions');
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

export { EMPTY as EMPTY_BUFFER };
