/**
 * Kafka's connection limits (connections.max.idle.ms, max.connections, max.connections.per.ip and
 * its overrides, queued.max.requests) and franz's bound on a request sent too slowly
 * (franz.request.read.timeout.ms), each against a real broker process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, startBroker, type RunningBroker } from '../helpers/broker.js';
import { makeBatch } from '../helpers/batches.js';
import { RawConnection, type Message } from '../helpers/raw.js';

const API_VERSIONS = 18;
const PRODUCE = 0;
const FETCH = 1;
const LIST_OFFSETS = 2;
const CREATE_TOPICS = 19;

async function alive(c: RawConnection): Promise<boolean> {
  const res = await c.request(API_VERSIONS, 3, { clientSoftwareName: 'limits', clientSoftwareVersion: '1' });
  return res.errorCode === 0;
}

/** The frames `send` would write, captured instead of sent. */
function framesOf(c: RawConnection, send: () => void): Buffer[] {
  const frames: Buffer[] = [];
  const real = c.sendBytes.bind(c);
  c.sendBytes = (b: Buffer) => void frames.push(b);
  try {
    send();
  } finally {
    c.sendBytes = real;
  }
  return frames;
}

/** Bounded wait for something that should not happen (a connection that must stay open). */
function staysOpen(c: RawConnection, ms: number): Promise<boolean> {
  return Promise.race([c.waitClosed().then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms))]);
}

describe('idle connections and slow requests', () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({ sets: ['connections.max.idle.ms=400', 'franz.request.read.timeout.ms=400'] });
  });
  after(async () => {
    await broker.stop();
    removeDir(broker.dataDir);
  });

  test('a connection with no traffic for connections.max.idle.ms is closed; a busy one is not', async () => {
    const idle = await RawConnection.open(broker.port);
    const busy = await RawConnection.open(broker.port);
    assert.ok(await alive(idle));
    const start = Date.now();
    // The busy one sends a request every 100 ms, well within the idle time.
    let keepGoing = true;
    const pinger = (async () => {
      while (keepGoing) {
        assert.ok(await alive(busy));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    assert.equal(await idle.waitClosed(), true);
    const took = Date.now() - start;
    assert.ok(took >= 400, `closed after ${took} ms of idleness`);
    assert.equal(busy.closed, false, 'the busy connection is still open');
    keepGoing = false;
    await pinger;
    busy.close();
  });

  test('a request that is not complete within franz.request.read.timeout.ms closes its connection', async () => {
    const slow = await RawConnection.open(broker.port);
    const partial = Buffer.alloc(4 + 10);
    partial.writeInt32BE(100, 0); // announces 100 bytes, sends 10
    slow.sendBytes(partial);
    assert.equal(await slow.waitClosed(), true);
    assert.match(broker.stderr(), /request not complete within franz\.request\.read\.timeout\.ms/);

    // A request sent in two parts, 100 ms apart (within the bound), is answered.
    const twoParts = await RawConnection.open(broker.port);
    const [frame] = framesOf(twoParts, () => twoParts.send(API_VERSIONS, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }));
    twoParts.sendBytes(frame!.subarray(0, 7));
    await new Promise((resolve) => setTimeout(resolve, 100));
    twoParts.sendBytes(frame!.subarray(7));
    assert.ok((await twoParts.nextFrame()) !== null, 'answered');
    twoParts.close();
  });
});

describe('max.connections and max.connections.per.ip', () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({
      sets: ['max.connections=4', 'max.connections.per.ip=2', 'max.connections.per.ip.overrides=127.0.0.2:3'],
    });
  });
  after(async () => {
    await broker.stop();
    removeDir(broker.dataDir);
  });

  test('per address: the connection over the limit is closed at once; an override raises it for its address', async () => {
    const a = [await RawConnection.open(broker.port), await RawConnection.open(broker.port)];
    for (const c of a) assert.ok(await alive(c));
    const third = await RawConnection.open(broker.port);
    assert.equal(await third.waitClosed(), true, 'a third from 127.0.0.1');
    const b = [await RawConnection.open(broker.port, '127.0.0.2'), await RawConnection.open(broker.port, '127.0.0.2')];
    for (const c of b) assert.ok(await alive(c));
    // Four now: max.connections is reached, whatever the address's own limit says.
    const fifth = await RawConnection.open(broker.port, '127.0.0.2');
    assert.equal(await fifth.waitClosed(), true, 'over max.connections');
    // One goes away: 127.0.0.2 may have its third (override 3), and 127.0.0.1 still no third.
    a[0]!.close();
    await a[0]!.waitClosed();
    let again = await RawConnection.open(broker.port, '127.0.0.2');
    // The broker may not have seen the close yet: retry until it has.
    for (let i = 0; i < 50 && !(await staysOpen(again, 50)); i++) again = await RawConnection.open(broker.port, '127.0.0.2');
    assert.ok(await alive(again), 'the override allows a third from 127.0.0.2');
    const overLimit = await RawConnection.open(broker.port, '127.0.0.2');
    assert.equal(await overLimit.waitClosed(), true, 'a fourth from 127.0.0.2 is over its override and over max.connections');
    for (const c of [a[1]!, ...b, again]) c.close();
    assert.match(broker.stderr(), /refusing connections over a limit/);
  });
});

describe('queued.max.requests', () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({ sets: ['queued.max.requests=2', 'auto.create.topics.enable=false'] });
    const c = await RawConnection.open(broker.port);
    const res = await c.request(CREATE_TOPICS, 5, {
      topics: ['q-wait', 'q-produce'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 10_000,
      validateOnly: false,
    });
    for (const t of res.topics as Message[]) assert.equal(t.errorCode, 0);
    c.close();
  });
  after(async () => {
    await broker.stop();
    removeDir(broker.dataDir);
  });

  async function latestOffset(topic: string): Promise<number> {
    const c = await RawConnection.open(broker.port);
    const res = await c.request(LIST_OFFSETS, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
    });
    c.close();
    return (res.topics as Message[])[0]!.partitions[0].offset as number;
  }

  test('with two requests unanswered, the connection is not read further until one is answered', async () => {
    const c = await RawConnection.open(broker.port);
    const longPoll = {
      replicaId: -1,
      maxWaitMs: 20_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'q-wait', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    };
    // Two long polls, then a produce, pipelined in one write.
    const batch = makeBatch({ recordCount: 1, attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1 });
    const frames = framesOf(c, () => {
      c.send(FETCH, 12, longPoll);
      c.send(FETCH, 12, longPoll);
      c.send(PRODUCE, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: 'q-produce', partitionData: [{ index: 0, records: batch }] }],
      });
    });
    c.sendBytes(Buffer.concat(frames));

    // The produce waits behind the two long polls: it has not been read.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await latestOffset('q-produce'), 0, 'the third request is not read while two are unanswered');

    // A record for the long polls answers them; then the produce is read and appended.
    const other = await RawConnection.open(broker.port);
    const res = await other.request(PRODUCE, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'q-wait', partitionData: [{ index: 0, records: batch }] }],
    });
    assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
    other.close();
    for (let i = 0; i < 3; i++) assert.ok((await c.nextFrame()) !== null, `response ${i + 1} arrives`);
    assert.equal(await latestOffset('q-produce'), 1, 'read and appended once the queue had room');
    assert.ok(await alive(c));
    c.close();
  });
});
