/**
 * `franz trace TOPIC --partition P --offset O` (or `--key K`, `--header k=v`, over `--since` ..
 * `--until`): a record's timeline from message trace (franz.trace.enable): who produced it and
 * when, where it is stored, its delay and delivery, which clients of which groups fetched it, and
 * when each group committed past it, with the lag at each step.
 *
 * Read like any client reads (Fetch, ListOffsets): the record itself from its partition, then the
 * trace partition its partition's events go to (`__franz_trace`, keyed `topic/partition`), from a
 * little before the record's timestamp (`--since` says otherwise: a producer may have set an old
 * or future timestamp) to its end (or `--until`).
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { Client, EARLIEST_TIMESTAMP, KafkaError, LATEST_TIMESTAMP } from '../client/client.js';
import type { FetchedPartition } from '../client/types.js';
import { statePartitionFor } from '../metadata/state-topic.js';
import { ErrorCode } from '../protocol/errors.js';
import { DELAYED_FROM_HEADER, ORIGINAL_TIMESTAMP_HEADER, decodeDelayedRecord } from '../records/delayed-records.js';
import type { KafkaRecord } from '../records/record-batch.js';
import { TRACE_TOPIC, decodeTraceEvent, traceKey } from '../records/trace-records.js';
import { describeStep, TimelineBuilder, type TimelineStep, TRACE_TOOL_CLIENT } from '../trace/timeline.js';
import { type Common, clientCommand, common, integer, keyValue, repeatable, timestamp } from './args.js';
import { jsonLine, out } from './io.js';

/** How far before a record's timestamp its events are looked for. */
const LOOK_BEHIND_MS = 5 * 60 * 1000;

interface Found {
  readonly partition: number;
  readonly offset: number;
  readonly record: KafkaRecord;
  /** A delay record (franz-delay-ms / franz-deliver-at): consumers read it once delivered. */
  readonly delayed: boolean;
}

/** Reads `topic`/`partition` from `from` (inclusive) below `to`, batch by batch, control records included. */
async function* scan(client: Client, topic: string, partition: number, from: number, to: number): AsyncGenerator<FetchedPartition> {
  let at = from;
  let partitionMaxBytes = 1024 * 1024;
  while (at < to) {
    const [res] = await client.fetch(topic, new Map([[partition, at]]), { partitionMaxBytes });
    if (res === undefined) return;
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `read ${topic}-${partition}`);
    if (res.truncated) partitionMaxBytes *= 2;
    else if (res.nextOffset <= at) return;
    yield res;
    at = res.nextOffset;
  }
}

