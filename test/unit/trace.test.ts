/**
 * Message trace's parts: the Tracer over a real Log for `__franz_trace` (events held briefly and
 * appended as one batch per trace partition, internal topics never traced, the per-topic switch
 * and sampling, a bounded buffer while the trace partition is missing), and the TimelineBuilder
 * that turns events into a record's timeline (delayed records followed to their delivery, the
 * first commit past the record per group, the trace tool's own reads left out).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BrokerConfig } from '../../src/config.js';
import { statePartitionFor } from '../../src/metadata/state-topic.js';
import type { InternalTopics, PartitionLogs } from '../../src/metadata/ports.js';
import type { TopicInfo } from '../../src/metadata/topics.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeRecordBatches } from '../../src/records/record-batch.js';
import { decodeTraceEvent, type MutableProduceEvent, TRACE_TOPIC, type TraceEvent, traceKey } from '../../src/records/trace-records.js';
import { Log } from '../../src/storage/log.js';
import { TimelineBuilder, TRACE_TOOL_CLIENT } from '../../src/trace/timeline.js';
import { Tracer } from '../../src/trace/tracer.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { testLogConfig } from '../helpers/log-config.js';

const dir = tempDir('franz-trace-unit-');
after(() => removeDir(dir));

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

/** A broker's topics and partition logs, as far as the Tracer reaches them. */
function world(sets: string[], topicConfigs: Record<string, Record<string, string>>, makeTrace = true) {
  const config = BrokerConfig.from({ sets, env: {} });
  const topics = new Map<string, TopicInfo>();
  for (const [name, configs] of Object.entries(topicConfigs)) {
    topics.set(name, { name, id: name, partitions: 1, configs, internal: name.startsWith('__') } as unknown as TopicInfo);
  }
  const logs = new Map<string, Log>();
  let created = 0;
  const topicPorts: InternalTopics = {
    get: (n) => topics.get(n),
    getById: () => undefined,
    list: () => [...topics.values()],
    createInternalTopic: (name, partitions, _rf, configs) => {
      created++;
      if (!makeTrace) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: 'no' };
      topics.set(name, { name, id: name, partitions, configs, internal: true } as unknown as TopicInfo);
      for (let p = 0; p < partitions; p++) {
        logs.set(
          `${name}-${p}`,
          Log.open(join(dir, `${name}-${p}-${Math.random()}`), testLogConfig(), { recoveryPoint: 0, logStartOffset: 0, clean: true }),
        );
      }
      return { errorCode: ErrorCode.NONE, message: null };
    },
  };
  const logPorts = {
    partition: (t: string, p: number) => logs.get(`${t}-${p}`),
    leaderEpochOf: () => 0,
  } as unknown as PartitionLogs;
  let now = 1_000_000;
  const tracer = new Tracer({
    logs: logPorts,
    topics: topicPorts,
    config,
    log: silent,
    now: () => now,
    groupsOf: (client) => (client === 'member' ? ['g1'] : []),
  });
  /** Every event in the trace topic, by trace partition. */
  const events = (): Array<{ p: number; key: string; e: TraceEvent }> => {
    const out: Array<{ p: number; key: string; e: TraceEvent }> = [];
    for (const [k, log] of logs) {
      const p = Number(k.slice(k.lastIndexOf('-') + 1));
      const { batches } = decodeRecordBatches(log.readBytes(0, 1 << 24, true));
      for (const b of batches) for (const r of b.records) out.push({ p, key: r.key!.toString(), e: decodeTraceEvent(r.value)! });
    }
    return out;
  };
  return { tracer, events, logs, created: () => created, tick: (ms: number) => (now += ms) };
}

const who = { client: 'c', address: '127.0.0.1' };

/** A produce event as the Produce handler makes it. */
function pe(
  e: {
    topic: string;
    partition: number;
    first: number;
    last: number;
    records: number;
    bytes: number;
    client: string;
    address: string;
    producerId?: number;
    producerEpoch?: number;
    sequence?: number;
  },
  time: number,
): MutableProduceEvent {
  return {
    type: 'produce',
    producerId: undefined,
    producerEpoch: undefined,
    sequence: undefined,
    transactionalId: undefined,
    more: undefined,
    ...e,
    time,
  };
}

