/**
 * Live topic streams over HTTP (franz start --http): WebSocket and Server-Sent Events subscribers
 * get the records a Kafka client (kafkajs) produces, from the start or from now, as they are
 * committed; an aborted transaction's records never reach them; a subscriber that stops reading is
 * paused, not buffered for, while the others go on, and gets every record in order once it reads
 * again; a thousand WebSocket subscribers of one topic all get every record with the broker's
 * memory within a stated bound; bad requests are refused.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import WebSocket from 'ws';
import { removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { startHttpBroker } from '../helpers/http.js';

const { Kafka, logLevel } = kafkajs;

const dataDir = tempDir('franz-http-streams-');
let broker: RunningBroker;
let http = '';
let ws = '';
let cluster = '';

before(async () => {
  ({ broker, http, ws, cluster } = await startHttpBroker(dataDir, ['num.partitions=1', 'transaction.state.log.num.partitions=1']));
});
after(async () => {
  await broker.stop();
  removeDir(dataDir);
});

const kafka = () => new Kafka({ clientId: 'http-streams', brokers: [broker.address], logLevel: logLevel.NOTHING });
const streamPath = (topic: string, query: string) => `/v3/clusters/${cluster}/topics/${topic}/stream?${query}`;

interface Line {
  partition: number;
  offset: number;
  key: { type: string; data: string } | null;
  value: { type: string; data: string } | null;
}

async function createTopic(topic: string, partitions = 1): Promise<void> {
  const res = await fetch(`${http}/v3/clusters/${cluster}/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic_name: topic, partitions_count: partitions }),
  });
  assert.equal(res.status, 201);
}

async function produce(topic: string, values: string[], partition = 0): Promise<void> {
  const p = kafka().producer();
  await p.connect();
  await p.send({ topic, messages: values.map((value) => ({ value, partition })) });
  await p.disconnect();
}

/** A WebSocket subscriber collecting lines; `until(n)` resolves once it has n. */
function subscriber(url: string) {
  const lines: Line[] = [];
  const sock = new WebSocket(url);
  let waiting: { n: number; resolve: () => void } | null = null;
  sock.on('message', (m) => {
    lines.push(JSON.parse(m.toString()) as Line);
    if (waiting !== null && lines.length >= waiting.n) {
      waiting.resolve();
      waiting = null;
    }
  });
  const opened = new Promise<void>((resolve, reject) => {
    sock.once('open', () => resolve());
    sock.once('error', reject);
  });
  const until = (n: number, timeoutMs = 30_000): Promise<void> =>
    lines.length >= n
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`${lines.length} of ${n} lines`)), timeoutMs);
          waiting = {
            n,
            resolve: () => {
              clearTimeout(t);
              resolve();
            },
          };
        });
  return { sock, lines, opened, until };
}

