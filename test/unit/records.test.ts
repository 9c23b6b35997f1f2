/**
 * Record batch v2 encoding and decoding (src/protocol/records.ts): round trips, the CRC, every
 * compression codec (and both snappy framings), bounded decompression, retained batches, partial trailing batches,
 * mutated input, and batches from kafkajs's own encoder (and ours through kafkajs's decoder).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';

import {
  Compression,
  RecordsError,
  decodeRecordBatches,
  encodeRecordBatch,
  retainedBatch,
  scanRecords,
  snappyDecompress,
  type RecordInput,
} from '../../src/records/record-batch.js';
import { murmur2, partitionForKey } from '../../src/client/partitioner.js';
import { refCrc32c } from '../helpers/batches.js';
import { snappyCompress } from '../../src/native/index.js';

const require = createRequire(import.meta.url);

/** Rewrites a batch's records section and attributes, fixing lengths and CRC (for foreign framings). */
function reframe(batch: Buffer, attributes: number, records: Buffer): Buffer {
  const out = Buffer.concat([batch.subarray(0, 61), records]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(attributes, 21);
  out.writeUInt32BE(refCrc32c(out.subarray(21)), 17);
  return out;
}

const T0 = 1_700_000_000_000;

const sample: RecordInput[] = [
  {
    key: 'k1',
    value: 'hello',
    headers: [
      { key: 'h', value: 'v' },
      { key: 'n', value: null },
    ],
    timestamp: T0,
  },
  { key: null, value: 'no key', timestamp: T0 + 5 },
  { key: Buffer.from([0, 1, 2, 255]), value: null, timestamp: T0 - 3 },
  {
    value: '',
    headers: [
      { key: 'dup', value: 'a' },
      { key: 'dup', value: 'b' },
    ],
    timestamp: T0 + 1,
  },
];

function str(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

describe('record batch v2', () => {
  test('round trip: keys, null keys and values, headers, timestamps, offsets', () => {
    const batch = encodeRecordBatch(sample, { baseOffset: 100, producerId: 7, producerEpoch: 2, baseSequence: 11 });
    const { batches, partialBytes } = decodeRecordBatches(batch);
    assert.equal(partialBytes, 0);
    assert.equal(batches.length, 1);
    const b = batches[0]!;
    assert.equal(b.magic, 2);
    assert.equal(b.baseOffset, 100);
    assert.equal(b.sizeInBytes, batch.length);
    assert.equal(b.lastOffsetDelta, 3);
    assert.equal(b.baseTimestamp, T0);
    assert.equal(b.maxTimestamp, T0 + 5);
    assert.equal(b.producerId, 7);
    assert.equal(b.producerEpoch, 2);
    assert.equal(b.baseSequence, 11);
    assert.equal(b.compression, Compression.none);
    assert.equal(b.control, false);
    assert.deepEqual(
      b.records.map((r) => r.offset),
      [100, 101, 102, 103],
    );
    assert.deepEqual(
      b.records.map((r) => r.timestamp),
      [T0, T0 + 5, T0 - 3, T0 + 1],
    );
    assert.deepEqual(
      b.records.map((r) => str(r.key)),
      ['k1', null, '\u0000\u0001\u0002\ufffd', null],
    );
    assert.deepEqual(b.records[2]!.key, Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(
      b.records.map((r) => str(r.value)),
      ['hello', 'no key', null, ''],
    );
    assert.deepEqual(
      b.records[0]!.headers.map((h) => [h.key, str(h.value)]),
      [
        ['h', 'v'],
        ['n', null],
      ],
    );
    assert.deepEqual(
      b.records[3]!.headers.map((h) => [h.key, str(h.value)]),
      [
        ['dup', 'a'],
        ['dup', 'b'],
      ],
    );
  });

  test('defaults: no producer id, leader epoch -1, timestamp option', () => {
    const batch = encodeRecordBatch([{ value: 'x' }], { timestamp: T0 });
    const b = decodeRecordBatches(batch).batches[0]!;
    assert.equal(b.producerId, -1);
    assert.equal(b.producerEpoch, -1);
    assert.equal(b.baseSequence, -1);
    assert.equal(b.partitionLeaderEpoch, -1);
    assert.equal(b.records[0]!.timestamp, T0);
  });

  test('an empty record list is refused', () => {
    assert.throws(() => encodeRecordBatch([]), RangeError);
  });

  test('CRC-32C covers attributes to the end and is checked', () => {
    const batch = encodeRecordBatch(sample, { baseOffset: 5 });
    assert.equal(batch.readUInt32BE(17), refCrc32c(batch.subarray(21)));
    // baseOffset and leader epoch lie outside the CRC: a broker patches them without recomputing.
    const patched = Buffer.from(batch);
    patched.writeInt32BE(0, 4);
    patched.writeInt32BE(42, 12);
    assert.equal(decodeRecordBatches(patched).batches[0]!.partitionLeaderEpoch, 42);
    const bad = Buffer.from(batch);
    bad[bad.length - 1]! ^= 0x01;
    assert.throws(
      () => decodeRecordBatches(bad),
      (e: unknown) => e instanceof RecordsError && e.code === 'CRC_MISMATCH',
    );
    // With the check off, a flipped value byte decodes (the value differs).
    const r = decodeRecordBatches(bad, { verifyCrc: false });
    assert.equal(r.batches.length, 1);
  });

  for (const name of ['gzip', 'snappy', 'lz4'] as const) {
    test(`${name}: round trip, attribute bits, smaller than plain for repetitive data`, () => {
      const many: RecordInput[] = Array.from({ length: 500 }, (_, i) => ({
        key: `key-${i % 10}`,
        value: `value number ${i} `.repeat(10),
        headers: [{ key: 'i', value: String(i) }],
        timestamp: T0 + i,
      }));
      const plain = encodeRecordBatch(many, { compression: Compression.none });
      const packed = encodeRecordBatch(many, { compression: Compression[name] });
      assert.ok(packed.length < plain.length / 2, `${name} ${packed.length} vs ${plain.length}`);
      assert.equal(packed.readInt16BE(21) & 7, Compression[name]);
      assert.equal(packed.readUInt32BE(17), refCrc32c(packed.subarray(21)));
      const b = decodeRecordBatches(packed).batches[0]!;
      assert.equal(b.compression, Compression[name]);
      assert.equal(b.records.length, 500);
      assert.equal(str(b.records[499]!.value), 'value number 499 '.repeat(10));
      assert.equal(str(b.records[499]!.headers[0]!.value), '499');
      assert.deepEqual(b.records, decodeRecordBatches(plain).batches[0]!.records);
    });
  }

  test('snappy: encodes xerial framing, and decodes a raw block too (librdkafka)', () => {
    const packed = encodeRecordBatch(sample, { compression: Compression.snappy });
    const section = packed.subarray(61);
    assert.deepEqual(section.subarray(0, 8), Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]));
    const plain = encodeRecordBatch(sample);
    // A raw block, as librdkafka writes (kcat's snappy in test/compat is the real client).
    const raw = reframe(plain, Compression.snappy, snappyCompress(plain.subarray(61)));
    assert.deepEqual(decodeRecordBatches(raw).batches[0]!.records, decodeRecordBatches(plain).batches[0]!.records);
  });

  test('snappy: xerial framing with several blocks', () => {
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const packed = encodeRecordBatch([{ value: big, timestamp: T0 }], { compression: Compression.snappy });
    const b = decodeRecordBatches(packed).batches[0]!;
    assert.deepEqual(b.records[0]!.value, big);
    assert.deepEqual(snappyDecompress(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])), Buffer.alloc(0));
    // A block length running past the end is corrupt, not a crash.
    const cut = Buffer.concat([packed.subarray(61, 61 + 16), Buffer.from([0x7f, 0, 0, 0, 1])]);
    assert.throws(
      () => snappyDecompress(cut),
      (e: unknown) => e instanceof RecordsError && e.code === 'CORRUPT_BATCH',
    );
  });

  test('zstd: encodes one frame, decodes it and frames without a content size', () => {
    const packed = encodeRecordBatch(sample, { compression: Compression.zstd, compressionLevel: 7 });
    assert.equal(packed.readUInt32LE(61), 0xfd2fb528, 'a zstd frame magic');
    const plain = encodeRecordBatch(sample);
    assert.deepEqual(decodeRecordBatches(packed).batches[0]!.records, decodeRecordBatches(plain).batches[0]!.records);
  });

  test('decompression is bounded for every codec: a bomb is DECOMPRESSED_TOO_LARGE, a fitting batch decodes', () => {
    const zeros = Buffer.alloc(4 << 20);
    const bomb = [{ value: zeros, timestamp: T0 }];
    for (const name of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const packed = encodeRecordBatch(bomb, { compression: Compression[name] });
      assert.ok(packed.length < 1 << 20, `${name} packs 4 MiB of zeros small (${packed.length})`);
      assert.throws(
        () => decodeRecordBatches(packed, { maxDecompressedBytes: 1 << 20 }),
        (e: unknown) => e instanceof RecordsError && e.code === 'DECOMPRESSED_TOO_LARGE' && e.message.includes(name),
        name,
      );
      assert.equal(decodeRecordBatches(packed, { maxDecompressedBytes: 8 << 20 }).batches[0]!.records[0]!.value!.length, zeros.length);
    }
  });

  test('scanRecords finds each record and key; retainedBatch keeps base and last offsets, producer fields and codec', () => {
    const records = Array.from({ length: 5 }, (_, i) => ({
      key: i === 2 ? null : `k${i}`,
      value: i === 4 ? null : `v${i}`,
      timestamp: T0 + i * 10,
    }));
    for (const codec of [Compression.none, Compression.zstd, Compression.gzip]) {
      const bytes = encodeRecordBatch(records, {
        compression: codec,
        baseOffset: 100,
        producerId: 7,
        producerEpoch: 2,
        baseSequence: 40,
        partitionLeaderEpoch: 3,
      });
      const original = decodeRecordBatches(bytes).batches[0]!;
      const plain = decodeRecordBatches(encodeRecordBatch(records, { baseOffset: 100 })).batches[0]!;
      const section = encodeRecordBatch(records).subarray(61);
      const seen: string[] = [];
      const parts: Buffer[] = [];
      scanRecords(section, 5, (r) => {
        seen.push(
          `${r.offsetDelta}:${r.keyLength < 0 ? '-' : section.subarray(r.keyAt, r.keyAt + r.keyLength).toString()}:${r.valueLength}`,
        );
        if (r.offsetDelta === 1 || r.offsetDelta === 3) parts.push(section.subarray(r.start, r.end));
      });
      assert.deepEqual(seen, ['0:k0:2', '1:k1:2', '2:-:2', '3:k3:2', '4:k4:-1']);
      const out = decodeRecordBatches(retainedBatch(bytes, parts)).batches[0]!;
      assert.equal(out.baseOffset, 100);
      assert.equal(out.lastOffsetDelta, 4);
      assert.equal(out.compression, codec);
      assert.deepEqual([out.producerId, out.producerEpoch, out.baseSequence, out.partitionLeaderEpoch], [7, 2, 40, 3]);
      assert.deepEqual(out.records, [plain.records[1], plain.records[3]]);
      assert.equal(original.records.length, 5);
      const empty = decodeRecordBatches(retainedBatch(bytes, [])).batches[0]!;
      assert.deepEqual(
        [empty.baseOffset, empty.lastOffsetDelta, empty.records.length, empty.baseSequence, empty.compression],
        [100, 4, 0, 40, 0],
      );
    }
    // A record that claims more bytes than there are is corrupt, not a crash.
    const section = encodeRecordBatch(records).subarray(61);
    assert.throws(
      () => scanRecords(section.subarray(0, section.length - 3), 5, () => undefined),
      (e: unknown) => e instanceof RecordsError && e.code === 'CORRUPT_BATCH',
    );
  });

  test('bad compressed data is DECOMPRESSION_FAILED', () => {
    const plain = encodeRecordBatch(sample);
    for (const codec of [Compression.gzip, Compression.lz4]) {
      const bad = reframe(plain, codec, Buffer.from('definitely not compressed'));
      assert.throws(
        () => decodeRecordBatches(bad),
        (e: unknown) => e instanceof RecordsError && e.code === 'DECOMPRESSION_FAILED',
      );
    }
  });

  test('gzip produced by another compressor decodes', () => {
    const plain = encodeRecordBatch(sample);
    const other = reframe(plain, Compression.gzip, gzipSync(plain.subarray(61), { level: 1 }));
    assert.equal(decodeRecordBatches(other).batches[0]!.records.length, 4);
  });

  test('several batches, and a partial batch at the end (a Fetch cut at max bytes)', () => {
    const a = encodeRecordBatch(sample.slice(0, 2), { baseOffset: 0 });
    const b = encodeRecordBatch(sample.slice(2), { baseOffset: 2, compression: Compression.gzip });
    const c = encodeRecordBatch([{ value: 'last' }], { baseOffset: 4 });
    const all = Buffer.concat([a, b, c.subarray(0, c.length - 5)]);
    const r = decodeRecordBatches(all);
    assert.equal(r.batches.length, 2);
    assert.equal(r.partialBytes, c.length - 5);
    assert.deepEqual(
      r.batches.flatMap((x) => x.records.map((rec) => rec.offset)),
      [0, 1, 2, 3],
    );
    assert.equal(decodeRecordBatches(Buffer.concat([a, b.subarray(0, 7)])).partialBytes, 7);
    assert.deepEqual(decodeRecordBatches(Buffer.alloc(0)), { batches: [], partialBytes: 0 });
  });

  test('wrong magic and impossible lengths are errors', () => {
    const plain = encodeRecordBatch(sample);
    const m1 = Buffer.from(plain);
    m1[16] = 1;
    assert.throws(
      () => decodeRecordBatches(m1),
      (e: unknown) => e instanceof RecordsError && e.code === 'UNSUPPORTED_MAGIC',
    );
    const small = Buffer.from(plain);
    small.writeInt32BE(10, 8);
    assert.throws(
      () => decodeRecordBatches(small),
      (e: unknown) => e instanceof RecordsError && e.code === 'CORRUPT_BATCH',
    );
    // A record count that the bytes cannot hold: caught before any loop sized by it.
    const count = reframe(plain, 0, plain.subarray(61));
    count.writeInt32BE(0x7fffffff, 57);
    count.writeUInt32BE(refCrc32c(count.subarray(21)), 17);
    assert.throws(
      () => decodeRecordBatches(count),
      (e: unknown) => e instanceof RecordsError && e.code === 'CORRUPT_BATCH',
    );
  });

  test('mutated batches never crash the decoder: they decode or throw RecordsError', () => {
    const bases = [
      encodeRecordBatch(sample),
      encodeRecordBatch(sample, { compression: Compression.gzip }),
      encodeRecordBatch(sample, { compression: Compression.snappy }),
      encodeRecordBatch(sample, { compression: Compression.lz4 }),
    ];
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(bases[i % bases.length]!);
      const flips = 1 + rand(4);
      for (let f = 0; f < flips; f++) b[21 + rand(b.length - 21)] = rand(256);
      try {
        decodeRecordBatches(b, { verifyCrc: false });
      } catch (e) {
        assert.ok(e instanceof RecordsError, `mutation ${i}: ${String(e)}`);
      }
    }
  });
});