describe('Tracer', () => {
  test('events wait in memory and are appended together, each in the trace partition its key hashes to', () => {
    const w = world(['franz.trace.enable=true', 'franz.trace.topic.partitions=3'], { a: {}, b: {} });
    assert.equal(w.tracer.produceRatio('a'), 1);
    w.tracer.produced(pe({ topic: 'a', partition: 0, first: 0, last: 4, records: 5, bytes: 100, ...who }, 1));
    w.tracer.fetched({ topic: 'a', partition: 0, first: 0, last: 4, bytes: 100, readCommitted: false, client: 'member', address: 'h' });
    w.tracer.committed({ topic: 'b', partition: 0, offset: 5, group: 'g1', member: 'm', ...who });
    assert.equal(w.events().length, 0, 'nothing appended before the flush');
    w.tracer.flush();
    const got = w.events();
    assert.equal(got.length, 3);
    for (const { p, key, e } of got) {
      assert.equal(key, traceKey(e.topic, e.partition));
      assert.equal(p, statePartitionFor(key, 3), 'the partition franz trace looks in');
    }
    const fetch = got.find((x) => x.e.type === 'fetch')!.e;
    assert.deepEqual(fetch.type === 'fetch' && fetch.groups, ['g1'], 'the group of the fetching client');
    assert.equal(w.tracer.written, 3);
  });

  test("a client's consecutive batches within a flush share an event; the timeline gives each its own time", () => {
    const w = world(['franz.trace.enable=true'], { a: {} });
    const batch = (first: number, last: number, client = 'p1') => ({
      topic: 'a',
      partition: 0,
      first,
      last,
      records: last - first + 1,
      bytes: 100 * (last - first + 1),
      client,
      address: 'h',
      producerId: 7,
      producerEpoch: 0,
      sequence: first,
    });
    w.tracer.produced(pe(batch(0, 4), 1000));
    w.tracer.produced(pe(batch(5, 9), 1010));
    w.tracer.produced(pe(batch(10, 10, 'p2'), 1015));
    w.tracer.produced(pe(batch(11, 14), 1020)); // p1 again, but not where its event ended
    w.tracer.flush();
    w.tracer.produced(pe(batch(15, 19), 1200)); // the next flush interval: an event of its own
    w.tracer.flush();
    const events = w.events().map((x) => x.e);
    assert.equal(events.length, 4);
    const first = events[0]!;
    assert.ok(first.type === 'produce');
    assert.equal(first.first, 0);
    assert.equal(first.last, 9);
    assert.equal(first.records, 10);
    assert.deepEqual(first.more, [5, 10, 500]);
    const b = new TimelineBuilder({ topic: 'a', partition: 0, offset: 7 });
    for (const e of events) b.offer(e);
    const [step] = b.steps();
    assert.ok(step!.event.type === 'produce');
    assert.deepEqual(
      [step!.event.first, step!.event.last, step!.time, step!.event.bytes, step!.event.sequence],
      [5, 9, 1010, 500, 5],
      'the second batch: its offsets, time, size and first sequence',
    );
  });

  test('off by default, per topic on or off over the broker default; internal topics never', () => {
    const off = world([], { a: {}, on: { 'franz.trace.enable': 'true', 'franz.trace.sampling.ratio': '0.25' } });
    assert.equal(off.tracer.produceRatio('a'), 0);
    assert.equal(off.tracer.traced('a'), false);
    assert.equal(off.tracer.produceRatio('on'), 0.25);
    assert.equal(off.created(), 0, 'no trace topic while nothing is traced');
    const on = world(['franz.trace.enable=true'], { a: {}, quiet: { 'franz.trace.enable': 'false' }, __consumer_offsets: {} });
    assert.equal(on.tracer.traced('a'), true);
    assert.equal(on.tracer.traced('quiet'), false);
    assert.equal(on.tracer.traced('__consumer_offsets'), false);
    assert.equal(on.tracer.traced(TRACE_TOPIC), false, 'reading the trace is not traced');
  });

  test('delayed records get delay and deliver events', () => {
    const w = world(['franz.trace.enable=true'], { d: {} });
    w.tracer.scheduled('d', 0, [
      { offset: 3, dueMs: 5000 },
      { offset: 4, dueMs: 6000, cancelKey: Buffer.from('k') },
    ]);
    w.tracer.delivered('d', 0, [{ from: 3, offset: 9, dueMs: 5000 }]);
    w.tracer.flush();
    const types = w.events().map((x) => x.e);
    assert.deepEqual(
      types.map((e) => [e.type, e.type === 'delay' ? e.cancel : e.type === 'deliver' ? e.offset : null]),
      [
        ['delay', false],
        ['delay', true],
        ['deliver', 9],
      ],
    );
  });

  test('without a trace partition the events wait within a bound; the oldest are dropped past it', () => {
    const w = world(['franz.trace.enable=true'], { a: {} }, false);
    for (let i = 0; i < 100_000; i++) {
      w.tracer.produced(
        pe({ topic: 'a', partition: 0, first: 2 * i, last: 2 * i, records: 1, bytes: 100, client: 'x'.repeat(64), address: 'h' }, 1),
      );
      if (i % 1000 === 0) w.tick(100);
    }
    w.tracer.flush();
    assert.ok(w.tracer.dropped > 0, 'the buffer is bounded');
    assert.ok(w.tracer.dropped < 100_000, 'the newest wait');
    assert.ok(w.created() >= 2 && w.created() <= 11, `the trace topic is asked for again once a second, not per event (${w.created()})`);
    const held = world(['franz.trace.enable=true'], { a: {} });
    held.tracer.produced(pe({ topic: 'a', partition: 0, first: 0, last: 0, records: 1, bytes: 1, ...who }, 1));
    // The trace partition goes (its leadership moved, say): what comes meanwhile waits.
    held.logs.clear();
    held.tracer.produced(pe({ topic: 'a', partition: 0, first: 1, last: 1, records: 1, bytes: 1, ...who }, 1));
    held.tracer.flush();
    assert.equal(held.tracer.dropped, 0);
    assert.equal(held.tracer.written, 0);
  });
});

