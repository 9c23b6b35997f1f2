/**
 * The `franz` client commands against a real broker process: topic create/list/describe/
 * alter-config/delete, produce from stdin (keys, headers, partitions, compression), consume
 * (--from-beginning, --offset, --timestamp, -n, --follow, --format json), exit codes, and
 * interoperability with kafkajs in both directions (its admin client, and a group consumer).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { startBroker, removeDir, FRANZ_MAIN, type RunningBroker } from '../helpers/broker.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Client } from '../../src/client/client.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { Kafka, logLevel, Partitioners, CompressionTypes } = require('kafkajs') as any;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let broker: RunningBroker;

/** Runs the real `franz` binary (dist/src/cli/bin.cjs) with this broker in FRANZ_BROKERS. */
function franz(args: string[], input?: string, timeoutMs = 30_000): Promise<Result> {
  const child = spawn(process.execPath, [FRANZ_MAIN, ...args], {
    env: { ...process.env, FRANZ_BROKERS: broker.address },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  if (input !== undefined) child.stdin!.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await franz(args, input);
  // The broker's last log lines help when the broker is what failed.
  assert.equal(r.code, 0, `franz ${args.join(' ')} exited ${r.code}: ${r.stderr}\nbroker log tail: ${broker.stderr().slice(-1500)}`);
  return r.stdout;
}

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function jsonLines(s: string): any[] {
  return lines(s).map((l) => JSON.parse(l));
}

function kafka(): typeof Kafka {
  return new Kafka({ clientId: 'franz-cli-test', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
}

before(async () => {
  broker = await startBroker({ sets: ['num.partitions=1'] });
});

after(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

describe('franz topic', () => {
  test('create, list, describe, alter-config, delete', async () => {
    assert.equal(
      await ok(['topic', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=3600000', '--config', 'cleanup.policy=delete']),
      'Created topic orders.\n',
    );
    assert.ok(lines(await ok(['topic', 'list'])).includes('orders'));
    const listed = jsonLines(await ok(['topic', 'list', '--format', 'json'])).find((t) => t.name === 'orders');
    assert.equal(listed.partitions, 3);
    assert.match(listed.topicId, /^[0-9a-f]{32}$/);

    const text = await ok(['topic', 'describe', 'orders']);
    assert.match(text, /^Topic: orders\tTopicId: [0-9a-f]{32}\tPartitionCount: 3\tReplicationFactor: 1\n/);
    assert.match(text, /Configs: .*retention\.ms=3600000/);
    assert.equal((text.match(/\tPartition: \d\tLeader: \d+\tReplicas: \d+\tIsr: \d+\tStartOffset: 0\tEndOffset: 0\n/g) ?? []).length, 3);

    await ok(['topic', 'alter-config', 'orders', '--set', 'retention.ms=60000', '--set', 'max.message.bytes=2000000']);
    let d = jsonLines(await ok(['topic', 'describe', 'orders', '--format', 'json']))[0];
    assert.equal(d.configs['retention.ms'], '60000');
    assert.equal(d.configs['max.message.bytes'], '2000000');
    assert.equal(d.configSources['retention.ms'], 'DYNAMIC_TOPIC_CONFIG');
    assert.deepEqual(
      d.partitions.map((p: { partition: number }) => p.partition),
      [0, 1, 2],
    );

    await ok(['topic', 'alter-config', 'orders', '--delete', 'retention.ms']);
    d = jsonLines(await ok(['topic', 'describe', 'orders', '--format', 'json']))[0];
    assert.equal(d.configs['retention.ms'], undefined, 'a deleted override is back to its default');
    assert.equal(d.configs['max.message.bytes'], '2000000');

    assert.equal(await ok(['topic', 'delete', 'orders']), 'Deleted topic orders.\n');
    assert.ok(!lines(await ok(['topic', 'list'])).includes('orders'));
  });

  test('errors: one line on stderr and exit 1', async () => {
    await ok(['topic', 'create', 'twice']);
    let r = await franz(['topic', 'create', 'twice']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'franz: create topic "twice": TOPIC_ALREADY_EXISTS (Topic \'twice\' already exists.)\n');
    for (const args of [
      ['topic', 'describe', 'no-such-topic'],
      ['topic', 'delete', 'no-such-topic'],
      ['consume', 'no-such-topic'],
      ['topic', 'alter-config', 'twice', '--set', 'retention.ms=soon'],
      ['topic', 'create', 'bad name'],
    ]) {
      r = await franz(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /^franz: .*[A-Z_]{5,}/);
    }
    r = await franz(['topic', 'list', '--brokers', '127.0.0.1:1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'franz: cannot connect to 127.0.0.1:1: connection refused\n');
  });

  test('usage errors exit 2', async () => {
    for (const args of [
      ['topic'],
      ['topic', 'create'],
      ['topic', 'frobnicate', 'x'],
      ['topic', 'create', 'x', '--partitions', 'many'],
      ['topic', 'alter-config', 'x'],
      ['consume', 'x', '--from-beginning', '--offset', '3'],
      ['consume', 'x', '--bogus'],
      ['produce'],
      ['produce', 'x', '--header', 'novalue'],
      ['consume', 'x', '--format', 'xml'],
    ]) {
      const r = await franz(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    const h = await franz(['consume', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--follow/);
  });
});

describe('franz produce and consume', () => {
  test('keys and headers from stdin; consume --from-beginning -n, --offset, --format json', async () => {
    const produced = jsonLines(
      await ok(
        ['produce', 'events', '--key-separator', ':', '--header', 'source=cli', '--header', 'v=1', '--format', 'json'],
        'alice:logged in\nbob:logged out\ncarol:has: a colon\n:empty key\n',
      ),
    );
    assert.deepEqual(
      produced,
      [0, 1, 2, 3].map((offset) => ({ topic: 'events', partition: 0, offset })),
    );

    assert.equal(await ok(['consume', 'events', '--from-beginning', '-n', '2']), 'logged in\nlogged out\n');
    assert.equal(await ok(['consume', 'events']), 'logged in\nlogged out\nhas: a colon\nempty key\n');
    assert.equal(await ok(['consume', 'events', '--offset', '2', '--key-separator', '=']), 'carol=has: a colon\n=empty key\n');

    const recs = jsonLines(await ok(['consume', 'events', '--format', 'json', '--offset', '1', '-n', '1']));
    assert.equal(recs.length, 1);
    const r = recs[0];
    assert.deepEqual(Object.keys(r), ['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers']);
    assert.equal(r.topic, 'events');
    assert.equal(r.partition, 0);
    assert.equal(r.offset, 1);
    assert.equal(r.key, 'bob');
    assert.equal(r.value, 'logged out');
    assert.deepEqual(r.headers, [
      { key: 'source', value: 'cli' },
      { key: 'v', value: '1' },
    ]);
    assert.ok(Math.abs(r.timestamp - Date.now()) < 60_000);

    const bad = await franz(['consume', 'events', '--offset', '99']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /OFFSET_OUT_OF_RANGE/);
  });

  test('without a key separator, lines are values with null keys; empty lines and CRLF', async () => {
    await ok(['produce', 'plain'], 'one\r\n\nthree');
    const recs = jsonLines(await ok(['consume', 'plain', '--format', 'json']));
    assert.deepEqual(
      recs.map((r) => [r.key, r.value]),
      [
        [null, 'one'],
        [null, ''],
        [null, 'three'],
      ],
    );
    const r = await franz(['produce', 'plain', '--key-separator', '|'], 'no separator here\n');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'franz: line 1 has no key separator "|"\n');
  });

  test('--timestamp starts at the first record at or after it', async () => {
    await ok(['produce', 'timed'], 'early-1\nearly-2\n');
    await new Promise((r) => setTimeout(r, 30));
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 30));
    await ok(['produce', 'timed'], 'late-1\nlate-2\n');
    assert.equal(await ok(['consume', 'timed', '--timestamp', String(t)]), 'late-1\nlate-2\n');
    assert.equal(await ok(['consume', 'timed', '--timestamp', new Date(t).toISOString(), '-n', '1']), 'late-1\n');
    assert.equal(await ok(['consume', 'timed', '--timestamp', '0']), 'early-1\nearly-2\nlate-1\nlate-2\n');
    assert.equal(await ok(['consume', 'timed', '--timestamp', String(Date.now() + 3_600_000)]), '');
  });

  test('keyed records go to the murmur2 partition; --partition pins them', async () => {
    await ok(['topic', 'create', 'keyed', '--partitions', '3']);
    const keys = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const produced = jsonLines(
      await ok(['produce', 'keyed', '--key-separator', '\t', '--format', 'json'], keys.map((k) => `${k}\tv-${k}`).join('\n')),
    );
    assert.equal(produced.length, 30);
    for (let i = 0; i < keys.length; i++) assert.equal(produced[i].partition, partitionForKey(Buffer.from(keys[i]!), 3), keys[i]);
    assert.ok(new Set(produced.map((p) => p.partition)).size > 1);

    const all = jsonLines(await ok(['consume', 'keyed', '--format', 'json']));
    assert.equal(all.length, 30);
    for (const r of all) assert.equal(r.partition, partitionForKey(Buffer.from(r.key), 3));
    const p1 = jsonLines(await ok(['consume', 'keyed', '--partition', '1', '--format', 'json']));
    assert.deepEqual(
      p1.map((r) => r.key),
      all.filter((r) => r.partition === 1).map((r) => r.key),
    );
    assert.deepEqual(
      p1.map((r) => r.offset),
      p1.map((_, i) => i),
    );

    await ok(['produce', 'keyed', '--partition', '2', '--key-separator', '\t'], 'user-0\tpinned\n');
    const p2 = lines(await ok(['consume', 'keyed', '--partition', '2']));
    assert.equal(p2[p2.length - 1], 'pinned');
    assert.equal((await franz(['produce', 'keyed', '--partition', '3'], 'x\n')).code, 1);
  });

  test('compression: gzip, snappy, lz4 and zstd through the broker', async () => {
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
      const input = Array.from({ length: 300 }, (_, i) => `${codec} record ${i} ${'pad'.repeat(i % 20)}`);
      await ok(['produce', `packed-${codec}`, '--compression', codec], input.join('\n') + '\n');
      assert.deepEqual(lines(await ok(['consume', `packed-${codec}`])), input);
    }
  });

  test('many lines are sent in several requests and read back in order', async () => {
    const n = 25_000;
    const input = Array.from({ length: n }, (_, i) => `line ${i}`).join('\n') + '\n';
    const produced = jsonLines(await ok(['produce', 'bulk', '--format', 'json'], input));
    assert.equal(produced.length, n);
    assert.deepEqual(
      produced.map((p) => p.offset),
      produced.map((_, i) => i),
    );
    const got = lines(await ok(['consume', 'bulk']));
    assert.equal(got.length, n);
    assert.equal(got[0], 'line 0');
    assert.equal(got[n - 1], `line ${n - 1}`);
    assert.equal(lines(await ok(['consume', 'bulk', '--offset', String(n - 3)])).length, 3);
  });

  test('consume stops at the end seen at start; --follow waits for new records', async () => {
    await ok(['topic', 'create', 'tail']);
    assert.equal(await ok(['consume', 'tail']), '', 'an empty topic: nothing, and exit');
    await ok(['produce', 'tail'], 'before\n');
    const follower = franz(['consume', 'tail', '--follow', '-n', '3']);
    const latest = franz(['consume', 'tail', '--offset', 'latest', '--follow', '-n', '1']);
    await new Promise((r) => setTimeout(r, 1500));
    await ok(['produce', 'tail'], 'after-1\n');
    await ok(['produce', 'tail'], 'after-2\n');
    const f = await follower;
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stdout, 'before\nafter-1\nafter-2\n');
    const l = await latest;
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout, 'after-1\n');
  });
});

describe('interoperability with kafkajs', () => {
  test('kafkajs produces (keys, headers, gzip), franz consumes', async () => {
    const producer = kafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({
        topic: 'from-kafkajs',
        messages: [
          { key: 'k1', value: 'hello', headers: { trace: 'abc' } },
          { key: null, value: 'no key' },
        ],
      });
      await producer.send({
        topic: 'from-kafkajs',
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 50 }, (_, i) => ({ key: `g${i}`, value: `gzipped ${i}` })),
      });
    } finally {
      await producer.disconnect();
    }
    const recs = jsonLines(await ok(['consume', 'from-kafkajs', '--format', 'json']));
    assert.equal(recs.length, 52);
    assert.deepEqual([recs[0].key, recs[0].value, recs[0].headers], ['k1', 'hello', [{ key: 'trace', value: 'abc' }]]);
    assert.deepEqual([recs[1].key, recs[1].value], [null, 'no key']);
    assert.deepEqual(
      recs.slice(2).map((r) => r.value),
      Array.from({ length: 50 }, (_, i) => `gzipped ${i}`),
    );
    assert.deepEqual(
      recs.map((r) => r.offset),
      recs.map((_, i) => i),
    );
  });

  test('franz produces, the kafkajs admin client sees the topic, offsets and configs', async () => {
    await ok(['topic', 'create', 'to-kafkajs', '--partitions', '2', '--config', 'retention.ms=7200000']);
    await ok(['produce', 'to-kafkajs', '--partition', '1'], 'a\nb\nc\n');
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await ok(['produce', 'to-kafkajs', '--partition', '1'], 'd\n');
    const admin = kafka().admin();
    await admin.connect();
    try {
      assert.ok((await admin.listTopics()).includes('to-kafkajs'));
      const offsets = await admin.fetchTopicOffsets('to-kafkajs');
      offsets.sort((a: { partition: number }, b: { partition: number }) => a.partition - b.partition);
      assert.deepEqual(
        offsets.map((o: { partition: number; low: string; high: string }) => [o.partition, o.low, o.high]),
        [
          [0, '0', '0'],
          [1, '0', '4'],
        ],
      );
      const byTime = await admin.fetchTopicOffsetsByTimestamp('to-kafkajs', t);
      assert.equal(byTime.find((o: { partition: number }) => o.partition === 1).offset, '3');
      const cfg = await admin.describeConfigs({
        resources: [{ type: 2, name: 'to-kafkajs', configNames: ['retention.ms'] }],
        includeSynonyms: false,
      });
      assert.equal(cfg.resources[0].configEntries[0].configValue, '7200000');
    } finally {
      await admin.disconnect();
    }
  });

  test('franz produces, a kafkajs consumer reads', async () => {
    await ok(['produce', 'kafkajs-reads', '--key-separator', ':', '--header', 'h=1'], 'k1:v1\nk2:v2\n');
    const consumer = kafka().consumer({ groupId: 'franz-cli-test' });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'kafkajs-reads', fromBeginning: true });
      const got: Array<[string, string, string]> = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('kafkajs consumer got nothing in 20 s')), 20_000);
        consumer
          .run({
            eachMessage: async ({ message }: { message: { key: Buffer; value: Buffer; headers: Record<string, Buffer> } }) => {
              got.push([message.key.toString(), message.value.toString(), message.headers.h!.toString()]);
              if (got.length === 2) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      assert.deepEqual(got, [
        ['k1', 'v1', '1'],
        ['k2', 'v2', '1'],
      ]);
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('broker behaviour seen through the client', () => {
  // Kafka answers ListOffsets(T) with the first *record* whose timestamp is >= T, and that record's
  // timestamp, not the batch's first offset; and -3 (max timestamp) with that record's offset.
  test('ListOffsets by timestamp finds the record inside a batch', async () => {
    const client = new Client({ brokers: [broker.address] });
    try {
      const t0 = Date.now() - 60_000;
      await client.produce(
        'ts-in-batch',
        new Map([
          [
            0,
            [
              { value: 'a', timestamp: t0 },
              { value: 'b', timestamp: t0 + 10 },
              { value: 'c', timestamp: t0 + 20 },
            ],
          ],
        ]),
      );
      assert.deepEqual((await client.listOffsets('ts-in-batch', [0], t0 + 5)).get(0), { offset: 1, timestamp: t0 + 10 });
      assert.deepEqual((await client.listOffsets('ts-in-batch', [0], t0 + 15)).get(0), { offset: 2, timestamp: t0 + 20 });
      assert.deepEqual((await client.listOffsets('ts-in-batch', [0], -3)).get(0), { offset: 2, timestamp: t0 + 20 });
    } finally {
      await client.close();
    }
  });
});
