/**
 * FrameReader: cuts a connection's byte stream into request frames (`int32 size` + `size` bytes)
 * and decides where each socket read puts its bytes, so that a large request is read by the
 * kernel straight into its own buffer instead of arriving in 64 KiB chunks that JavaScript then
 * copies together (a large share of the event loop's time under a fast producer:
 * docs/perf/frame-pool.md).
 *
 * The caller asks `buffer()` where the next read goes, reads at most that many bytes into its
 * start, and reports them with `wrote(n)`. Two places a read can go:
 *  - the scratch buffer, which holds size prefixes and small requests; a request that lies whole
 *    in it is copied out (small, and the scratch is reused by the next read);
 *  - a request's own buffer, once its size prefix has arrived and it is larger than SMALL_FRAME
 *    and not yet complete: what the scratch already holds of it is copied there, and every
 *    later read goes to its unfilled tail until it is complete.
 *
 * Sizes are checked against the limit (socket.request.max.bytes) before anything is allocated for
 * them. A request's buffer is one kept by the FramePool if it has one large enough (memory that
 * exists already); otherwise it starts at no more than INITIAL_FRAME bytes and doubles as its
 * bytes arrive, so a peer that announces a huge request and sends little makes us allocate little
 * (at most about twice what it sent, plus INITIAL_FRAME).
 */
import { framePool, type FramePool } from './frame-pool.js';

/**
 * Bytes of the reusable read buffer; a read never asks for more than this outside a frame. Each
 * connection holds one for its lifetime, so it is kept small: it only ever holds size prefixes,
 * small requests (most are well under 1 KiB) and the first bytes of a large one.
 */
export const SCRATCH_BYTES = 16 * 1024;
/** Incomplete requests up to this size wait in the scratch buffer. */
export const SMALL_FRAME = 4 * 1024;
/** The most a request's buffer holds before any of its bytes beyond the scratch have arrived. */
export const INITIAL_FRAME = 2 * 1024 * 1024;

export class FrameReader {
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** Unconsumed bytes of the scratch are [start, end). */
  private start = 0;
  private end = 0;
  /** The request being filled in place, its declared size, and how much of it has arrived. */
  private frame: Buffer | null = null;
  private frameSize = 0;
  private filled = 0;
  /**
   * `onFrame` gets each complete request, which it owns (no other request shares its memory); it
   * returns false when the connection is closing, and no further frame is cut. `onBadSize` gets a
   * size prefix out of bounds, after which nothing more is cut either: the caller closes.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly onFrame: (frame: Buffer) => boolean,
    private readonly onBadSize: (size: number) => void,
    private readonly pool: FramePool = framePool,
  ) {}

  /** Where the next read puts its bytes (at most this buffer's length of them, at its start). */
  buffer(): Buffer {
    if (this.frame !== null) return this.frame.subarray(this.filled);
    if (this.start > 0) {
      // What is left is one partial size prefix or small request (under SMALL_FRAME + 4 bytes).
      this.scratch.copy(this.scratch, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    return this.scratch.subarray(this.end);
  }

  /** `n` bytes were read into the start of the last `buffer()`. */
  wrote(n: number): void {
    if (this.frame !== null) {
      this.filled += n;
      if (this.filled < this.frameSize) {
        if (this.filled === this.frame.length) this.grow();
        return;
      }
      const frame = this.frame;
      this.frame = null;
      this.onFrame(frame);
      return;
    }
    this.end += n;
    while (this.end - this.start >= 4) {
      const size = this.scratch.readInt32BE(this.start);
      if (size < 0 || size > this.maxBytes) {
        this.clear();
        this.onBadSize(size);
        return;
      }
      const have = this.end - this.start - 4;
      if (have >= size) {
        const at = this.start + 4;
        const frame = Buffer.allocUnsafe(size);
        this.scratch.copy(frame, 0, at, at + size);
        this.start = at + size;
        if (this.start === this.end) this.start = this.end = 0;
        if (!this.onFrame(frame)) return;
        continue;
      }
      if (size > SMALL_FRAME) {
        // From here on the kernel writes this request's bytes into its own buffer.
        this.frameSize = size;
        this.frame = this.pool.take(size)?.subarray(0, size) ?? Buffer.allocUnsafe(Math.min(size, Math.max(INITIAL_FRAME, 2 * have)));
        this.scratch.copy(this.frame, 0, this.start + 4, this.end);
        this.filled = have;
        this.start = this.end = 0;
      }
      break;
    }
  }

  /** Doubles the request's buffer (up to its declared size), keeping what has arrived. */
  private grow(): void {
    const old = this.frame!;
    const next = Buffer.allocUnsafe(Math.min(this.frameSize, old.length * 2));
    old.copy(next, 0, 0, this.filled);
    this.frame = next;
  }

  /**
   * True while part of a request (or of its size prefix) has arrived and the rest has not.
   */
  get partial(): boolean {
    return this.frame !== null || this.end > this.start;
  }

  /** Drops what is buffered (the connection is closed). */
  clear(): void {
    this.frame = null;
    this.start = this.end = 0;
  }
}
