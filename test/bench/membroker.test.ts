/**
 * bench/membroker, the bench's in-memory yardstick broker: its figures stand beside franz's and
 * Kafka's in every full bench report, so what it does wrong would skew them. Real clients (kcat)
 * against it: records come back whole and in order, librdkafka compresses for it as for a real
 * broker (it compresses with lz4 only for a broker that lists Produce v0, which the first version
 * of membroker did not, and its lz4 row then measured uncompressed writes), and bad input closes
 * the connection or gets an error without taking the process down.
 *
 * Built with `go build` like the franz-go tests' client; without `go` these tests are skipped,
 * unless FRANZ_REQUIRE_GO=1 (as in CI), when that is a failure.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGoBinary, startMembroker, type BrokerHandle } from '../../bench/brokers.js';
import { runOk } from '../helpers/run.js';
import { RawConnection } from '../helpers/raw.js';
import { makeBatch } from '../helpers/batches.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { decodeRecordBatches } from '../../src/records/record-batch.js';
import { Client, LATEST_TIMESTAMP } from '../../src/client/client.js';
import type { Message } from '../helpers/raw.js';

const haveGo = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
const skip = !haveGo && process.env.FRANZ_REQUIRE_GO !== '1' ? 'no go on PATH' : false;

const PRODUCE = 0;
const FETCH = 1;
const METADATA = 3;
const LZ4 = 3;
const CORRUPT_MESSAGE = 2;

describe('bench/membroker (the in-memory yardstick)', { skip }, () => {
  let broker: BrokerHandle;
  let dir: string;
  let client: Client;

  before(async () => {
    await ensureGoBinary('membroker');
    dir = tempDir('franz-membroker-');
    broker = await startMembroker({ durable: false, dataDir: join(dir, 'data') });
    client = new Client({ brokers: [broker.address] });
  });
  after(async () => {
    await client?.close();
    await broker?.stop();
    removeDir(dir);
  });

  const port = (): number => Number(broker.address.split(':')[1]);

  test('kcat -P with lz4 and kcat -C: every record back, batches stored lz4-compressed', async () => {
    await client.createTopics([{ name: 'lz', numPartitions: 2, replicationFactor: 1 }]);
    const n = 3000;
    const values = Array.from({ length: n }, (_, i) => `value-${i}-` + 'abc'.repeat(i % 40));
    const file = join(dir, 'in.txt');
    writeFileSync(file, values.join('\n') + '\n');
    await runOk('kcat', ['-P', '-b', broker.address, '-t', 'lz', '-z', 'lz4', '-l', file], { timeoutMs: 60_000 });

    const ends = await client.listOffsets('lz', [0, 1], LATEST_TIMESTAMP);
    assert.equal(Number(ends.get(0)!.offset) + Number(ends.get(1)!.offset), n);

    const out = await runOk('kcat', ['-C', '-b', broker.address, '-t', 'lz', '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\n'], {
      timeoutMs: 60_000,
    });
    const lines = out.stdout.trimEnd().split('\n');
    assert.equal(lines.length, n);
    // Keyless records go to partitions in runs; within each partition they keep the file's order.
    const next = new Map<number, number>();
    for (const l of lines) {
      const [p, o, v] = l.split(' ');
      const at = next.get(Number(p)) ?? 0;
      assert.equal(Number(o), at, `partition ${p}: offset ${o} out of order`);
      next.set(Number(p), at + 1);
      assert.ok(values.includes(v!));
    }
    assert.deepEqual([...lines.map((l) => l.split(' ')[2])].sort(), [...values].sort());

    // What membroker holds is what kcat sent: lz4 batches.
    const c = await RawConnection.open(port());
    try {
      const res = await c.request(FETCH, 12, {
        clusterId: null,
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 'lz',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: 0,
                lastFetchedEpoch: -1,
                logStartOffset: -1,
                partitionMaxBytes: 1 << 20,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
      const p = res.responses[0].partitions[0] as Message;
      assert.equal(p.errorCode, 0);
      const { batches } = decodeRecordBatches(p.records as Buffer);
      assert.ok(batches.length > 0);
      for (const b of batches) assert.equal(b.compression, LZ4);
      assert.equal(batches[0]!.baseOffset, 0);
    } finally {
      c.close();
    }
  });

  test('a frame over its size limit closes that connection; a bad batch gets CORRUPT_MESSAGE; it keeps answering', async () => {
    const big = await RawConnection.open(port());
    const frame = Buffer.alloc(8);
    frame.writeInt32BE(200 * 1024 * 1024, 0);
    big.sendBytes(frame);
    assert.equal(await big.waitClosed(), true);

    await client.createTopics([{ name: 'bad', numPartitions: 1, replicationFactor: 1 }]);
    const c = await RawConnection.open(port());
    try {
      const batch = makeBatch({ attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1 });
      const produce = (records: Buffer): Promise<Message> =>
        c.request(PRODUCE, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: 'bad', partitionData: [{ index: 0, records }] }],
        });
      const cut = await produce(batch.subarray(0, batch.length - 3));
      assert.equal(cut.responses[0].partitionResponses[0].errorCode, CORRUPT_MESSAGE);
      const good = await produce(batch);
      assert.equal(good.responses[0].partitionResponses[0].errorCode, 0);
      assert.equal(good.responses[0].partitionResponses[0].baseOffset, 0);
      const md = await c.request(METADATA, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.ok((md.topics as Message[]).some((t) => t.name === 'bad'));
    } finally {
      c.close();
    }
    assert.equal(broker.alive(), true);
  });
});
