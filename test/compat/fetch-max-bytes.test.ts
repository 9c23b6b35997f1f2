/**
 * The broker's fetch.max.bytes (Kafka's broker config of that name): a Fetch's max_bytes above it
 * is capped to it, and the first batch still goes out whole when it alone is larger (KIP-74).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, removeDir, type RunningBroker } from '../helpers/broker.js';
import { Client } from '../../src/client/client.js';

let broker: RunningBroker;
let client: Client;

before(async () => {
  broker = await startBroker({ sets: ['fetch.max.bytes=4096'] });
  client = new Client({ brokers: [broker.address] });
  await client.createTopics([{ name: 'capped', numPartitions: 1, replicationFactor: 1 }]);
  // One batch per produce call: a 5 000-byte record, then three of 1 400 bytes.
  const one = (size: number, i: number): Map<number, Array<{ value: Buffer }>> => new Map([[0, [{ value: Buffer.alloc(size, 97 + i) }]]]);
  await client.produce('capped', one(5000, 0));
  for (let i = 1; i <= 3; i++) await client.produce('capped', one(1400, i));
});

after(async () => {
  await client?.close();
  await broker?.stop();
  if (broker) removeDir(broker.dataDir);
});

test('a request asking for more than fetch.max.bytes gets at most that much, in whole batches', async () => {
  const [p] = await client.fetch('capped', new Map([[0, 1]]), { maxWaitMs: 0, maxBytes: 50 * 1024 * 1024, partitionMaxBytes: 1024 * 1024 });
  assert.equal(p!.errorCode, 0);
  // Two batches of about 1 470 bytes fit in 4 096, three do not.
  assert.deepEqual(
    p!.records.map((r) => r.offset),
    [1, 2],
  );
  assert.equal(p!.nextOffset, 3);
});

test('the first batch goes out whole even when it alone is over fetch.max.bytes (KIP-74)', async () => {
  const [p] = await client.fetch('capped', new Map([[0, 0]]), { maxWaitMs: 0, maxBytes: 50 * 1024 * 1024, partitionMaxBytes: 1024 * 1024 });
  assert.equal(p!.errorCode, 0);
  assert.deepEqual(
    p!.records.map((r) => r.offset),
    [0],
  );
  assert.equal(p!.records[0]!.value!.length, 5000);
});

test('a request asking for less than fetch.max.bytes is held to its own max_bytes', async () => {
  const [p] = await client.fetch('capped', new Map([[0, 1]]), { maxWaitMs: 0, maxBytes: 2000, partitionMaxBytes: 1024 * 1024 });
  assert.deepEqual(
    p!.records.map((r) => r.offset),
    [1],
  );
});
