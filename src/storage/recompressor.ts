/**
 * Recompressor: broker-side compression (a topic's compression.type naming a codec) on a piscina
 * pool of `franz.compression.threads` worker threads, so that the event loop never waits on a
 * codec. A payload is copied once out of its request's buffer (which goes back to the frame pool
 * when the Produce handler returns) into an ArrayBuffer of its own that is transferred, not
 * copied, to the worker; the result comes back the same way. The pool starts with the first task.
 */
import { Piscina } from 'piscina';
import type { CompressionCodec } from '../records/record-batch.js';
import type { RecompressOutcome, RecompressTask } from './compression-worker.js';

/** Heap bounds of a compression worker: small, so that it collects often (buffers are off-heap). */
const WORKER_HEAP_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 };

export class Recompressor {
  private pool: Piscina | null = null;

  constructor(private readonly threads: number) {}

  /**
   * The batches of `payload` recompressed with `codec`, or `{ refused }` when their records cannot
   * be decoded (corrupt, or inflating past `maxDecompressedBytes`). Rejects if the worker fails.
   */
  run(
    payload: Uint8Array,
    codec: CompressionCodec,
    level: number | undefined,
    maxDecompressedBytes: number,
  ): Promise<Buffer | { refused: string }> {
    const bytes = new ArrayBuffer(payload.length);
    new Uint8Array(bytes).set(payload);
    this.pool ??= new Piscina({
      filename: new URL('./compression-worker.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: 30_000,
      // A worker's heap holds one payload's buffers at a time; left to V8's default limits it
      // grew by hundreds of MiB before collecting (docs/perf/broker-compression.md).
      resourceLimits: WORKER_HEAP_LIMITS,
    });
    const task: RecompressTask = { bytes, codec, level, maxDecompressedBytes };
    return (this.pool.run(task, { transferList: [bytes] }) as Promise<RecompressOutcome>).then((out) =>
      out instanceof ArrayBuffer ? Buffer.from(out) : out,
    );
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
    this.pool = null;
  }
}
