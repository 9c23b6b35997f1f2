/**
 * Topic creation in the background: CreateTopics and CreatePartitions register the topic at once and
 * make its logs off the event loop. In-process brokers for the steps that must be caught in between
 * (partitions without a leader, a deletion or a shutdown half-way, a failure to make files), and a
 * broker process with kafkajs and a raw socket for what clients see. Deletion: a deleted topic's
 * segment descriptors close at once once no response pins them.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import kafkajs from 'kafkajs';
import { Broker } from '../../src/broker.js';
import { BrokerConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { describeTopic } from '../../src/handlers/03-metadata.js';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { RawConnection } from '../helpers/raw.js';
import { kafkaFor, startInProcessBroker } from '../helpers/in-process.js';
import type { Message } from '../helpers/raw.js';
import { pinCount } from '../../src/storage/file-pins.js';

const { Kafka, logLevel } = kafkajs;
const NONE = 0;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const NOT_LEADER_OR_FOLLOWER = 6;
const KAFKA_STORAGE_ERROR = 56;
const TOPIC_ALREADY_EXISTS = 36;

function inProcess(dir: string): Broker {
  return new Broker(BrokerConfig.from({ sets: [`log.dirs=${dir}`, 'auto.create.topics.enable=false'] }), createLogger('test', 'error'));
}

function leaders(b: Broker, name: string): number[] {
  return describeTopic(b, b.topics.get(name)!).partitions.map((p) => p.errorCode);
}

function partitionDirs(dir: string, topic: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.startsWith(`${topic}-`));
}

describe('in-process', () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = tempDir('franz-create-');
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach(removeDir));

  test('a topic is listed at once with its leaders; its partitions answer NOT_LEADER_OR_FOLLOWER until their logs are open', async () => {
    const b = inProcess(fresh());
    const r = b.topics.createTopicAsync('bg', 40, 1, {});
    assert.equal(r.errorCode, NONE);
    // The creation cannot have finished within this synchronous step.
    assert.ok(b.topics.get('bg') !== undefined);
    assert.equal(b.topics.partition('bg', 0), undefined);
    assert.equal(b.topics.missingPartitionError('bg', 39), NOT_LEADER_OR_FOLLOWER);
    assert.equal(b.topics.missingPartitionError('bg', 40), UNKNOWN_TOPIC_OR_PARTITION);
    // Kafka 4 lists a recorded topic with its leaders; kafkajs fails a refresh on LEADER_NOT_AVAILABLE.
    assert.deepEqual(new Set(leaders(b, 'bg')), new Set([NONE]));
    assert.equal(b.topics.createTopicAsync('bg', 1, 1, {}).errorCode, TOPIC_ALREADY_EXISTS);
    assert.deepEqual(await r.ready, { errorCode: NONE, message: null });
    assert.ok(b.topics.partition('bg', 39) !== undefined);
    for (let p = 0; p < 40; p++) {
      const meta = fs.readFileSync(path.join(b.dataDir, `bg-${p}`, 'partition.metadata'), 'utf8');
      assert.match(meta, /^version: 0\ntopic_id: \S+\n$/);
    }
    const grown = await b.topics.addPartitions('bg', 45);
    assert.equal(grown.errorCode, NONE);
    assert.equal(b.topics.get('bg')!.partitions, 45);
    assert.ok(b.topics.partition('bg', 44) !== undefined);
    await b.stop();
  });

  test('a topic deleted while its logs are made leaves no directory, and the name can be used again', async () => {
    const b = inProcess(fresh());
    const r = b.topics.createTopicAsync('gone', 60, 1, {});
    assert.equal(b.topics.deleteTopic('gone'), NONE);
    const outcome = await r.ready!;
    assert.equal(outcome.errorCode, UNKNOWN_TOPIC_OR_PARTITION);
    assert.deepEqual(partitionDirs(b.dataDir, 'gone'), []);
    const again = b.topics.createTopicAsync('gone', 3, 1, {});
    assert.equal(again.errorCode, NONE);
    assert.equal((await again.ready!).errorCode, NONE);
    assert.deepEqual(partitionDirs(b.dataDir, 'gone').sort(), ['gone-0', 'gone-1', 'gone-2']);
    await b.stop();
  });

  test('a shutdown half-way leaves a topic that the next start completes', async () => {
    const dir = fresh();
    const b = inProcess(dir);
    const r = b.topics.createTopicAsync('half', 200, 1, {});
    const stopped = b.stop();
    assert.equal((await r.ready!).errorCode, NONE);
    await stopped;
    const again = inProcess(dir);
    assert.equal(again.topics.get('half')!.partitions, 200);
    assert.deepEqual(new Set(leaders(again, 'half')), new Set([NONE]));
    for (let p = 0; p < 200; p++) assert.ok(fs.existsSync(path.join(dir, `half-${p}`, 'partition.metadata')), `half-${p}`);
    await again.stop();
  });

  test('a partition whose files cannot be made undoes the whole topic (KAFKA_STORAGE_ERROR)', async () => {
    const b = inProcess(fresh());
    // A plain file where partition 7's directory must go: its mkdir fails.
    fs.writeFileSync(path.join(b.dataDir, 'broken-7'), 'in the way');
    const r = b.topics.createTopicAsync('broken', 20, 1, {});
    const outcome = await r.ready!;
    assert.equal(outcome.errorCode, KAFKA_STORAGE_ERROR);
    assert.match(outcome.message!, /broken/);
    assert.equal(b.topics.get('broken'), undefined);
    assert.deepEqual(partitionDirs(b.dataDir, 'broken'), []);
    // The same failure in CreatePartitions takes only the new partitions back.
    assert.equal((await b.topics.createTopicAsync('grow', 2, 1, {}).ready!).errorCode, NONE);
    fs.writeFileSync(path.join(b.dataDir, 'grow-3'), 'in the way');
    assert.equal((await b.topics.addPartitions('grow', 5)).errorCode, KAFKA_STORAGE_ERROR);
    assert.equal(b.topics.get('grow')!.partitions, 2);
    assert.deepEqual(partitionDirs(b.dataDir, 'grow').sort(), ['grow-0', 'grow-1']);
    await b.stop();
  });
});

describe('broker process', () => {
  let broker: RunningBroker;
  let raw: RawConnection;
  before(async () => {
    broker = await startBroker({ sets: ['auto.create.topics.enable=false'] });
    raw = await RawConnection.open(broker.port);
  });
  after(async () => {
    raw?.close();
    await broker?.stop();
  });

  test('CreateTopics with timeoutMs 0 answers at once; the topic is listed whole and kafkajs produces to it', async () => {
    const res = await raw.request(19, 7, {
      topics: [{ name: 'wide', numPartitions: 1000, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 0,
      validateOnly: false,
    });
    const t = (res.topics as Message[])[0]!;
    assert.equal(t.errorCode, NONE);
    assert.equal(t.numPartitions, 1000);
    const md = await raw.request(3, 12, {
      topics: [{ name: 'wide', topicId: t.topicId as string }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const parts = (md.topics as Message[])[0]!.partitions as Message[];
    assert.equal(parts.length, 1000);
    assert.deepEqual(new Set(parts.map((p) => p.errorCode)), new Set([NONE]));
    // kafkajs (waitForLeaders) creates and grows a topic, then produces to its last partition.
    const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: 'wide-kjs', numPartitions: 300 }], timeout: 30_000 }), true);
    await admin.createPartitions({ topicPartitions: [{ topic: 'wide-kjs', count: 600 }], timeout: 30_000 });
    const producer = kafka.producer();
    await producer.connect();
    const [ack] = await producer.send({ topic: 'wide-kjs', messages: [{ value: 'last', partition: 599 }] });
    assert.equal(ack!.errorCode, NONE);
    assert.equal(ack!.partition, 599);
    // The raw client's topic: its last log may still be being made; the producer retries until it is.
    const [wide] = await producer.send({ topic: 'wide', messages: [{ value: 'x', partition: 999 }] });
    assert.equal(wide!.errorCode, NONE);
    await producer.disconnect();
    await admin.disconnect();
  });
});

describe('deletion, in-process with kafkajs', () => {
  let dir = '';
  after(() => removeDir(dir));

  test("after kafkajs has read a partition no response pins its segment, and deleting the topic closes the segment's descriptor at once", async () => {
    dir = tempDir('franz-delete-');
    const b = await startInProcessBroker(dir);
    const kafka = kafkaFor(b);
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: 'pins' });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'pinned', numPartitions: 1 }] });
      await producer.connect();
      await producer.send({ topic: 'pinned', messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })) });
      const fd = b.topics.partition('pinned', 0)!.read(0, 1 << 20, true).regions[0]!.fd;
      const ino = fs.fstatSync(fd).ino;
      await consumer.connect();
      await consumer.subscribe({ topic: 'pinned', fromBeginning: true });
      let seen = 0;
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async () => {
            if (++seen === 5) resolve();
          },
        });
      });
      await consumer.disconnect();
      // Every Fetch answer holding the segment was written and released it.
      assert.equal(pinCount(fd), 0);
      await admin.deleteTopics({ topics: ['pinned'] });
      // Closed: the number is free (or already reused by another file, such as a socket).
      let sameFile = false;
      try {
        sameFile = fs.fstatSync(fd).ino === ino;
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'EBADF');
      }
      assert.equal(sameFile, false, 'the deleted segment is still open');
    } finally {
      await Promise.allSettled([admin.disconnect(), producer.disconnect(), consumer.disconnect()]);
      await b.stop();
    }
  });
});
