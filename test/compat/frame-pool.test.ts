/**
 * The broker reuses the buffers of Produce requests for later requests (src/server/frame-pool.ts).
 * In-process broker, real client (kafkajs): records produced in large requests, which fill
 * reused buffers, come back byte for byte; a large request of another API is never pooled,
 * since its decoded body may still refer to its bytes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { framePool, MIN_POOLED_BYTES } from '../../src/server/frame-pool.js';
import { RawConnection } from '../helpers/raw.js';
import { kafkaFor, startInProcessBroker } from '../helpers/in-process.js';
import { removeDir, tempDir } from '../helpers/broker.js';

const dir = tempDir('franz-frame-pool-');
after(() => removeDir(dir));

test('records produced through reused request buffers come back byte for byte', async () => {
  const b = await startInProcessBroker(dir);
  const kafka = kafkaFor(b);
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: 'pool-check' });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'pooled', numPartitions: 2 }] });
    await producer.connect();

    // Each send is one Produce request of about 240 KiB; the first one's buffer is kept and
    // every later one is read into a kept buffer, over what the previous request held.
    const sent: Buffer[] = [];
    for (let round = 0; round < 8; round++) {
      const values = Array.from({ length: 30 }, () => randomBytes(8 * 1024));
      sent.push(...values);
      await producer.send({ topic: 'pooled', messages: values.map((value, i) => ({ value, partition: i % 2 })) });
      assert.ok(framePool.pooledBytes >= MIN_POOLED_BYTES, `round ${round}: the request's buffer was kept`);
    }

    // A Metadata request of over 64 KiB (5 000 topic names): its buffer is not kept. (The pool is
    // emptied first: a kept buffer taken for it would leave the count unchanged if it were given back.)
    const raw = await RawConnection.open(b.port);
    while (framePool.take(1) !== null);
    const names = Array.from({ length: 5000 }, (_, i) => `not-there-${String(i).padStart(6, '0')}`);
    const md = await raw.request(3, 12, {
      topics: names.map((name) => ({ topicId: '00000000-0000-0000-0000-000000000000', name })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    raw.close();
    assert.equal((md.topics as unknown[]).length, names.length);
    assert.equal(framePool.pooledBytes, 0, 'a non-Produce request buffer is never kept');

    await consumer.connect();
    await consumer.subscribe({ topic: 'pooled', fromBeginning: true });
    const got = new Map<number, Buffer[]>([
      [0, []],
      [1, []],
    ]);
    await new Promise<void>((resolve) => {
      let n = 0;
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.get(partition)!.push(message.value!);
          if (++n === sent.length) resolve();
        },
      });
    });
    for (const p of [0, 1]) {
      const expected = sent.filter((_, i) => (i % 30) % 2 === p);
      assert.equal(got.get(p)!.length, expected.length);
      for (const [i, v] of got.get(p)!.entries()) assert.ok(v.equals(expected[i]!), `partition ${p} record ${i} differs`);
    }
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
    await b.stop();
  }
});
