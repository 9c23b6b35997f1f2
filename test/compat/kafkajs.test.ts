/**
 * kafkajs (a real client, unchanged) against a real broker process: plain, keyed, gzip and
 * idempotent producers; offsets by time; everything read back with kcat (librdkafka), another
 * real client, since kafkajs only consumes through consumer groups.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, CompressionTypes, logLevel, type Producer } from 'kafkajs';
import { startBroker, removeDir, type RunningBroker } from '../helpers/broker.js';
import { run } from '../helpers/run.js';

let broker: RunningBroker;
let kafka: Kafka;

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  broker = await startBroker({ sets: ['num.partitions=3'] });
  kafka = new Kafka({ brokers: [broker.address], clientId: 'franz-kafkajs-test', logLevel: logLevel.NOTHING });
});

after(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

interface KcatRecord {
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

/** Reads a whole topic with kcat -J (one JSON object per record). */
async function readAll(topic: string): Promise<KcatRecord[]> {
  const r = await run('kcat', ['-b', broker.address, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as KcatRecord);
}

async function withProducer<T>(opts: Parameters<Kafka['producer']>[0], fn: (p: Producer) => Promise<T>): Promise<T> {
  const p = kafka.producer(opts);
  await p.connect();
  try {
    return await fn(p);
  } finally {
    await p.disconnect();
  }
}

describe('kafkajs producer', () => {
  test('keyed messages with headers land on their partitions at the acknowledged offsets', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kjs-keyed', numPartitions: 3 }] });
    await admin.disconnect();
    const acks = await withProducer({}, (p) =>
      p.send({
        topic: 'kjs-keyed',
        acks: -1,
        messages: Array.from({ length: 60 }, (_, i) => ({
          key: `key-${i % 6}`,
          value: `value-${i}`,
          headers: { n: String(i) },
        })),
      }),
    );
    assert.equal(acks.length, 3, 'six keys spread over three partitions');
    const got = await readAll('kjs-keyed');
    assert.equal(got.length, 60);
    for (const rec of got) {
      const i = Number(rec.payload!.slice('value-'.length));
      assert.equal(rec.key, `key-${i % 6}`);
      assert.deepEqual(rec.headers, ['n', String(i)]);
    }
    // Same key, same partition, in send order.
    const byKey = new Map<string, KcatRecord[]>();
    for (const rec of got) byKey.set(rec.key!, [...(byKey.get(rec.key!) ?? []), rec]);
    for (const list of byKey.values()) {
      assert.equal(new Set(list.map((r) => r.partition)).size, 1);
      const order = list.map((r) => Number(r.payload!.slice(6)));
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
      );
    }
  });

  test('gzip batches are stored as sent and read back by librdkafka', async () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({ value: `gzip-${i}-`.padEnd(200, 'z') }));
    await withProducer({}, (p) => p.send({ topic: 'kjs-gzip', compression: CompressionTypes.GZIP, messages }));
    const got = await readAll('kjs-gzip');
    assert.deepEqual(got.map((r) => r.payload).sort(), messages.map((m) => m.value).sort());
  });

  test('an idempotent producer gets consecutive offsets and no duplicates', async () => {
    const offsets = await withProducer({ idempotent: true, maxInFlightRequests: 1 }, async (p) => {
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await p.send({ topic: 'kjs-idem', acks: -1, messages: [{ key: 'k', value: `idem-${i}` }] });
        out.push(r[0]!.baseOffset!);
      }
      return out;
    });
    assert.deepEqual(
      offsets,
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
    const got = await readAll('kjs-idem');
    assert.deepEqual(
      got.map((r) => r.payload),
      Array.from({ length: 20 }, (_, i) => `idem-${i}`),
    );
  });

  test('acks=1 and acks=0 are accepted; acks=0 records still arrive', async () => {
    await withProducer({}, async (p) => {
      await p.send({ topic: 'kjs-acks', acks: 1, messages: [{ key: 'a', value: 'one' }] });
      await p.send({ topic: 'kjs-acks', acks: 0, messages: [{ key: 'a', value: 'zero' }] });
      // The next acknowledged send on the same connection is answered after the acks=0 one was appended.
      await p.send({ topic: 'kjs-acks', acks: -1, messages: [{ key: 'a', value: 'all' }] });
    });
    const got = await readAll('kjs-acks');
    assert.deepEqual(
      got.map((r) => r.payload),
      ['one', 'zero', 'all'],
    );
  });
});

describe('kafkajs admin offsets', () => {
  test('fetchTopicOffsets and fetchTopicOffsetsByTimestamp', async () => {
    const before = Date.now();
    await withProducer({}, (p) =>
      p.send({ topic: 'kjs-time', messages: [{ key: 'x', value: 'old', timestamp: String(before - 60_000) }] }),
    );
    await withProducer({}, (p) => p.send({ topic: 'kjs-time', messages: [{ key: 'x', value: 'new', timestamp: String(before) }] }));
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets('kjs-time');
      const withData = offsets.find((o) => o.high !== '0')!;
      assert.equal(withData.low, '0');
      assert.equal(withData.high, '2');
      const byTime = await admin.fetchTopicOffsetsByTimestamp('kjs-time', before - 1000);
      assert.equal(byTime.find((o) => o.partition === withData.partition)!.offset, '1');
    } finally {
      await admin.disconnect();
    }
  });
});
