/**
 * Hand-built record batches for tests, independent of the code under test: an opaque records
 * section and a CRC-32C computed by a plain bitwise implementation.
 */

// An independent bitwise CRC-32C (reflected polynomial 0x82F63B78), so the batches the
// tests build do not depend on the code under test.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
export function refCrc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface BatchOpts {
  /** Max timestamp (ms); the base timestamp is this minus 999. */
  maxTimestamp?: number;
  producerEpoch?: number;
  attributes?: number;
  recordCount?: number;
  records?: Buffer;
  magic?: number;
  producerId?: bigint;
  baseSequence?: number;
}

/** A v2 batch with an opaque records section and a correct CRC. */
export function makeBatch(o: BatchOpts = {}): Buffer {
  const records = o.records ?? Buffer.from('opaque-records');
  const count = o.recordCount ?? 3;
  const b = Buffer.alloc(61 + records.length);
  b.writeBigInt64BE(0n, 0); // baseOffset: the client sends 0, the broker assigns
  b.writeInt32BE(49 + records.length, 8); // batchLength
  b.writeInt32BE(-1, 12); // partitionLeaderEpoch
  b.writeInt8(o.magic ?? 2, 16);
  b.writeInt16BE(o.attributes ?? 0x0010, 21); // attributes (default: transactional bit)
  b.writeInt32BE(Math.max(count - 1, 0), 23); // lastOffsetDelta
  const maxTs = BigInt(o.maxTimestamp ?? 1_700_000_000_999);
  b.writeBigInt64BE(maxTs - 999n, 27);
  b.writeBigInt64BE(maxTs, 35);
  b.writeBigInt64BE(o.producerId ?? 9001n, 43);
  b.writeInt16BE(o.producerEpoch ?? 4, 51);
  b.writeInt32BE(o.baseSequence ?? 17, 53);
  b.writeInt32BE(count, 57);
  records.copy(b, 61);
  b.writeUInt32BE(refCrc32c(b.subarray(21)), 17);
  return b;
}
