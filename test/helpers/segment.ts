/**
 * Reads record-batch headers straight from a partition's segment file, so integration tests can check
 * what a client actually sent (codec, batching, producer id and sequences) without going through franz.
 * Layout (record batch v2): baseOffset 0, batchLength 8, partitionLeaderEpoch 12, magic 16, crc 17,
 * attributes 21, lastOffsetDelta 23, baseTimestamp 27, maxTimestamp 35, producerId 43,
 * producerEpoch 51, baseSequence 53, recordCount 57; 61 bytes in all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BatchHeader {
  baseOffset: number;
  records: number;
  /** Compression: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  codec: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

export const CODEC_ID: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** The batch headers of `<dataDir>/<topic>-<partition>/00000000000000000000.log`. */
export function segmentBatches(dataDir: string, topic: string, partition: number): BatchHeader[] {
  const buf = readFileSync(join(dataDir, `${topic}-${partition}`, '00000000000000000000.log'));
  const out: BatchHeader[] = [];
  for (let pos = 0; pos + 61 <= buf.length; ) {
    out.push({
      baseOffset: Number(buf.readBigInt64BE(pos)),
      records: buf.readInt32BE(pos + 57),
      codec: buf.readInt16BE(pos + 21) & 7,
      producerId: buf.readBigInt64BE(pos + 43),
      producerEpoch: buf.readInt16BE(pos + 51),
      baseSequence: buf.readInt32BE(pos + 53),
    });
    pos += 12 + buf.readInt32BE(pos + 8);
  }
  return out;
}