const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${broker.process.pid}/status`, 'utf8'))![1]) / 1024;

describe('HTTP streams', () => {
  test('WebSocket: from earliest, then live as records are produced; from latest, only the new ones', async () => {
    await createTopic('st-ws');
    await produce('st-ws', ['a', 'b', 'c']);
    const all = subscriber(`${ws}${streamPath('st-ws', 'from=earliest')}`);
    const fresh = subscriber(`${ws}${streamPath('st-ws', 'from=latest')}`);
    await Promise.all([all.opened, fresh.opened]);
    await all.until(3);
    await produce('st-ws', ['d', 'e']);
    await all.until(5);
    await fresh.until(2);
    assert.deepEqual(
      all.lines.map((l) => [l.offset, l.value?.data]),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
        [4, 'e'],
      ],
    );
    assert.deepEqual(
      fresh.lines.map((l) => l.value?.data),
      ['d', 'e'],
    );
    const fromOffset = subscriber(`${ws}${streamPath('st-ws', 'from=offset&offset=3&partition=0')}`);
    await fromOffset.until(2);
    assert.deepEqual(
      fromOffset.lines.map((l) => l.offset),
      [3, 4],
    );
    for (const s of [all, fresh, fromOffset]) s.sock.close();
  });

  test("Server-Sent Events: records as data lines; an aborted transaction's records never arrive", async () => {
    await createTopic('st-sse');
    const controller = new AbortController();
    const res = await fetch(`${http}${streamPath('st-sse', 'from=earliest')}`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const got: Line[] = [];
    let text = '';
    const readUntil = async (n: number): Promise<void> => {
      while (got.length < n) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        text += Buffer.from(value).toString();
        for (let i = text.indexOf('\n\n'); i >= 0; i = text.indexOf('\n\n')) {
          const event = text.slice(0, i);
          text = text.slice(i + 2);
          const data = event.split('\n').find((l) => l.startsWith('data: '));
          if (data !== undefined) got.push(JSON.parse(data.slice(6)) as Line);
        }
      }
    };
    // A transaction that aborts, then committed records.
    const k = kafka();
    const tp = k.producer({ transactionalId: 'st-sse-txn', maxInFlightRequests: 1, idempotent: true });
    await tp.connect();
    const txn = await tp.transaction();
    await txn.send({ topic: 'st-sse', messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await txn.abort();
    await tp.disconnect();
    await produce('st-sse', ['x', 'y']);
    await readUntil(2);
    controller.abort();
    assert.deepEqual(
      got.map((l) => l.value?.data),
      ['x', 'y'],
    );
  });

  test('a subscriber that stops reading is paused, not buffered for; the others go on; it gets everything once it reads', async (t) => {
    await createTopic('st-slow');
    const fast = subscriber(`${ws}${streamPath('st-slow', 'from=earliest')}`);
    const slow = subscriber(`${ws}${streamPath('st-slow', 'from=earliest')}`);
    await Promise.all([fast.opened, slow.opened]);
    // The slow client stops reading its socket: its TCP window and the broker's send buffer fill.
    (slow.sock as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const before = rssMiB();
    const value = 'v'.repeat(10_000);
    const n = 4000; // 40 MB of records
    for (let i = 0; i < n; i += 50)
      await produce(
        'st-slow',
        Array.from({ length: 50 }, () => value),
      );
    await fast.until(n, 60_000);
    const during = rssMiB();
    t.diagnostic(`broker RSS ${Math.round(before)} MiB before, ${Math.round(during)} MiB with 40 MB unread by one subscriber`);
    assert.ok(during - before < 64, `broker RSS grew ${Math.round(during - before)} MiB while a subscriber did not read 40 MB`);
    (slow.sock as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.until(n, 60_000);
    assert.deepEqual(
      slow.lines.map((l) => l.offset),
      Array.from({ length: n }, (_, i) => i),
      'every record, in order, once',
    );
    fast.sock.close();
    slow.sock.close();
  });

  test('a thousand WebSocket subscribers of one topic each get every record; broker memory stays within 64 MiB more', async (t) => {
    await createTopic('st-fan');
    const before = rssMiB();
    const subs = Array.from({ length: 1000 }, () => subscriber(`${ws}${streamPath('st-fan', 'from=latest')}`));
    await Promise.all(subs.map((s) => s.opened));
    const values = Array.from({ length: 200 }, (_, i) => `r${i}-${'x'.repeat(200)}`);
    await produce('st-fan', values);
    await Promise.all(subs.map((s) => s.until(200, 60_000)));
    const after = rssMiB();
    t.diagnostic(`broker RSS ${Math.round(before)} MiB before, ${Math.round(after)} MiB with 1000 subscribers after 200 records`);
    for (const s of subs) {
      assert.equal(s.lines.length, 200);
      assert.equal(s.lines[199]!.offset, 199);
    }
    assert.ok(after - before < 64, `broker RSS grew ${Math.round(after - before)} MiB with 1000 subscribers`);
    for (const s of subs) s.sock.close();
  });

  test('group mode: a stream commits what it sent; the next stream of the group starts there; a group with Kafka members refuses', async () => {
    await createTopic('st-group', 2);
    await produce('st-group', ['a', 'b'], 0);
    await produce('st-group', ['c'], 1);
    const lagOf = async (group: string) => {
      const res = await fetch(`${http}/v3/clusters/${cluster}/consumer-groups/${group}/lags`);
      if (res.status !== 200) return null;
      return ((await res.json()) as { data: Array<{ partition_id: number; current_offset: number }> }).data
        .map((l) => [l.partition_id, l.current_offset])
        .sort((x, y) => x[0]! - y[0]!);
    };
    const first = subscriber(`${ws}${streamPath('st-group', 'from=earliest&group=st-g1')}`);
    await first.until(3);
    // Committed within a second of sending (no event for a commit: poll the group's lags).
    const committed = async (want: number[][]) => {
      for (let i = 0; i < 100; i++) {
        if (JSON.stringify(await lagOf('st-g1')) === JSON.stringify(want)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(await lagOf('st-g1'), want);
    };
    await committed([
      [0, 2],
      [1, 1],
    ]);
    first.sock.close();
    await new Promise((resolve) => first.sock.once('close', resolve));
    await produce('st-group', ['d'], 0);
    const second = subscriber(`${ws}${streamPath('st-group', 'from=earliest&group=st-g1')}`);
    await second.until(1);
    await produce('st-group', ['e'], 1);
    await second.until(2);
    assert.deepEqual(
      second.lines.map((l) => [l.partition, l.offset, l.value?.data]),
      [
        [0, 2, 'd'],
        [1, 1, 'e'],
      ],
    );
    second.sock.close();
    await committed([
      [0, 3],
      [1, 2],
    ]);

    // A group's first stream from latest that gets nothing commits where it started (as a Kafka
    // consumer commits the position it reset to), so the group's next stream misses nothing.
    const idle = subscriber(`${ws}${streamPath('st-group', 'from=latest&group=st-g2')}`);
    await idle.opened;
    for (let i = 0; i < 100 && (await lagOf('st-g2')) === null; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await lagOf('st-g2'), [
      [0, 3],
      [1, 2],
    ]);
    idle.sock.close();
    await new Promise((resolve) => idle.sock.once('close', resolve));
    await produce('st-group', ['f'], 1);
    const next = subscriber(`${ws}${streamPath('st-group', 'from=latest&group=st-g2')}`);
    await next.until(1);
    assert.deepEqual(
      next.lines.map((l) => [l.partition, l.offset, l.value?.data]),
      [[1, 2, 'f']],
    );
    next.sock.close();

    // A group a kafkajs consumer belongs to: the stream's first commit is refused and ends it.
    const consumer = kafka().consumer({ groupId: 'st-busy' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'st-group', fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({ eachMessage: async () => {} });
    await joined;
    try {
      const busy = new WebSocket(`${ws}${streamPath('st-group', 'from=earliest&group=st-busy')}`);
      const [code, reason] = await new Promise<[number, string]>((resolve) => busy.on('close', (c, r) => resolve([c, r.toString()])));
      assert.equal(code, 1011);
      assert.match(reason, /commit refused/);
    } finally {
      await consumer.disconnect();
    }
  });

  test('refused: unknown topic (WebSocket closed 1008, SSE error event), a bad query (400), a page of another site (403)', async () => {
    const foreign = new WebSocket(`${ws}${streamPath('st-ws', 'from=earliest')}`, { origin: 'http://evil.example' });
    const refusedWith = await new Promise<number>((resolve) =>
      foreign.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    assert.equal(refusedWith, 403);
    const sameOrigin = subscriber(`${ws}${streamPath('st-ws', 'from=earliest')}`);
    await sameOrigin.until(1);
    sameOrigin.sock.close();
    const foreignGroup = await fetch(`${http}${streamPath('st-ws', 'from=earliest&group=g')}`, {
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(foreignGroup.status, 403);
    const bad = new WebSocket(`${ws}${streamPath('st-none', 'from=earliest')}`);
    const code = await new Promise<number>((resolve) => bad.on('close', (c) => resolve(c)));
    assert.equal(code, 1008);
    const sse = await fetch(`${http}${streamPath('st-none', 'from=earliest')}`);
    assert.match(await sse.text(), /event: error\ndata: .*no topic st-none/);
    const wrong = new WebSocket(`${ws}${streamPath('st-ws', 'from=yesterday')}`);
    const status = await new Promise<number>((resolve) => wrong.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 400);
    assert.equal((await fetch(`${http}${streamPath('st-ws', 'from=offset')}`)).status, 400, 'from=offset needs offset=');
  });
});
