/**
 * Consumers that stop reading must not delay anyone else. Each stalled consumer here has a large
 * Fetch response in flight that its socket no longer drains (it reads nothing more); meanwhile an acks=all produce to another topic, which in franz's default waits
 * for a group-commit fdatasync, must be acknowledged about as fast as with no stalled consumer.
 * (Responses used to be written on the libuv pool, one thread held per stalled consumer, and the
 * fdatasync queued behind them: 24 s at four stalled consumers, nothing at 24.) Afterwards every
 * stalled consumer reads on and gets its whole response.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import kafkajs from 'kafkajs';
import { codecForKey } from '../../src/protocol/codecs.js';
import { writeRequestHeader } from '../../src/protocol/header.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { removeDir, startBroker, type RunningBroker } from '../helpers/broker.js';
import type { Message } from '../helpers/raw.js';

const { Kafka, logLevel } = kafkajs;

const BULK = 'slow-bulk';
const FAST = 'slow-fast';
/** 16 MiB: more than the kernel buffers on both sides hold, so a consumer that stops reading
 * leaves most of its response waiting in the broker. */
const RECORDS = 16384;
const VALUE = Buffer.alloc(1024, 'v');
/** Kafka's FETCH api key and the version these consumers speak. */
const FETCH = 1;
const FETCH_VERSION = 12;

let broker: RunningBroker;
let kafka: kafkajs.Kafka;
let producer: kafkajs.Producer;
let bulkBytes = 0;

/** A consumer that asks for the whole topic in one Fetch and then stops reading its socket. */
class StalledConsumer {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private constructor(private readonly socket: Socket) {}

  static async start(port: number): Promise<StalledConsumer> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const c = new StalledConsumer(socket);
    socket.on('data', (d: Buffer) => {
      c.chunks.push(d);
      c.received += d.length;
    });
    const first = once(socket, 'data');
    socket.write(fetchFrame());
    await first;
    // Stalled: the response has started and nothing more is read.
    socket.pause();
    return c;
  }

  /** Reads on until the whole response has arrived, and decodes it. */
  async finish(): Promise<Message> {
    this.socket.resume();
    const head = Buffer.concat(this.chunks).subarray(0, 4);
    const total = 4 + head.readInt32BE(0);
    while (this.received < total) await once(this.socket, 'data');
    this.socket.destroy();
    const all = Buffer.concat(this.chunks);
    const r = new Reader(all, 4, total);
    r.int32(); // correlation id
    r.uvarint(); // response header tags (Fetch v12 is flexible)
    const body = codecForKey(FETCH)!.at(FETCH_VERSION).decodeResponse(r);
    assert.equal(r.bad, false, 'a well-formed response');
    return body;
  }

  get bytesReceived(): number {
    return this.received;
  }
}

