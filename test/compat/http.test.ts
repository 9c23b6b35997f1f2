/**
 * The HTTP listener (franz start --http), driven by a real HTTP client (Node's fetch, undici) and
 * checked with real Kafka clients: health and readiness; REST v3 in Confluent's shapes (cluster,
 * topics created and deleted, partitions, configs, consumer groups with lag); records produced as
 * JSON, string and binary keys and values with headers, one per request and streamed, read back
 * by kcat; bad bodies answered 400/413/415/422 with nothing appended; /metrics parsed by a
 * Prometheus text-format parser, its counters moving under load.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { FRANZ_MAIN, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { startHttpBroker } from '../helpers/http.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { startMemberProcess } from '../helpers/member-process.js';
import { runOk } from '../helpers/run.js';

const { Kafka, logLevel } = kafkajs;

const dataDir = tempDir('franz-http-');
let broker: RunningBroker;
let http = '';
let cluster = '';

before(async () => {
  ({ broker, http, cluster } = await startHttpBroker(dataDir, ['num.partitions=1', 'group.initial.rebalance.delay.ms=0']));
});
after(async () => {
  await broker.stop();
  removeDir(dataDir);
});

const GROUP_MEMBER_PY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'python', 'group_member.py');
const v3 = (path: string) => `${http}/v3/clusters/${cluster}${path}`;

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('HTTP', () => {
  test('healthz and readyz answer once the broker serves; unknown paths are 404 in JSON', async () => {
    const h = await fetch(`${http}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    const r = await fetch(`${http}/readyz`);
    assert.equal(r.status, 200);
    const n = await fetch(`${http}/nope`);
    assert.equal(n.status, 404);
    assert.equal(((await n.json()) as { error_code: number }).error_code, 404);
  });

  test('REST v3: create a topic, list and describe it, its partitions and configs; delete it', async () => {
    const created = await post(v3('/topics'), {
      topic_name: 'rest-a',
      partitions_count: 3,
      configs: [{ name: 'retention.ms', value: '3600000' }],
    });
    assert.equal(created.status, 201);
    const topic = (await created.json()) as { topic_name: string; partitions_count: number; kind: string };
    assert.deepEqual([topic.kind, topic.topic_name, topic.partitions_count], ['KafkaTopic', 'rest-a', 3]);
    const again = await post(v3('/topics'), { topic_name: 'rest-a' });
    assert.equal(again.status, 400);
    assert.equal(((await again.json()) as { error_code: number }).error_code, 40002);
    const listed = (await (await fetch(v3('/topics'))).json()) as { data: Array<{ topic_name: string }> };
    assert.ok(listed.data.some((t) => t.topic_name === 'rest-a'));
    const parts = (await (await fetch(v3('/topics/rest-a/partitions'))).json()) as { data: Array<{ partition_id: number }> };
    assert.deepEqual(
      parts.data.map((p) => p.partition_id),
      [0, 1, 2],
    );
    const configs = (await (await fetch(v3('/topics/rest-a/configs'))).json()) as {
      data: Array<{ name: string; value: string; is_default: boolean }>;
    };
    const retention = configs.data.find((c) => c.name === 'retention.ms')!;
    assert.deepEqual([retention.value, retention.is_default], ['3600000', false]);
    // A Kafka client sees the topic the REST call made.
    const admin = new Kafka({ clientId: 'http-test', brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    assert.ok((await admin.listTopics()).includes('rest-a'));
    await admin.disconnect();
    const del = await fetch(v3('/topics/rest-a'), { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await fetch(v3('/topics/rest-a'))).status, 404);
    assert.equal((await fetch(`${http}/v3/clusters/nope/topics`)).status, 404);
  });

  test('REST v3 produce: JSON, string and binary keys and values with headers; kcat reads them back', async () => {
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-rec', partitions_count: 2 })).status, 201);
    const one = await post(v3('/topics/rest-rec/records'), {
      partition_id: 1,
      key: { type: 'STRING', data: 'k1' },
      value: { type: 'JSON', data: { order: 42, items: ['a', 'b'] } },
      headers: [{ name: 'source', value: b64('curl') }],
    });
    assert.equal(one.status, 200);
    const r = (await one.json()) as { error_code: number; partition_id: number; offset: number; key: { type: string; size: number } };
    assert.deepEqual([r.error_code, r.partition_id, r.offset, r.key.type, r.key.size], [200, 1, 0, 'STRING', 2]);
    const bin = await post(v3('/topics/rest-rec/records'), { partition_id: 0, value: { type: 'BINARY', data: b64('\u0001\u0002bytes') } });
    assert.equal(bin.status, 200);
    const read = await kcatReadAll(broker.address, 'rest-rec');
    const json = read.find((x) => x.partition === 1)!;
    assert.equal(json.key, 'k1');
    assert.deepEqual(JSON.parse(json.payload!), { order: 42, items: ['a', 'b'] });
    assert.deepEqual(json.headers, ['source', 'curl']);
    assert.equal(read.find((x) => x.partition === 0)!.payload, '\u0001\u0002bytes');
  });

  test('streamed produce: one JSON object after another, one result per line, in order; a bad one fails alone', async () => {
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-stream', partitions_count: 1 })).status, 201);
    const lines = [];
    for (let i = 0; i < 50; i++) lines.push(JSON.stringify({ value: { type: 'STRING', data: `v${i}` } }));
    lines.splice(10, 0, JSON.stringify({ value: { type: 'BINARY', data: 'not base64!' } }));
    const res = await post(v3('/topics/rest-stream/records'), lines.join('\n'));
    assert.equal(res.status, 200);
    const answers = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error_code: number; offset?: number });
    assert.equal(answers.length, 51);
    assert.equal(answers[10]!.error_code, 42206);
    const ok = answers.filter((a) => a.error_code === 200);
    assert.deepEqual(
      ok.map((a) => a.offset),
      Array.from({ length: 50 }, (_, i) => i),
      'offsets in order',
    );
    const read = await kcatReadAll(broker.address, 'rest-stream');
    assert.deepEqual(
      read.map((x) => x.payload),
      Array.from({ length: 50 }, (_, i) => `v${i}`),
    );

    // A large body sent in small pieces: objects and multi-byte characters split across chunks,
    // produced together in batches, every one answered, in order, and stored intact.
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-stream-big', partitions_count: 3 })).status, 201);
    const n = 3000;
    const value = (i: number) => `é€${i}😀${'x'.repeat(i % 300)}`;
    const body = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ partition_id: i % 3, value: { type: 'STRING', data: value(i) } }),
    ).join('');
    const bytes = Buffer.from(body);
    const pieces = new ReadableStream<Uint8Array>({
      start(c) {
        for (let at = 0; at < bytes.length; at += 997) c.enqueue(bytes.subarray(at, at + 997));
        c.close();
      },
    });
    const big = await fetch(v3('/topics/rest-stream-big/records'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: pieces,
      duplex: 'half',
    } as RequestInit);
    assert.equal(big.status, 200);
    const results = (await big.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error_code: number; partition_id: number; offset: number });
    assert.equal(results.length, n);
    assert.ok(results.every((r, i) => r.error_code === 200 && r.partition_id === i % 3 && r.offset === Math.floor(i / 3)));
    const stored = await kcatReadAll(broker.address, 'rest-stream-big');
    assert.equal(stored.length, n);
    const want = new Set(Array.from({ length: n }, (_, i) => value(i)));
    assert.ok(
      stored.every((x) => x.payload !== null && want.has(x.payload)),
      'every value intact',
    );
  });

  test('bad bodies: not JSON 400, wrong types 422, wrong media type 415, too large 413, unknown topic 404; nothing appended', async () => {
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-bad', partitions_count: 1 })).status, 201);
    const url = v3('/topics/rest-bad/records');
    const notJson = await post(url, '{"value": ');
    assert.equal(notJson.status, 400);
    const wrongType = await post(url, { value: { type: 'XML', data: '<a/>' } });
    assert.equal(wrongType.status, 422);
    assert.match(((await wrongType.json()) as { message: string }).message, /JSON, STRING or BINARY/);
    const badPartition = await post(url, { partition_id: 7, value: { type: 'STRING', data: 'x' } });
    assert.equal(badPartition.status, 404);
    assert.equal((await post(url, { value: { data: 1 } }, { 'content-type': 'text/plain' })).status, 415);
    const huge = await post(url, { value: { type: 'STRING', data: 'x'.repeat(3 * 1024 * 1024) } });
    assert.equal(huge.status, 413);
    assert.equal((await post(v3('/topics/no-such-topic/records'), { value: { type: 'STRING', data: 'x' } })).status, 404);
    assert.deepEqual(await kcatReadAll(broker.address, 'rest-bad'), []);
    // A malformed escape in the path (decodeURIComponent throws on it) is a 400, not a dead broker.
    const badEscape = await fetch(`${http}/v3/clusters/%E0/topics`);
    assert.equal(badEscape.status, 400);
    assert.match(((await badEscape.json()) as { message: string }).message, /malformed escape/);
    // A page of another site may not change anything (its browser sends Origin); the same origin may.
    const crossSite = await post(
      url,
      { value: { type: 'STRING', data: 'csrf' } },
      { 'content-type': 'application/json', origin: 'http://evil.example' },
    );
    assert.equal(crossSite.status, 403);
    const sameSite = await post(url, { value: { type: 'STRING', data: 'fine' } }, { 'content-type': 'application/json', origin: http });
    assert.equal(sameSite.status, 200);
    assert.equal((await post(url, { value: { type: 'STRING', data: 'fine' } })).status, 200);
    assert.deepEqual(
      (await kcatReadAll(broker.address, 'rest-bad')).map((r) => r.payload),
      ['fine', 'fine'],
    );
  });

  test('streamed produce: a bad record among good ones fails alone (delay headers, timestamps); a fault in the body ends it after what came before', async () => {
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-mixed', partitions_count: 1 })).status, 201);
    const rec = (data: string, headers: Array<{ name: string; value: string }> = []) =>
      JSON.stringify({
        partition_id: 0,
        value: { type: 'STRING', data },
        headers: headers.map((h) => ({ name: h.name, value: b64(h.value) })),
      });
    const body = [
      rec('a'),
      rec('bad delay', [{ name: 'franz-delay-ms', value: 'soon' }]),
      rec('b'),
      rec('later', [{ name: 'franz-delay-ms', value: '600000' }]),
      rec('c'),
    ].join('\n');
    const res = await post(v3('/topics/rest-mixed/records'), body);
    assert.equal(res.status, 200);
    const answers = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error_code: number; offset?: number; message?: string });
    assert.deepEqual(
      answers.map((a) => a.error_code),
      [200, 42206, 200, 200, 200],
    );
    assert.match(answers[1]!.message ?? '', /franz-delay-ms/);
    // The undelayed records are readable at the offsets they were answered with; the delayed one is not (yet).
    const read = (await (await fetch(v3('/topics/rest-mixed/partitions/0/records?offset=0'))).json()) as {
      data: Array<{ offset: number; value: { data: string } }>;
    };
    const byOffset = new Map(read.data.map((r) => [r.offset, r.value.data]));
    assert.equal(byOffset.get(answers[0]!.offset!), 'a');
    assert.equal(byOffset.get(answers[2]!.offset!), 'b');
    assert.equal(byOffset.get(answers[4]!.offset!), 'c');
    assert.deepEqual(
      read.data.map((r) => r.value.data),
      ['a', 'b', 'c'],
    );

    // A compacted topic refuses a keyless record: the broker fails its whole batch, and each record is then sent alone.
    const compacted = await post(v3('/topics'), {
      topic_name: 'rest-mixed-compact',
      partitions_count: 1,
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    });
    assert.equal(compacted.status, 201);
    const keyed = (k: string | null, v: string) =>
      JSON.stringify({ ...(k === null ? {} : { key: { type: 'STRING', data: k } }), value: { type: 'STRING', data: v } });
    const mixed = await post(
      v3('/topics/rest-mixed-compact/records'),
      [keyed('k1', 'one'), keyed(null, 'keyless'), keyed('k2', 'two')].join('\n'),
    );
    const mixedAnswers = (await mixed.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error_code: number; kafka_error_code?: number });
    assert.deepEqual(
      mixedAnswers.map((a) => [a.error_code, a.kafka_error_code ?? null]),
      [
        [200, null],
        [42206, 87],
        [200, null],
      ],
    );
    assert.deepEqual(
      (await kcatReadAll(broker.address, 'rest-mixed-compact')).map((r) => r.payload),
      ['one', 'two'],
    );

    // Stray text after two good objects: both produced and answered, then the fault.
    const faulty = await post(v3('/topics/rest-mixed/records'), `${rec('d')}\n${rec('e')}\nnot json at all`);
    assert.equal(faulty.status, 200);
    const lines = (await faulty.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error_code: number; message?: string });
    assert.deepEqual(
      lines.map((l) => l.error_code),
      [200, 200, 400],
    );
    assert.match(lines[2]!.message ?? '', /unexpected "n" between records/);

    // A client that goes away in the middle of a long streamed body: the broker carries on.
    const controller = new AbortController();
    const many = Array.from({ length: 20_000 }, (_, i) => rec(`x${i}`)).join('\n');
    let sent = 0;
    const slow = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent > 200_000) {
          controller.abort();
          return;
        }
        c.enqueue(Buffer.from(many.slice(sent, sent + 50_000)));
        sent += 50_000;
      },
    });
    await fetch(v3('/topics/rest-mixed/records'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: slow,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit).then(
      (r) => r.text(),
      () => 'aborted',
    );
    const h = await fetch(`${http}/healthz`);
    assert.equal(h.status, 200);
    assert.equal((await post(v3('/topics/rest-mixed/records'), rec('after'))).status, 200);
  });

  test('REST v2: produce json and binary, topic metadata, consumer instances share a group, poll, commit, delete', async () => {
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-v2', partitions_count: 2 })).status, 201);
    const JSON_V2 = 'application/vnd.kafka.json.v2+json';
    const BIN_V2 = 'application/vnd.kafka.binary.v2+json';
    const produced = await post(
      `${http}/topics/rest-v2`,
      {
        records: [
          { value: { n: 1 }, partition: 0 },
          { value: { n: 2 }, partition: 1 },
          { key: 'k', value: { n: 3 }, partition: 0 },
        ],
      },
      { 'content-type': JSON_V2 },
    );
    assert.equal(produced.status, 200);
    const offsets = ((await produced.json()) as { offsets: Array<{ partition: number; offset: number; error_code: number | null }> })
      .offsets;
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.offset, o.error_code]),
      [
        [0, 0, null],
        [1, 0, null],
        [0, 1, null],
      ],
    );
    const bin = await post(`${http}/topics/rest-v2/partitions/1`, { records: [{ value: b64('raw') }] }, { 'content-type': BIN_V2 });
    assert.equal(bin.status, 200);
    assert.equal((await post(`${http}/topics/rest-v2`, { records: [{ value: 'x' }] }, { 'content-type': 'text/plain' })).status, 415);
    assert.ok(((await (await fetch(`${http}/topics`)).json()) as string[]).includes('rest-v2'));
    const meta = (await (await fetch(`${http}/topics/rest-v2`)).json()) as { partitions: Array<{ partition: number; leader: number }> };
    assert.equal(meta.partitions.length, 2);

    // Two instances of one group: each reads one partition; together, everything once.
    const create = async (name: string) => {
      const r = await post(
        `${http}/consumers/g-v2`,
        { name, format: 'binary', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' },
        { 'content-type': 'application/vnd.kafka.v2+json' },
      );
      assert.equal(r.status, 200);
      const { base_uri } = (await r.json()) as { base_uri: string };
      assert.equal(
        (await post(`${base_uri}/subscription`, { topics: ['rest-v2'] }, { 'content-type': 'application/vnd.kafka.v2+json' })).status,
        204,
      );
      return base_uri;
    };
    const a = await create('a');
    const b = await create('b');
    assert.equal((await post(`${http}/consumers/g-v2`, { name: 'a' }, { 'content-type': 'application/vnd.kafka.v2+json' })).status, 409);
    type Rec = { topic: string; partition: number; offset: number; value: string };
    const poll = async (uri: string) =>
      (await (await fetch(`${uri}/records?timeout=2000`, { headers: { accept: BIN_V2 } })).json()) as Rec[];
    const fromA = await poll(a);
    const fromB = await poll(b);
    assert.deepEqual(new Set(fromA.map((r) => r.partition)).size, 1);
    assert.deepEqual(new Set(fromB.map((r) => r.partition)).size, 1);
    const values = [...fromA, ...fromB].map((r) => Buffer.from(r.value, 'base64').toString()).sort();
    assert.deepEqual(values, ['raw', '{"n":1}', '{"n":2}', '{"n":3}'].sort());
    // Commit what was read (an empty body: every position), then see it from a Kafka client.
    assert.equal((await fetch(`${a}/offsets`, { method: 'POST' })).status, 200);
    assert.equal((await fetch(`${b}/offsets`, { method: 'POST' })).status, 200);
    const admin = new Kafka({ clientId: 'http-v2', brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: 'g-v2', topics: ['rest-v2'] });
    await admin.disconnect();
    assert.deepEqual(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [
      [0, '2'],
      [1, '2'],
    ]);
    // A long poll returns when a record arrives.
    const waiting = poll(a);
    await post(
      `${http}/topics/rest-v2`,
      { records: [{ value: { late: true }, partition: fromA[0]!.partition }] },
      { 'content-type': JSON_V2 },
    );
    assert.equal((await waiting).length, 1);
    assert.equal((await fetch(a, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${a}/records`)).status, 404);
    // Alone now, b reads both partitions from the committed offsets.
    const rest = await poll(b);
    assert.deepEqual(
      rest.map((r) => JSON.parse(Buffer.from(r.value, 'base64').toString()) as unknown),
      [{ late: true }],
    );
  });

  test('records read by offset and by time (franz addition): keys, values, headers, next_offset; partitions show offsets and size', async () => {
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-read', partitions_count: 1 })).status, 201);
    const producer = new Kafka({ clientId: 'http-read', brokers: [broker.address], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const t0 = Date.now() - 60_000;
    await producer.send({
      topic: 'rest-read',
      messages: Array.from({ length: 10 }, (_, i) => ({
        key: `k${i}`,
        value: i === 3 ? Buffer.from([0xff, 0x00, 0x80]) : JSON.stringify({ n: i }),
        headers: { h: `v${i}` },
        timestamp: String(t0 + i * 1000),
      })),
    });
    await producer.disconnect();
    type Rec = {
      offset: number;
      timestamp: number;
      key: { type: string; data: string } | null;
      value: { type: string; data: string } | null;
      headers: Array<{ name: string; value: string | null }>;
    };
    const read = async (query: string) => {
      const res = await fetch(v3(`/topics/rest-read/partitions/0/records?${query}`));
      assert.equal(res.status, 200);
      return (await res.json()) as { data: Rec[]; next_offset: number };
    };
    const page = await read('offset=2&max_records=3');
    assert.deepEqual(
      page.data.map((r) => [r.offset, r.key?.data, r.value?.type]),
      [
        [2, 'k2', 'STRING'],
        [3, 'k3', 'BINARY'],
        [4, 'k4', 'STRING'],
      ],
    );
    assert.equal(page.data[1]!.value!.data, Buffer.from([0xff, 0x00, 0x80]).toString('base64'));
    assert.deepEqual(page.data[0]!.headers, [{ name: 'h', value: b64('v2') }]);
    assert.equal(page.next_offset, 5);
    const rest = await read(`offset=${page.next_offset}`);
    assert.deepEqual(
      rest.data.map((r) => r.offset),
      [5, 6, 7, 8, 9],
    );
    assert.equal(rest.next_offset, 10);
    const byTime = await read(`timestamp=${t0 + 7000}&max_records=1`);
    assert.deepEqual(
      byTime.data.map((r) => [r.offset, r.timestamp]),
      [[7, t0 + 7000]],
    );
    assert.equal((await read('offset=10')).data.length, 0);
    assert.equal((await fetch(v3('/topics/rest-read/partitions/0/records?offset=-1'))).status, 400);
    assert.equal((await fetch(v3('/topics/rest-read/partitions/1/records'))).status, 404);
    const parts = (await (await fetch(v3('/topics/rest-read/partitions'))).json()) as {
      data: Array<{ log_start_offset: number; log_end_offset: number; size_bytes: number }>;
    };
    assert.equal(parts.data[0]!.log_start_offset, 0);
    assert.equal(parts.data[0]!.log_end_offset, 10);
    assert.ok(parts.data[0]!.size_bytes > 100, `size ${parts.data[0]!.size_bytes}`);
  });

  test("a group's consumers and their assignments: a kafkajs member, then a KIP-848 member (confluent-kafka)", async () => {
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-members', partitions_count: 2 })).status, 201);
    const kafka = new Kafka({ clientId: 'http-member', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'rest-members-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'rest-members' });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({ eachMessage: async () => {} });
    await joined;
    try {
      const list = (await (await fetch(v3('/consumer-groups/rest-members-group/consumers'))).json()) as {
        data: Array<{ consumer_id: string; client_id: string; host: string; assignments: { related: string } }>;
      };
      assert.equal(list.data.length, 1);
      assert.equal(list.data[0]!.client_id, 'http-member');
      const assigned = (await (await fetch(`${http}${list.data[0]!.assignments.related}`)).json()) as {
        data: Array<{ topic_name: string; partition_id: number }>;
      };
      assert.deepEqual(
        assigned.data.map((a) => [a.topic_name, a.partition_id]),
        [
          ['rest-members', 0],
          ['rest-members', 1],
        ],
      );
      assert.equal((await fetch(v3('/consumer-groups/rest-members-group/consumers/nobody/assignments'))).status, 404);
      assert.equal((await fetch(v3('/consumer-groups/no-such-group/consumers'))).status, 404);
    } finally {
      await consumer.disconnect();
    }
    // A KIP-848 member (confluent-kafka, group.protocol=consumer).
    const member = startMemberProcess('python3', [GROUP_MEMBER_PY, broker.address, 'rest-members', 'rest-members-848', 'consumer', '-1']);
    try {
      await member.until(() => member.owned.length === 2, 'the member owns both partitions');
      const list = (await (await fetch(v3('/consumer-groups/rest-members-848/consumers'))).json()) as {
        data: Array<{ consumer_id: string; assignments: { related: string } }>;
      };
      assert.equal(list.data.length, 1);
      const assigned = (await (await fetch(`${http}${list.data[0]!.assignments.related}`)).json()) as {
        data: Array<{ topic_name: string; partition_id: number }>;
      };
      assert.deepEqual(
        assigned.data.map((a) => a.partition_id),
        [0, 1],
      );
    } finally {
      await member.stop();
    }
  });

  test('consumer groups and lag over REST; /metrics parses and its counters move', async () => {
    assert.equal(
      (
        await post(v3('/topics'), {
          topic_name: 'rest-compacted',
          partitions_count: 1,
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        })
      ).status,
      201,
    );
    assert.equal((await post(v3('/topics'), { topic_name: 'rest-lag', partitions_count: 1 })).status, 201);
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ value: { type: 'STRING', data: `r${i}` } })).join('');
    assert.equal((await post(v3('/topics/rest-lag/records'), lines)).status, 200);
    const kafka = new Kafka({ clientId: 'http-lag', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'rest-group', topic: 'rest-lag', partitions: [{ partition: 0, offset: '5' }] });
    await admin.disconnect();
    const lags = (await (await fetch(v3('/consumer-groups/rest-group/lags'))).json()) as {
      data: Array<{ topic_name: string; current_offset: number; log_end_offset: number; lag: number }>;
    };
    assert.deepEqual(
      lags.data.map((l) => [l.topic_name, l.current_offset, l.log_end_offset, l.lag]),
      [['rest-lag', 5, 20, 15]],
    );
    const groups = (await (await fetch(v3('/consumer-groups'))).json()) as { data: Array<{ consumer_group_id: string }> };
    assert.ok(groups.data.some((g) => g.consumer_group_id === 'rest-group'));

    const scrape = async () => {
      const res = await fetch(`${http}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      const families = parsePrometheusTextFormat(await res.text()) as Array<{
        name: string;
        metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: unknown }>;
      }>;
      return new Map(families.map((f) => [f.name, f.metrics]));
    };
    const value = (
      m: Map<string, Array<{ value?: string; labels?: Record<string, string> }>>,
      name: string,
      labels: Record<string, string> = {},
    ) => Number(m.get(name)?.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v))?.value ?? Number.NaN);
    const before = await scrape();
    for (const name of [
      'franz_requests_total',
      'franz_request_duration_seconds',
      'franz_topic_bytes_in_total',
      'franz_topic_messages_in_total',
      'franz_topic_bytes_out_total',
      'franz_partitions',
      'franz_under_replicated_partitions',
      'franz_consumer_group_lag',
      'franz_log_flush_duration_seconds',
      'franz_log_cleaner_dirty_ratio',
      'franz_log_cleaner_last_clean_timestamp_seconds',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.ok(before.has(name), `${name} is exported`);
    }
    assert.equal(value(before, 'franz_consumer_group_lag', { group: 'rest-group', topic: 'rest-lag', partition: '0' }), 15);
    assert.equal(value(before, 'franz_topic_messages_in_total', { topic: 'rest-lag' }), 20);
    // Load through a Kafka client moves the counters.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'rest-lag', messages: Array.from({ length: 30 }, (_, i) => ({ value: `k${i}` })) });
    await producer.disconnect();
    await kcatReadAll(broker.address, 'rest-lag');
    const after = await scrape();
    assert.equal(value(after, 'franz_topic_messages_in_total', { topic: 'rest-lag' }), 50);
    assert.ok(
      value(after, 'franz_topic_bytes_out_total', { topic: 'rest-lag' }) >
        value(before, 'franz_topic_bytes_out_total', { topic: 'rest-lag' }),
    );
    assert.ok(
      value(after, 'franz_requests_total', { api: 'Produce' }) > value(before, 'franz_requests_total', { api: 'Produce' }) ||
        Number.isNaN(value(before, 'franz_requests_total', { api: 'Produce' })),
    );
    assert.equal(value(after, 'franz_consumer_group_lag', { group: 'rest-group', topic: 'rest-lag', partition: '0' }), 45);

    // franz topic describe --http reads the cleaner's state from there (no Kafka API carries it).
    const httpAddress = http.replace('http://', '');
    const describe = (...more: string[]) =>
      runOk(process.execPath, [
        FRANZ_MAIN,
        'topic',
        'describe',
        'rest-compacted',
        '--http',
        httpAddress,
        '--brokers',
        broker.address,
        ...more,
      ]);
    const described = await describe('--format', 'json');
    const p0 = (JSON.parse(described.stdout) as { partitions: Array<{ dirtyRatio?: number; lastCleanMs?: number | null }> }).partitions[0]!;
    assert.equal(p0.dirtyRatio, value(after, 'franz_log_cleaner_dirty_ratio', { topic: 'rest-compacted', partition: '0' }));
    assert.equal(p0.lastCleanMs, null, 'not cleaned since the broker started');
    const text = await describe();
    assert.match(text.stdout, /DirtyRatio: \d\.\d\d\tLastClean: never/);
  });
});