describe('interoperability with kafkajs', () => {
  // kafkajs's own record batch encoder and decoder (the code it uses on the wire).
  const KRecordBatch = (require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> })
    .RecordBatch;
  const KRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (o: object) => unknown;
  const kDecode = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
    firstOffset: string;
    records: Array<{ key: Buffer | null; value: Buffer | null; offset: string; timestamp: string; headers: Record<string, Buffer> }>;
  }>;
  const KDecoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
  const KTypes = (require('kafkajs/src/protocol/message/compression') as { Types: Record<string, number> }).Types;

  for (const [label, compression] of [
    ['none', KTypes.None!],
    ['gzip', KTypes.GZIP!],
  ] as const) {
    test(`a batch encoded by kafkajs (${label}) decodes`, async () => {
      const records = [
        KRecord({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('a'), value: Buffer.from('one'), headers: { trace: 'x1' } }),
        KRecord({ offsetDelta: 1, timestampDelta: 7, key: null, value: Buffer.from('two') }),
        KRecord({ offsetDelta: 2, timestampDelta: 9, key: Buffer.from('c'), value: null }),
      ];
      const enc = await KRecordBatch({
        compression,
        firstOffset: require('kafkajs/src/utils/long').fromNumber(50),
        firstTimestamp: T0,
        maxTimestamp: T0 + 9,
        lastOffsetDelta: 2,
        records,
      });
      const bytes = enc.buffer;
      assert.equal(bytes.readUInt32BE(17), refCrc32c(bytes.subarray(21)));
      const b = decodeRecordBatches(bytes).batches[0]!;
      assert.equal(b.compression, compression);
      assert.deepEqual(
        b.records.map((r) => r.offset),
        [50, 51, 52],
      );
      assert.deepEqual(
        b.records.map((r) => r.timestamp),
        [T0, T0 + 7, T0 + 9],
      );
      assert.deepEqual(
        b.records.map((r) => str(r.key)),
        ['a', null, 'c'],
      );
      assert.deepEqual(
        b.records.map((r) => str(r.value)),
        ['one', 'two', null],
      );
      assert.deepEqual(
        b.records[0]!.headers.map((h) => [h.key, str(h.value)]),
        [['trace', 'x1']],
      );
    });
  }

  for (const label of ['none', 'gzip'] as const) {
    test(`kafkajs decodes a batch we encode (${label})`, async () => {
      const ours = encodeRecordBatch(sample, { baseOffset: 9, compression: Compression[label] });
      const decoded = await kDecode(new KDecoder(ours));
      assert.equal(decoded.firstOffset, '9');
      assert.deepEqual(
        decoded.records.map((r) => r.offset),
        ['9', '10', '11', '12'],
      );
      assert.deepEqual(
        decoded.records.map((r) => r.timestamp),
        [T0, T0 + 5, T0 - 3, T0 + 1].map(String),
      );
      assert.deepEqual(
        decoded.records.map((r) => r.value?.toString() ?? null),
        ['hello', 'no key', null, ''],
      );
      assert.equal(decoded.records[0]!.headers.h!.toString(), 'v');
    });
  }

  test('murmur2 partitioning matches kafkajs (and so the Java client)', () => {
    const kMurmur = require('kafkajs/src/producer/partitioners/default/murmur2') as (k: Buffer) => number;
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'hello world', 'ключ', '\u0000\u00ff'.repeat(9)];
    for (let i = 0; i < 200; i++) keys.push(`key-${i}-${'x'.repeat(i % 13)}`);
    for (const k of keys) {
      const b = Buffer.from(k);
      assert.equal(murmur2(b), kMurmur(b), `murmur2(${JSON.stringify(k)})`);
      assert.equal(partitionForKey(b, 7), (kMurmur(b) & 0x7fffffff) % 7);
    }
  });
});