describe('TimelineBuilder', () => {
  const base = { topic: 't', partition: 0 };
  const ev = (e: Partial<TraceEvent> & { type: TraceEvent['type']; time: number }): TraceEvent =>
    ({ ...base, client: 'c', address: 'h', ...e }) as TraceEvent;

  test('the batch that holds the record, the fetches that held it, the first commit past it per group', () => {
    const b = new TimelineBuilder({ ...base, offset: 5 });
    const events = [
      ev({ type: 'produce', first: 0, last: 3, time: 1 }),
      ev({ type: 'produce', first: 4, last: 6, time: 2, client: 'p' }),
      ev({ type: 'fetch', first: 0, last: 3, time: 3, groups: [] }),
      ev({ type: 'fetch', first: 4, last: 9, time: 4, groups: [], client: 'k', address: 'a' }),
      ev({ type: 'fetch', first: 4, last: 9, time: 4, groups: [], client: TRACE_TOOL_CLIENT }),
      ev({ type: 'commit', offset: 5, group: 'g', time: 5 }),
      ev({ type: 'commit', offset: 7, group: 'g', time: 6, client: 'k', address: 'a' }),
      ev({ type: 'commit', offset: 9, group: 'g', time: 7 }),
      ev({ type: 'produce', first: 5, last: 5, time: 8, topic: 'other' }),
    ];
    for (const e of events) b.offer(e);
    const steps = b.steps();
    assert.deepEqual(
      steps.map((s) => [s.event.type, s.time, s.lagMs]),
      [
        ['produce', 2, 0],
        ['fetch', 4, 2],
        ['commit', 6, 4],
      ],
    );
    assert.deepEqual(steps[1]!.groups, ['g'], "a fetch's group told by its client's commits");
  });

  test('a delay record is followed to its delivery, and a delivered record back to its delay record', () => {
    const events = [
      ev({ type: 'produce', first: 2, last: 2, time: 10 }),
      ev({ type: 'delay', offset: 2, due: 50, cancel: false, time: 10 }),
      ev({ type: 'fetch', first: 0, last: 4, time: 20, groups: ['early'] }),
      ev({ type: 'deliver', from: 2, offset: 7, due: 50, time: 51 }),
      ev({ type: 'fetch', first: 5, last: 8, time: 60, groups: ['g'] }),
      ev({ type: 'commit', offset: 8, group: 'g', time: 70 }),
    ];
    const fromDelay = new TimelineBuilder({ ...base, offset: 2, delayRecord: true });
    for (const e of events) fromDelay.offer(e);
    assert.deepEqual(
      fromDelay.steps().map((s) => s.event.type),
      ['produce', 'delay', 'deliver', 'fetch', 'commit'],
      'no fetch before delivery: consumers do not see a delay record',
    );
    assert.equal(fromDelay.readOffset, 7);
    const fromDelivered = new TimelineBuilder({ ...base, offset: 7, delayedFrom: 2 });
    for (const e of events) fromDelivered.offer(e);
    assert.deepEqual(
      fromDelivered.steps().map((s) => [s.event.type, s.lagMs]),
      [
        ['produce', 0],
        ['delay', 0],
        ['deliver', 41],
        ['fetch', 50],
        ['commit', 60],
      ],
    );
  });
});