function fetchFrame(): Buffer {
  const codec = codecForKey(FETCH)!.at(FETCH_VERSION);
  const w = new Writer(128);
  w.int32(0);
  writeRequestHeader(w, { apiKey: FETCH, apiVersion: FETCH_VERSION, correlationId: 1, clientId: 'stalled' }, true);
  codec.encodeRequest(w, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 64 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: BULK, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 64 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** Milliseconds for an acks=all produce of 200 small records to the other topic. */
async function produceLatency(): Promise<number> {
  const messages = Array.from({ length: 200 }, (_, i) => ({ value: `fast-${i}` }));
  const start = performance.now();
  await producer.send({ topic: FAST, acks: -1, messages });
  return performance.now() - start;
}

describe('stalled consumers', () => {
  before(async () => {
    // franz's default: fsync before acknowledging.
    broker = await startBroker({ sets: ['auto.create.topics.enable=false'] });
    kafka = new Kafka({ brokers: [broker.address], clientId: 'slow-consumers', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: BULK, numPartitions: 1 },
        { topic: FAST, numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < RECORDS; i += 512) {
      await producer.send({ topic: BULK, acks: -1, messages: Array.from({ length: 512 }, () => ({ value: VALUE })) });
    }
    bulkBytes = RECORDS * VALUE.length;
    await produceLatency(); // warm
  });

  after(async () => {
    await producer?.disconnect();
    if (broker) {
      await broker.stop();
      removeDir(broker.dataDir);
    }
  });

  test('an acks=all produce is not delayed by 1, 4, 16 or 256 stalled consumers, and they all resume', async () => {
    const baseline = Math.min(await produceLatency(), await produceLatency(), await produceLatency());
    const seen: string[] = [`N=0: ${baseline.toFixed(1)} ms`];
    for (const n of [1, 4, 16, 256]) {
      const stalled: StalledConsumer[] = [];
      for (let i = 0; i < n; i++) stalled.push(await StalledConsumer.start(broker.port));
      const latency = await produceLatency();
      seen.push(`N=${n}: ${latency.toFixed(1)} ms`);
      // The bug this pins made it tens of seconds, or never; a second is far above any noise here.
      assert.ok(latency < baseline + 1000, `produce took ${latency.toFixed(0)} ms with ${n} stalled consumers (${seen.join(', ')})`);
      for (const c of stalled) assert.ok(c.bytesReceived < bulkBytes / 2, 'the consumer really is stalled mid-response');
      for (const c of stalled) {
        const body = await c.finish();
        const part = (body.responses as Message[])[0]!.partitions[0] as Message;
        assert.equal(part.errorCode, 0);
        assert.ok((part.records as Buffer).length > bulkBytes, 'the whole topic, every batch');
      }
    }
    process.stdout.write(`# produce latency with stalled consumers: ${seen.join(', ')}\n`);
  });

  test('kcat consumers stopped with SIGSTOP mid-fetch do not delay a produce, and read everything after SIGCONT', async () => {
    const topic = 'slow-kcat';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'first' }] });
    const baseline = Math.min(await produceLatency(), await produceLatency());
    const consumers = Array.from({ length: 4 }, () => {
      // A long poll (60 s) and fetches as large as the topic will be: a consumer stopped while it
      // waits gets its whole answer at once, in one response that stays in flight.
      const child = spawn(
        'kcat',
        [
          '-C',
          '-u',
          '-b',
          broker.address,
          '-t',
          topic,
          '-p',
          '0',
          '-o',
          'beginning',
          '-q',
          '-f',
          '.',
          '-X',
          'fetch.wait.max.ms=60000',
          '-X',
          'socket.timeout.ms=90000',
          '-X',
          'fetch.message.max.bytes=33554432',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let dots = 0;
      const waiters: Array<() => void> = [];
      child.stdout!.on('data', (d: Buffer) => {
        dots += d.length;
        for (const w of waiters.splice(0)) w();
      });
      /** Resolves once this consumer has printed `n` records. */
      const reached = async (n: number): Promise<void> => {
        while (dots < n) await new Promise<void>((resolve) => waiters.push(resolve));
      };
      return { child, reached, count: () => dots };
    });
    try {
      // Each has read the first record, and so has its next (long-polling) Fetch in the broker.
      await Promise.all(consumers.map((c) => c.reached(1)));
      for (const c of consumers) c.child.kill('SIGSTOP');
      // Their long polls are answered now, with every new record, to consumers that are stopped.
      for (let i = 0; i < RECORDS; i += 512) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 512 }, () => ({ value: VALUE })) });
      }
      const latency = await produceLatency();
      assert.ok(latency < baseline + 1000, `produce took ${latency.toFixed(0)} ms with 4 stopped kcat consumers`);
      for (const c of consumers) c.child.kill('SIGCONT');
      await Promise.all(consumers.map((c) => c.reached(1 + RECORDS)));
      for (const c of consumers) assert.equal(c.count(), 1 + RECORDS, 'every record, once');
    } finally {
      for (const c of consumers) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    }
  });
});
