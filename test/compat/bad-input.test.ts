/**
 * Bad input gets Kafka's error code or a closed connection, never a crash nor a corrupted log:
 * oversized and non-Kafka frames, unknown APIs and versions, malformed bodies, corrupt batches,
 * wrong magic, oversized batches, unknown topics, a full disk, and running out of descriptors.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { RawConnection } from '../helpers/raw.js';
import { makeBatch } from '../helpers/batches.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { Message } from '../helpers/raw.js';
import { Client } from '../../src/client/client.js';

const PRODUCE = 0;
const METADATA = 3;
const API_VERSIONS = 18;
const LIST_OFFSETS = 2;

const plain = { attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1 };

function produceBody(topic: string, records: Buffer | null, acks = -1): Message {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

function partitionResult(res: Message): Message {
  return res.responses[0].partitionResponses[0];
}

async function endOffset(c: RawConnection, topic: string): Promise<number> {
  const res = await c.request(LIST_OFFSETS, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  return res.topics[0].partitions[0].offset;
}

/** The broker still answers a well-formed request after whatever the test did. */
async function assertAlive(b: RunningBroker): Promise<void> {
  const c = await RawConnection.open(b.port);
  const res = await c.request(API_VERSIONS, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  assert.equal(res.errorCode, 0);
  c.close();
}

describe('malformed frames', () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({ sets: ['socket.request.max.bytes=1048576'] });
  });
  after(async () => {
    await broker.stop();
    removeDir(broker.dataDir);
  });

  test('an HTTP request on the Kafka port closes the connection', async () => {
    const c = await RawConnection.open(broker.port);
    c.sendBytes(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(await c.waitClosed(), true);
    await assertAlive(broker);
  });

  test('a TLS ClientHello closes the connection', async () => {
    const c = await RawConnection.open(broker.port);
    c.sendBytes(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    assert.equal(await c.waitClosed(), true);
    await assertAlive(broker);
  });

  test('a size prefix over socket.request.max.bytes closes the connection before buffering', async () => {
    const c = await RawConnection.open(broker.port);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(1048577, 0);
    c.sendBytes(prefix);
    assert.equal(await c.waitClosed(), true);
    const neg = await RawConnection.open(broker.port);
    neg.sendBytes(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    assert.equal(await neg.waitClosed(), true);
    await assertAlive(broker);
  });

  test('an unknown API key closes the connection', async () => {
    const c = await RawConnection.open(broker.port);
    const f = Buffer.alloc(4 + 10);
    f.writeInt32BE(10, 0);
    f.writeInt16BE(999, 4); // api key
    f.writeInt16BE(0, 6);
    f.writeInt32BE(7, 8);
    f.writeInt16BE(-1, 12); // null client id
    c.sendBytes(f);
    assert.equal(await c.waitClosed(), true);
    await assertAlive(broker);
  });

  test('an ApiVersions version we do not know gets UNSUPPORTED_VERSION with our ranges in a v0 body', async () => {
    const c = await RawConnection.open(broker.port);
    const f = Buffer.alloc(4 + 10);
    f.writeInt32BE(10, 0);
    f.writeInt16BE(API_VERSIONS, 4);
    f.writeInt16BE(99, 6);
    f.writeInt32BE(42, 8);
    f.writeInt16BE(-1, 12);
    c.sendBytes(f);
    const frame = (await c.nextFrame())!;
    assert.equal(frame.readInt32BE(0), 42);
    assert.equal(frame.readInt16BE(4), ErrorCode.UNSUPPORTED_VERSION);
    const count = frame.readInt32BE(6);
    assert.ok(count >= 6);
    const keys = Array.from({ length: count }, (_, i) => frame.readInt16BE(10 + i * 6));
    assert.ok(keys.includes(API_VERSIONS) && keys.includes(PRODUCE));
    c.close();
  });

  test('Produce v2 (advertised, refused as in Kafka 4) closes the connection', async () => {
    const c = await RawConnection.open(broker.port);
    const f = Buffer.alloc(4 + 10 + 10);
    f.writeInt32BE(20, 0);
    f.writeInt16BE(PRODUCE, 4);
    f.writeInt16BE(2, 6);
    f.writeInt32BE(1, 8);
    f.writeInt16BE(-1, 12);
    c.sendBytes(f);
    assert.equal(await c.waitClosed(), true);
  });

  test('a truncated request body closes the connection', async () => {
    const c = await RawConnection.open(broker.port);
    const f = Buffer.alloc(4 + 10 + 3);
    f.writeInt32BE(13, 0);
    f.writeInt16BE(METADATA, 4);
    f.writeInt16BE(1, 6);
    f.writeInt32BE(1, 8);
    f.writeInt16BE(-1, 12);
    f.writeInt8(0x7f, 14); // the first byte of an int32 array count, then nothing
    c.sendBytes(f);
    assert.equal(await c.waitClosed(), true);
    await assertAlive(broker);
  });

  test('a null topic name (Produce, CreateTopics, DescribeConfigs) closes the connection, with no handler error', async () => {
    const requests: Array<[string, number, number, Record<string, unknown>]> = [
      ['Produce', 0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: null, partitionData: [] }] }],
      [
        'CreateTopics',
        19,
        7,
        { topics: [{ name: null, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 },
      ],
      ['DescribeConfigs', 32, 4, { resources: [{ resourceType: 2, resourceName: null, configurationKeys: null }] }],
    ];
    for (const [name, key, version, body] of requests) {
      const c = await RawConnection.open(broker.port);
      c.send(key, version, body);
      assert.equal(await c.waitClosed(), true, `${name} with a null topic name`);
    }
    await assertAlive(broker);
    assert.doesNotMatch(broker.stderr(), /handler failed|TypeError/);
  });

  test('Metadata v10-11 asking for a topic by id closes the connection; v12 answers UNKNOWN_TOPIC_ID', async () => {
    const byId = { topicId: '8f0a4c2e1b3d4e5f9a7b6c5d4e3f2a1b', name: null };
    for (const version of [10, 11]) {
      for (const topic of [byId, { ...byId, name: 'named-too' }]) {
        const c = await RawConnection.open(broker.port);
        c.send(3, version, { topics: [topic], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        assert.equal(await c.waitClosed(), true, `Metadata v${version} with ${JSON.stringify(topic)}`);
      }
    }
    const c = await RawConnection.open(broker.port);
    const res = await c.request(3, 12, { topics: [byId], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(res.topics[0].errorCode, 100);
    assert.equal(res.topics[0].name, null);
    c.close();
    await assertAlive(broker);
    assert.doesNotMatch(broker.stderr(), /handler failed|TypeError/);
  });

  test('random frames never take the broker down', async () => {
    let seed = 17;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 40; i++) {
      const c = await RawConnection.open(broker.port);
      const len = 6 + Math.floor(rand() * 60);
      const f = Buffer.alloc(4 + len);
      f.writeInt32BE(len, 0);
      for (let k = 4; k < f.length; k++) f[k] = Math.floor(rand() * 256);
      f.writeInt16BE(Math.floor(rand() * 70), 4); // mostly real API keys
      f.writeInt16BE(Math.floor(rand() * 13), 6);
      c.sendBytes(f);
      // Either an answer or a close; both are fine, a crash is not.
      await c.nextFrame();
      c.close();
    }
    await assertAlive(broker);
  });
});

describe('bad batches', () => {
  let broker: RunningBroker;
  let c: RawConnection;
  before(async () => {
    broker = await startBroker({ sets: ['auto.create.topics.enable=false', 'message.max.bytes=10000'] });
    c = await RawConnection.open(broker.port);
    const res = await c.request(19, 5, {
      topics: [{ name: 'bad', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(res.topics[0].errorCode, 0);
  });
  after(async () => {
    c.close();
    await broker.stop();
    removeDir(broker.dataDir);
  });

  test('a good batch is appended', async () => {
    const res = await c.request(PRODUCE, 9, produceBody('bad', makeBatch({ ...plain, recordCount: 2 })));
    assert.equal(partitionResult(res).errorCode, 0);
    assert.equal(await endOffset(c, 'bad'), 2);
  });

  test('a bad CRC is CORRUPT_MESSAGE and nothing of the payload is appended', async () => {
    const good = makeBatch({ ...plain, recordCount: 5 });
    const corrupt = makeBatch({ ...plain, recordCount: 5 });
    corrupt[70] = corrupt[70]! ^ 0x40;
    const before = await endOffset(c, 'bad');
    const res = await c.request(PRODUCE, 9, produceBody('bad', Buffer.concat([good, corrupt])));
    assert.equal(partitionResult(res).errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.equal(await endOffset(c, 'bad'), before);
  });

  test('a truncated batch is CORRUPT_MESSAGE', async () => {
    const b = makeBatch({ ...plain });
    const res = await c.request(PRODUCE, 9, produceBody('bad', b.subarray(0, b.length - 3)));
    assert.equal(partitionResult(res).errorCode, ErrorCode.CORRUPT_MESSAGE);
  });

  test('magic 1 is UNSUPPORTED_FOR_MESSAGE_FORMAT', async () => {
    const res = await c.request(PRODUCE, 9, produceBody('bad', makeBatch({ ...plain, magic: 1 })));
    assert.equal(partitionResult(res).errorCode, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
  });

  test('a batch over message.max.bytes is MESSAGE_TOO_LARGE', async () => {
    const res = await c.request(PRODUCE, 9, produceBody('bad', makeBatch({ ...plain, records: Buffer.alloc(20_000) })));
    assert.equal(partitionResult(res).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  });

  test('an unknown topic with auto-create off is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const res = await c.request(PRODUCE, 9, produceBody('nope', makeBatch({ ...plain })));
    assert.equal(partitionResult(res).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const md = await c.request(METADATA, 9, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true });
    assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('invalid acks is INVALID_REQUIRED_ACKS', async () => {
    const res = await c.request(PRODUCE, 9, produceBody('bad', makeBatch({ ...plain }), 5));
    assert.equal(partitionResult(res).errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
  });

  test('acks=0 gets no response, and the next request is still answered in order', async () => {
    c.send(PRODUCE, 9, produceBody('bad', makeBatch({ ...plain, recordCount: 1 }), 0));
    // The acks=0 batch gets no answer, so the next response must be this acks=-1 one; once it is
    // acknowledged, the earlier batch is durable and visible too.
    const res = await c.request(PRODUCE, 9, produceBody('bad', makeBatch({ ...plain, recordCount: 1 })));
    assert.equal(partitionResult(res).baseOffset, 3);
    assert.equal(await endOffset(c, 'bad'), 4);
  });

  test('the log is intact after all of that', async () => {
    await broker.stop();
    const again = await startBroker({ dataDir: broker.dataDir, sets: ['auto.create.topics.enable=false'] });
    broker = again;
    c.close();
    c = await RawConnection.open(again.port);
    assert.equal(await endOffset(c, 'bad'), 4);
    assert.doesNotMatch(again.stderr(), /recovery cut/);
  });
});

describe('a full disk', () => {
  let mount: string;
  let broker: RunningBroker;
  before(() => {
    mount = tempDir('franz-full-');
    mkdirSync(mount, { recursive: true });
    // A tiny tmpfs as the data directory: writes fail with ENOSPC once it is full.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', mount]);
  });
  after(async () => {
    await broker?.kill9();
    execFileSync('umount', [mount]);
    removeDir(mount);
  });

  test('ENOSPC answers KAFKA_STORAGE_ERROR, takes the partition offline, and the broker stays up', async () => {
    broker = await startBroker({ dataDir: mount });
    const c = await RawConnection.open(broker.port);
    await c.request(METADATA, 9, { topics: [{ name: 'full' }], allowAutoTopicCreation: true });
    const acked: number[] = [];
    let error = 0;
    for (let i = 0; i < 20 && error === 0; i++) {
      const res = await c.request(PRODUCE, 9, produceBody('full', makeBatch({ ...plain, records: Buffer.alloc(50_000, i) })));
      const p = partitionResult(res);
      if (p.errorCode === 0) acked.push(p.baseOffset);
      else error = p.errorCode;
    }
    assert.ok(acked.length > 0, 'some batches fit');
    assert.equal(error, ErrorCode.KAFKA_STORAGE_ERROR);
    const md = await c.request(METADATA, 9, { topics: [{ name: 'full' }], allowAutoTopicCreation: false });
    assert.equal(md.topics[0].partitions[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    await assertAlive(broker);
    c.close();
  });
});

describe('out of file descriptors', () => {
  test('a topic (or new partitions) whose logs cannot all be opened is not made at all, and the broker stays up', async () => {
    // Each partition needs one descriptor for its active segment: 400 cannot fit under 256.
    const broker = await startBroker({ maxOpenFiles: 256 });
    const c = await RawConnection.open(broker.port);
    try {
      const create = (name: string, numPartitions: number) =>
        c.request(19, 7, {
          topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 30_000,
          validateOnly: false,
        });
      const big = await create('too-many', 400);
      assert.equal(big.topics[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR, big.topics[0].errorMessage);
      const md = await c.request(3, 12, {
        topics: [{ topicId: null, name: 'too-many' }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'no half-made topic');
      assert.deepEqual(
        readdirSync(broker.dataDir).filter((d) => d.startsWith('too-many-')),
        [],
        'no partition directories left',
      );
      const small = await create('fits', 4);
      assert.equal(small.topics[0].errorCode, ErrorCode.NONE);
      // Growing it past the descriptors there are: refused whole, still 4 partitions.
      const grow = await c.request(37, 3, {
        topics: [{ name: 'fits', count: 400, assignments: null }],
        timeoutMs: 30_000,
        validateOnly: false,
      });
      assert.equal(grow.results[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR, grow.results[0].errorMessage);
      const after = await c.request(3, 12, {
        topics: [{ topicId: null, name: 'fits' }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.equal(after.topics[0].partitions.length, 4);
      assert.deepEqual(readdirSync(broker.dataDir).filter((d) => /^fits-\d+$/.test(d)).length, 4);
    } finally {
      c.close();
      assert.equal(await broker.stop(), 0);
      removeDir(broker.dataDir);
    }
  });

  test('a connection accepted with no descriptor to spare is read and answered by copy; nothing is lost', async () => {
    const broker = await startBroker({ sets: ['num.partitions=1'] });
    const pid = broker.process.pid!;
    const valuesOf = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `v${from + i}`);
    const produce = async (c: Client, values: string[]): Promise<number> => {
      const offsets = await c.produce('fds', new Map([[0, values.map((v) => ({ key: null, value: Buffer.from(v) }))]]));
      return offsets.get(0)!;
    };
    const readAll = async (c: Client): Promise<string[]> => {
      const [p] = await c.fetch('fds', new Map([[0, 0]]), { maxWaitMs: 0 });
      assert.equal(p!.errorCode, ErrorCode.NONE);
      return p!.records.map((r) => r.value!.toString());
    };
    const setup = new Client({ brokers: [broker.address] });
    const [, softText, hardText] = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))!;
    const setSoftLimit = (n: number): void => void execFileSync('prlimit', ['--pid', String(pid), `--nofile=${n}:${hardText}`]);
    /** Resolves once the broker's log has a line matching re (its stderr so far, or as it arrives). */
    const logged = (re: RegExp, ms: number): Promise<boolean> =>
      new Promise((resolve) => {
        if (re.test(broker.stderr())) return resolve(true);
        const onData = (): void => {
          if (!re.test(broker.stderr())) return;
          clearTimeout(timer);
          broker.process.stderr!.off('data', onData);
          resolve(true);
        };
        const timer = setTimeout(() => {
          broker.process.stderr!.off('data', onData);
          resolve(false);
        }, ms);
        broker.process.stderr!.on('data', onData);
      });
    try {
      await setup.createTopics([{ name: 'fds', numPartitions: 1 }]);
      assert.equal(await produce(setup, valuesOf(0, 50)), 0);
      await setup.close();
      // The soft limit just above the lowest free descriptor: accepting the next connection takes
      // the last one allowed, and duplicating it (Connection's reads into its own buffers) fails.
      // A descriptor the broker held for a moment while the table was read (a checkpoint being
      // written) can move that slot; then the connection is served normally and the step is tried
      // again.
      let client: Client | null = null;
      for (let attempt = 0; attempt < 5 && client === null; attempt++) {
        const used = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
        let free = 0;
        while (used.has(free)) free++;
        setSoftLimit(free + 1);
        const c = new Client({ brokers: [broker.address], retries: 0 });
        const ok = await c.metadata(['fds']).then(
          () => logged(/reading connection with data events.*EMFILE/, 5000),
          () => false,
        );
        if (ok) client = c;
        else {
          await c.close();
          setSoftLimit(Number(softText));
        }
      }
      assert.ok(client !== null, 'no connection fell back to data events in five tries');
      try {
        // Produce appends to the open segment (no new descriptor); the Fetch answer goes out by
        // copy, since sendChunks cannot duplicate the socket and segment descriptors.
        assert.equal(await produce(client, valuesOf(50, 80)), 50);
        assert.deepEqual(await readAll(client), valuesOf(0, 80));
        assert.ok(await logged(/sending fetch response by copy.*EMFILE/, 5000), 'the fetch did not take the copy path');
      } finally {
        await client.close();
        setSoftLimit(Number(softText));
      }
      // With descriptors again, a new connection reads the same records, as does the broker after a restart.
      const after = new Client({ brokers: [broker.address] });
      assert.deepEqual(await readAll(after), valuesOf(0, 80));
      await after.close();
      assert.equal(await broker.stop(), 0);
      const again = await startBroker({ dataDir: broker.dataDir });
      try {
        const c = new Client({ brokers: [again.address] });
        assert.deepEqual(await readAll(c), valuesOf(0, 80));
        await c.close();
      } finally {
        assert.equal(await again.stop(), 0);
      }
    } finally {
      await broker.stop();
      removeDir(broker.dataDir);
    }
  });
});
