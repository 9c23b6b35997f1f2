/**
 * A piscina worker for the codec micro-benchmark: compresses or decompresses one block with
 * franz's own codec functions (src/records/record-batch.ts), the same code the inline path runs.
 */
import { compress, decompress } from '../src/records/record-batch.js';

export interface CompressTask {
  op: 'compress' | 'decompress';
  codec: number;
  data: Uint8Array;
}

export default function run(task: CompressTask): Uint8Array {
  const input = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
  return task.op === 'compress' ? compress(task.codec, input) : decompress(task.codec, input);
}
