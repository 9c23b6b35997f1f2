/**
 * Broker-side compression with real clients: one topic per compression.type (producer,
 * uncompressed, gzip, snappy, lz4, zstd). kcat writes with each of librdkafka's five codecs and
 * kafkajs with each of its codecs (gzip built in; snappy, lz4 and zstd registered as a kafkajs
 * application registers them); every topic reads back complete and in order through kcat,
 * kafkajs and the Java client, and its segment holds only batches in the topic's codec
 * (producer: as sent). A zstd compression bomb and a corrupt compressed batch get
 * CORRUPT_MESSAGE and leave the log untouched.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { startBroker, removeDir, type RunningBroker } from '../helpers/broker.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { jsonLines, runOk } from '../helpers/run.js';
import { segmentBatches, CODEC_ID } from '../helpers/segment.js';
import { RawConnection } from '../helpers/raw.js';
import { Compression, compress, decompress, encodeRecordBatch } from '../../src/records/record-batch.js';
import { crc32c } from '../../src/native/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;

const here = dirname(fileURLToPath(import.meta.url));
const JAVA_DIR = join(here, '..', '..', '..', 'test', 'java');
const LIB = join(JAVA_DIR, 'lib');
const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f));
const JAVA = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${LIB}/*`, join(JAVA_DIR, 'FranzCheck.java')];

// kafkajs ships gzip only; an application registers the others. These are the codecs' standard
// formats (snappy in the xerial framing the Java client writes, lz4 frames, zstd frames).
const plugin = (codec: number) => () => ({
  compress: async (encoder: { buffer: Buffer }) => compress(codec, encoder.buffer),
  decompress: async (buffer: Buffer) => decompress(codec, buffer),
});
CompressionCodecs[CompressionTypes.Snappy] = plugin(Compression.snappy);
CompressionCodecs[CompressionTypes.LZ4] = plugin(Compression.lz4);
CompressionCodecs[CompressionTypes.ZSTD] = plugin(Compression.zstd);

const TARGETS = ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const KJS_CODEC = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;
const PER_BATCH = 40;

let broker: RunningBroker;
const kafka = (): kafkajs.Kafka => new Kafka({ clientId: 'franz-compression', brokers: [broker.address], logLevel: logLevel.NOTHING });

before(async () => {
  broker = await startBroker({ sets: ['num.partitions=1'] });
});
after(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

/** What every topic holds once written: kcat's records, then kafkajs's, codec by codec. */
function expected(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const client of ['kcat', 'kafkajs'])
    for (const c of CODECS)
      for (let i = 0; i < PER_BATCH; i++) out.push([`${client}-${c}-${i}`, `${client} ${c} value ${i} ${'pad '.repeat(i)}`]);
  return out;
}

describe('broker-side compression with real clients', () => {
  test('every producer codec into every compression.type reads back through kcat, kafkajs and Java', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({
      topics: TARGETS.map((t) => ({ topic: `codec-${t}`, numPartitions: 1, configEntries: [{ name: 'compression.type', value: t }] })),
    });
    await admin.disconnect();
    const producer = kafka().producer();
    await producer.connect();
    for (const target of TARGETS) {
      const topic = `codec-${target}`;
      for (const c of CODECS) {
        const lines = Array.from({ length: PER_BATCH }, (_, i) => `kcat-${c}-${i}\t${`kcat ${c} value ${i} ${'pad '.repeat(i)}`}`);
        await runOk('kcat', ['-b', broker.address, '-P', '-t', topic, '-p', '0', '-K', '\t', '-z', c, '-X', 'linger.ms=50'], {
          input: `${lines.join('\n')}\n`,
        });
      }
      for (const c of CODECS) {
        await producer.send({
          topic,
          compression: KJS_CODEC[c],
          messages: Array.from({ length: PER_BATCH }, (_, i) => ({
            key: `kafkajs-${c}-${i}`,
            value: `kafkajs ${c} value ${i} ${'pad '.repeat(i)}`,
          })),
        });
      }
    }
    await producer.disconnect();
    const want = expected();
    for (const target of TARGETS) {
      const topic = `codec-${target}`;
      // kcat (librdkafka)
      const k = await kcatReadAll(broker.address, topic);
      assert.deepEqual(
        k.map((r) => [r.key, r.payload]),
        want,
        `kcat reads ${topic}`,
      );
      // What the broker stored: the topic's codec, or as sent.
      const codecs = new Set(segmentBatches(broker.dataDir, topic, 0).map((b) => b.codec));
      if (target === 'producer') assert.equal(codecs.size, 5, 'producer keeps every codec as sent');
      else assert.deepEqual([...codecs], [target === 'uncompressed' ? 0 : CODEC_ID[target]], `${topic} stores ${target}`);
      // kafkajs
      const consumer = kafka().consumer({ groupId: `g-${topic}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: Array<[string, string]> = [];
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            got.push([message.key!.toString(), message.value!.toString()]);
            if (got.length === want.length) resolve();
          },
        });
      });
      await consumer.disconnect();
      assert.deepEqual(got, want, `kafkajs reads ${topic}`);
    }
    // The Java client, on the converted topics.
    if (haveJars || process.env.FRANZ_REQUIRE_JAVA === '1') {
      for (const target of ['uncompressed', 'lz4', 'zstd']) {
        const r = await runOk('java', [...JAVA, 'consume', broker.address, `codec-${target}`, String(want.length)], { timeoutMs: 90_000 });
        const records = jsonLines<{ key?: string; value?: string }>(r.stdout).filter((x) => x.key !== undefined);
        assert.deepEqual(
          records.map((x) => [x.key, x.value]),
          want,
          `Java reads codec-${target}`,
        );
      }
    }
  });

  test('a zstd bomb and a corrupt gzip batch are CORRUPT_MESSAGE and append nothing', async () => {
    const topic = 'codec-uncompressed';
    const c = await RawConnection.open(broker.port);
    try {
      const produce = async (records: Buffer): Promise<number> => {
        const r = await c.request(0, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
        });
        return r.responses[0].partitionResponses[0].errorCode as number;
      };
      const before = segmentBatches(broker.dataDir, topic, 0).length;
      const bomb = encodeRecordBatch([{ key: 'k', value: Buffer.alloc(48 << 20) }], { compression: Compression.zstd });
      assert.ok(bomb.length < 64 * 1024, `the bomb is small on the wire (${bomb.length} bytes)`);
      assert.equal(await produce(bomb), ErrorCode.CORRUPT_MESSAGE);
      const corrupt = encodeRecordBatch([{ key: 'k', value: randomBytes(2000) }], { compression: Compression.gzip });
      corrupt.fill(0x55, 61 + 12, 61 + 40);
      corrupt.writeUInt32BE(crc32c(corrupt.subarray(21)), 17);
      assert.equal(await produce(corrupt), ErrorCode.CORRUPT_MESSAGE);
      assert.equal(segmentBatches(broker.dataDir, topic, 0).length, before, 'nothing appended');
      // The broker and the topic carry on.
      assert.equal(await produce(encodeRecordBatch([{ key: 'k', value: 'fine' }], { compression: Compression.zstd })), ErrorCode.NONE);
    } finally {
      c.close();
    }
  });
});
