/**
 * The body of a broker-side compression worker thread (piscina): recompresses one partition
 * payload (recompressBatches). The payload arrives as a transferred ArrayBuffer and the result
 * goes back the same way, so neither crosses threads by copy.
 */
import { Piscina } from 'piscina';
import { type CompressionCodec, RecordsError, recompressBatches } from '../records/record-batch.js';

export interface RecompressTask {
  readonly bytes: ArrayBuffer;
  readonly codec: CompressionCodec;
  readonly level: number | undefined;
  readonly maxDecompressedBytes: number;
}

/** What a task answers: the recompressed batches, or why the records cannot be decoded. */
export type RecompressOutcome = ArrayBuffer | { readonly refused: string };

export default function recompress(task: RecompressTask): unknown {
  let out: Buffer;
  try {
    out = recompressBatches(new Uint8Array(task.bytes), task.codec, task.level, task.maxDecompressedBytes);
  } catch (err) {
    // Bad records are an answer for the client; anything else fails the task (and only it).
    if (err instanceof RecordsError) return { refused: err.message };
    throw err;
  }
  // recompressBatches returns a buffer over an ArrayBuffer of its own (never Node's shared pool).
  const own =
    out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
      ? out.buffer
      : out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  return Piscina.move(own as ArrayBuffer);
}
