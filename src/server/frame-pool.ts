/**
 * FramePool: request buffers kept for reuse by the requests that follow.
 *
 * A large request gets a buffer of its own (FrameReader), and at many partitions a producer's
 * requests run to several MiB each. Allocated fresh, every such buffer costs the kernel a page
 * fault and a zeroed page for each 4 KiB the socket read fills, its growth from INITIAL_FRAME
 * copies what had arrived, and the stream of large ArrayBuffers drives V8 into full
 * mark-compact collections (external memory), whose marking grows with the heap, i.e. with the
 * number of partitions. A buffer taken from here has its pages in place already.
 *
 * Only buffers nobody refers to any more may be given back: the connection gives back a request's
 * frame once its handler has returned if the handler says it `releasesRequestBytes` (Produce:
 * it validates and writes the batches synchronously and keeps no view of them). Other requests'
 * frames are left to the garbage collector (their decoded messages may hold views, e.g. a
 * SyncGroup assignment kept in the group).
 *
 * Bounded: at most MAX_BUFFERS buffers and MAX_POOLED_BYTES bytes are kept (larger buffers
 * displace smaller ones), and none smaller than MIN_POOLED_BYTES (well above Node's own 8 KiB allocation pool, whose slices share one
 * ArrayBuffer and must never come here).
 */
export const MIN_POOLED_BYTES = 64 * 1024;
export const MAX_POOLED_BYTES = 64 * 1024 * 1024;
export const MAX_BUFFERS = 32;

export class FramePool {
  /** Kept buffers, each the whole of its ArrayBuffer. */
  private readonly free: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly maxBytes = MAX_POOLED_BYTES,
    private readonly maxBuffers = MAX_BUFFERS,
  ) {}

  /** The smallest kept buffer of at least `size` bytes, now the caller's; null if none is. */
  take(size: number): Buffer | null {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.length;
      if (len >= size && (best < 0 || len < this.free[best]!.length)) best = i;
    }
    if (best < 0) return null;
    const buf = this.free[best]!;
    this.free[best] = this.free[this.free.length - 1]!;
    this.free.pop();
    this.bytes -= buf.length;
    return buf;
  }

  /**
   * Keeps the memory behind `frame` (a view at the start of its own ArrayBuffer) for a later
   * take(), if the bounds allow, making room by dropping smaller kept buffers (a larger one
   * serves every request a smaller one would, so a pool full of small buffers does not turn
   * the large ones away); otherwise leaves it to the garbage collector.
   */
  give(frame: Buffer): void {
    const whole = frame.buffer.byteLength;
    if (frame.byteOffset !== 0 || whole < MIN_POOLED_BYTES || whole > this.maxBytes) return;
    while (this.free.length >= this.maxBuffers || this.bytes + whole > this.maxBytes) {
      if (this.free.length === 0) return;
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
      const dropped = this.free[smallest]!;
      if (dropped.length >= whole) return;
      this.free[smallest] = this.free[this.free.length - 1]!;
      this.free.pop();
      this.bytes -= dropped.length;
    }
    this.free.push(Buffer.from(frame.buffer, 0, whole));
    this.bytes += whole;
  }

  /** Bytes kept (for tests). */
  get pooledBytes(): number {
    return this.bytes;
  }
}

/** The broker's pool, shared by its connections. */
export const framePool = new FramePool();