async function offsetAt(client: Client, topic: string, partition: number, time: number): Promise<number> {
  const r = (await client.listOffsets(topic, [partition], time)).get(partition);
  if (r === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${partition}`);
  return r.offset;
}

/** The record at `offset` of a partition, delay records included; null when it is not there (any more). */
async function recordAt(client: Client, topic: string, partition: number, offset: number): Promise<Found | null> {
  const end = await offsetAt(client, topic, partition, LATEST_TIMESTAMP);
  if (offset >= end) return null;
  for await (const res of scan(client, topic, partition, offset, offset + 1)) {
    const plain = res.records.find((r) => r.offset === offset);
    if (plain !== undefined) return { partition, offset, record: plain, delayed: false };
    const control = res.controlRecords.find((r) => r.offset === offset);
    if (control !== undefined) {
      const d = decodeDelayedRecord(control);
      if (d === null) return null;
      return {
        partition,
        offset,
        record: { offset, timestamp: d.timestamp, key: d.key, value: d.value, headers: d.headers },
        delayed: true,
      };
    }
  }
  return null;
}

function header(r: KafkaRecord, key: string): string | undefined {
  const h = r.headers.find((x) => x.key === key);
  return h?.value?.toString('utf8');
}

/** The records of `topic` (or one partition) in the time range whose key (and headers) match. */
async function findByKey(
  client: Client,
  topic: string,
  only: number | undefined,
  key: string | undefined,
  headers: ReadonlyArray<[string, string]>,
  since: number,
  until: number | undefined,
  max: number,
): Promise<Found[]> {
  const meta = await client.topic(topic, { refresh: true });
  const partitions = only !== undefined ? [only] : meta.partitions.map((p) => p.partition);
  const found: Found[] = [];
  const matches = (r: KafkaRecord): boolean =>
    (key === undefined || r.key?.toString('utf8') === key) && headers.every(([k, v]) => header(r, k) === v);
  for (const p of partitions) {
    const from = await offsetAt(client, topic, p, since);
    if (from < 0) continue;
    const end = until === undefined ? await offsetAt(client, topic, p, LATEST_TIMESTAMP) : await offsetAt(client, topic, p, until);
    const to = end < 0 ? await offsetAt(client, topic, p, LATEST_TIMESTAMP) : end;
    for await (const res of scan(client, topic, p, from, to)) {
      for (const r of res.records) {
        if (r.offset >= from && r.offset < to && matches(r)) found.push({ partition: p, offset: r.offset, record: r, delayed: false });
      }
      for (const c of res.controlRecords) {
        const d = c.offset >= from && c.offset < to ? decodeDelayedRecord(c) : null;
        if (d === null) continue;
        const rec = { offset: c.offset, timestamp: d.timestamp, key: d.key, value: d.value, headers: d.headers };
        if (matches(rec)) found.push({ partition: p, offset: c.offset, record: rec, delayed: true });
      }
      if (found.length >= max) return found.slice(0, max);
    }
  }
  return found;
}

/** A record's timeline: the trace partition of its partition, read from `since`. */
async function timeline(
  client: Client,
  topic: string,
  f: Found,
  since: number | undefined,
  until: number | undefined,
): Promise<{ steps: TimelineStep[]; readOffset: number | undefined }> {
  const delayedFrom = header(f.record, DELAYED_FROM_HEADER);
  const builder = new TimelineBuilder({
    topic,
    partition: f.partition,
    offset: f.offset,
    delayedFrom: delayedFrom === undefined ? undefined : Number(delayedFrom),
    delayRecord: f.delayed,
  });
  let meta: Awaited<ReturnType<Client['topic']>>;
  try {
    meta = await client.topic(TRACE_TOPIC, { refresh: true });
  } catch (err) {
    if (err instanceof KafkaError && err.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return { steps: [], readOffset: undefined };
    throw err;
  }
  const tp = statePartitionFor(traceKey(topic, f.partition), meta.partitions.length);
  const original = Number(header(f.record, ORIGINAL_TIMESTAMP_HEADER) ?? Number.NaN);
  const earliest = Number.isNaN(original) ? f.record.timestamp : Math.min(original, f.record.timestamp);
  const from = await offsetAt(client, TRACE_TOPIC, tp, since ?? Math.max(0, earliest - LOOK_BEHIND_MS));
  if (from >= 0) {
    const end = until === undefined ? -1 : await offsetAt(client, TRACE_TOPIC, tp, until);
    const to = end >= 0 ? end : await offsetAt(client, TRACE_TOPIC, tp, LATEST_TIMESTAMP);
    const key = traceKey(topic, f.partition);
    for await (const res of scan(client, TRACE_TOPIC, tp, from, to)) {
      for (const r of res.records) {
        if (r.offset < from || r.offset >= to || r.key?.toString('utf8') !== key) continue;
        const e = decodeTraceEvent(r.value);
        if (e !== null) builder.offer(e);
      }
    }
  }
  return { steps: builder.steps(), readOffset: builder.readOffset };
}

function show(value: Buffer | null): string {
  if (value === null) return 'null';
  const s = value.toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `0x${value.toString('hex')}`;
}

async function print(c: Common, topic: string, f: Found, t: { steps: TimelineStep[]; readOffset: number | undefined }): Promise<void> {
  const r = f.record;
  if (c.json) {
    await out(
      jsonLine({
        topic,
        partition: f.partition,
        offset: f.offset,
        readOffset: t.readOffset ?? null,
        delayed: f.delayed,
        key: r.key?.toString('utf8') ?? null,
        timestamp: r.timestamp,
        steps: t.steps.map((s) => ({ lagMs: s.lagMs, ...s.event, ...(s.groups === undefined ? {} : { groups: s.groups }) })),
      }),
    );
    return;
  }
  const lines = [
    `${topic}-${f.partition}@${f.offset}${f.delayed ? ' (delayed)' : ''}  key ${show(r.key)}  timestamp ${new Date(r.timestamp).toISOString()}`,
  ];
  if (t.steps.length === 0) lines.push('  no trace events (is franz.trace.enable on for the topic? was the batch sampled?)');
  for (const s of t.steps) lines.push(`  ${new Date(s.time).toISOString()}  +${s.lagMs} ms  ${describeStep(s)}`);
  await out(`${lines.join('\n')}\n`);
}

export function traceCommand(): CommandUnknownOpts {
  return clientCommand('trace')
    .description("a record's timeline from message trace (franz.trace.enable): produced, delayed, fetched by which groups, committed")
    .argument('<topic>', 'topic')
    .option('--partition <P>', 'the partition (with --offset; with --key, only this one)', integer(0))
    .option('--offset <O>', 'the record at this offset', integer(0))
    .option('--key <K>', 'the records with this key (UTF-8), over --since .. --until')
    .option('--header <k=v>', 'only records with this header (repeatable)', repeatable(keyValue))
    .option('--since <time>', 'look from this time (ms since the epoch or an ISO date)', timestamp)
    .option('--until <time>', 'look up to this time', timestamp)
    .option('-n, --max <N>', 'with --key: at most this many records', integer(1), 10)
    .action(async (topic, opts, cmd) => {
      const c = common(opts);
      if (opts.offset === undefined && opts.key === undefined && opts.header === undefined) {
        cmd.error('error: name a record: --partition P --offset O, or --key K / --header k=v');
      }
      if (opts.offset !== undefined && opts.partition === undefined) cmd.error('error: --offset needs --partition');
      const client = new Client({ brokers: c.brokers, clientId: TRACE_TOOL_CLIENT });
      try {
        let found: Found[];
        if (opts.offset !== undefined) {
          const one = await recordAt(client, topic, opts.partition!, opts.offset);
          if (one === null) {
            throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `${topic}-${opts.partition} has no record at offset ${opts.offset}`);
          }
          found = [one];
        } else {
          const since = opts.since ?? EARLIEST_TIMESTAMP;
          found = await findByKey(client, topic, opts.partition, opts.key, opts.header ?? [], since, opts.until, opts.max);
          if (found.length === 0 && !c.json) await out('no record matches\n');
        }
        for (const f of found) await print(c, topic, f, await timeline(client, topic, f, opts.since, opts.until));
      } finally {
        await client.close();
      }
    });
}
