/**
 * Broker-side compression (a topic's compression.type naming a codec) on a real log with the
 * worker pool: every conversion keeps records, offsets, timestamps, headers and producer fields;
 * appends keep their order while recompressions are in flight; a compression bomb and corrupt
 * compressed data are CORRUPT_MESSAGE with nothing appended; zstd for a client older than
 * Produce v7 is refused as Kafka refuses it; `producer` keeps batches as sent.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Log, type AppendResult, type LogConfig } from '../../src/storage/log.js';
import { Recompressor } from '../../src/storage/recompressor.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  Compression,
  type CompressionCodec,
  compressionName,
  decodeRecordBatches,
  encodeRecordBatch,
} from '../../src/records/record-batch.js';
import { testLogConfig } from '../helpers/log-config.js';

let root: string;
let recompressor: Recompressor;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-recompress-'));
  recompressor = new Recompressor(2);
});
after(async () => {
  await recompressor.close();
  fs.rmSync(root, { recursive: true, force: true });
});

let n = 0;
function open(compression: number, level?: number): Log {
  const config: LogConfig = testLogConfig({ compression, compressionLevel: level });
  const log = Log.open(path.join(root, `p-${n++}`), config, { recoveryPoint: 0, logStartOffset: 0, clean: true });
  log.recompressor = recompressor;
  return log;
}

const T0 = 1_700_000_000_000;
function batch(codec: CompressionCodec, tag: string, count = 20, producer?: { id: number; seq: number }): Buffer {
  return encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({
      key: `${tag}-k${i}`,
      value: `${tag}-value-${i}-${'z'.repeat(200)}`,
      headers: [{ key: 'h', value: `${tag}-${i}` }],
      timestamp: T0 + i,
    })),
    { compression: codec, producerId: producer?.id ?? -1, producerEpoch: producer ? 0 : -1, baseSequence: producer?.seq ?? -1 },
  );
}

async function append(log: Log, payload: Buffer, apiVersion = 9): Promise<AppendResult> {
  return await log.appendFromClient(payload, { leaderEpoch: 0, apiVersion });
}

const codecs = [Compression.none, Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd] as const;

describe('broker-side compression', () => {
  test('every conversion keeps records, timestamps, headers and producer fields', async () => {
    for (const target of codecs) {
      const log = open(target);
      for (const source of codecs) {
        const payload = batch(source, compressionName(source), 20, { id: 5, seq: log.logEndOffset });
        // Decoded first: an append patches offsets into the payload it stores as it is.
        const sent = decodeRecordBatches(Buffer.from(payload)).batches[0]!;
        const r = await append(log, payload);
        assert.equal(r.errorCode, 0, `${compressionName(source)} -> ${compressionName(target)}: ${r.errorMessage}`);
        const stored = decodeRecordBatches(log.readBytes(r.baseOffset, 1 << 20)).batches[0]!;
        assert.equal(stored.compression, target, `${compressionName(source)} -> ${compressionName(target)}`);
        assert.equal(stored.baseOffset, r.baseOffset);
        assert.deepEqual([stored.producerId, stored.producerEpoch, stored.baseSequence], [5, 0, r.baseOffset]);
        assert.deepEqual(
          stored.records.map((x) => ({ ...x, offset: x.offset - r.baseOffset })),
          sent.records,
        );
      }
      await log.close();
    }
  });

  test('producer keeps batches as sent; a batch already in the codec is stored as it came', async () => {
    const log = open(-1);
    const payload = batch(Compression.lz4, 'p');
    const r = log.appendFromClient(payload, { leaderEpoch: 0, apiVersion: 9 });
    assert.ok(!(r instanceof Promise), 'no worker for compression.type=producer');
    assert.equal(decodeRecordBatches(log.readBytes(0, 1 << 20)).batches[0]!.compression, Compression.lz4);
    await log.close();
    const same = open(Compression.zstd);
    assert.ok(!(same.appendFromClient(batch(Compression.zstd, 's'), { leaderEpoch: 0, apiVersion: 9 }) instanceof Promise));
    await same.close();
  });

  test('appends keep their order while recompressions are in flight, idempotent sequences included', async () => {
    const log = open(Compression.zstd);
    const results: Array<Promise<AppendResult> | AppendResult> = [];
    let seq = 0;
    for (let i = 0; i < 30; i++) {
      // Mixed: some need a worker, some are zstd already and queue behind them.
      const codec = i % 3 === 0 ? Compression.zstd : i % 3 === 1 ? Compression.gzip : Compression.none;
      results.push(log.appendFromClient(batch(codec, `b${i}`, 10, { id: 9, seq }), { leaderEpoch: 0, apiVersion: 9 }));
      seq += 10;
    }
    const done = await Promise.all(results);
    assert.deepEqual(
      done.map((r) => [r.errorCode, r.baseOffset]),
      done.map((_, i) => [0, i * 10]),
    );
    const all = decodeRecordBatches(log.readBytes(0, 1 << 24)).batches;
    assert.deepEqual(
      all.map((b) => b.records[0]!.key!.toString()),
      all.map((_, i) => `b${i}-k0`),
    );
    assert.ok(all.every((b) => b.compression === Compression.zstd));
    await log.close();
  });

  test('a compression bomb and corrupt compressed data are CORRUPT_MESSAGE, with nothing appended', async () => {
    const log = open(Compression.none);
    // 1 MiB limit x 32: 40 MiB of zeros packs into a few KiB of zstd.
    const bomb = encodeRecordBatch([{ key: 'k', value: Buffer.alloc(40 << 20), timestamp: T0 }], { compression: Compression.zstd });
    assert.ok(bomb.length < 1 << 20);
    const r = await append(log, bomb);
    assert.equal(r.errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.match(r.errorMessage ?? '', /inflate past/);
    // Valid CRC over garbage in the records section (a client that compressed wrongly).
    const good = batch(Compression.gzip, 'g');
    const bad = Buffer.from(good);
    bad.fill(0x41, 61, 80);
    const { crc32c } = await import('../../src/native/index.js');
    bad.writeUInt32BE(crc32c(bad.subarray(21)), 17);
    const r2 = await append(log, bad);
    assert.equal(r2.errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.equal(log.logEndOffset, 0);
    // And the log goes on.
    assert.equal((await append(log, good)).baseOffset, 0);
    await log.close();
  });

  test('a zstd topic refuses a client older than Produce v7, as Kafka does', async () => {
    const log = open(Compression.zstd);
    const r = await append(log, batch(Compression.none, 'old'), 6);
    assert.equal(r.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    assert.equal(log.logEndOffset, 0);
    await log.close();
  });
});
