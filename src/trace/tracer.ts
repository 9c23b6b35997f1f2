/**
 * Tracer: message trace's writer (franz's own; Kafka has none). The handlers tell it what they did
 * for a topic whose `franz.trace.enable` is on (records/trace-records.ts has the events); it
 * keeps the events in memory for at most FLUSH_MS and appends them to `__franz_trace` as one
 * batch per trace partition, so a traced produce costs a JSON line and a share of one append,
 * never an append of its own, and never waits for one.
 *
 * Cheap by design: events describe batches and offset ranges, not records; produce events are
 * sampled (`franz.trace.sampling.ratio`, per batch); fetch and commit events are not (a consumer's
 * fetch covers many batches, and a timeline without its deliveries would say little). Internal
 * topics are never traced (a fetch of `__franz_trace` must not write to it).
 *
 * Best effort by design, too: a trace event is not an acknowledged record. The events of the
 * last FLUSH_MS die with the process, and while the trace partition is not at hand (being made,
 * or led by an unreachable broker) at most MAX_BUFFERED_BYTES wait; past that the oldest go, and
 * `dropped` counts them.
 *
 * The trace topic is made on first use with `franz.trace.topic.partitions` partitions and
 * `franz.trace.retention.ms`; an event goes to the partition its key (`topic/partition`) hashes
 * to, as a coordinator key does (statePartitionFor), so `franz trace` knows where to look.
 */
import { topicConfigValue } from '../metadata/topic-configs.js';
import { statePartitionFor } from '../metadata/state-topic.js';
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { InternalTopics, PartitionLogs } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { encodeRecordBatch, type RecordInput } from '../records/record-batch.js';
import {
  type CommitEvent,
  type DelayEvent,
  type DeliverEvent,
  encodeTraceEvent,
  type FetchEvent,
  type MutableProduceEvent,
  type ProduceEvent,
  TRACE_TOPIC,
  type TraceEvent,
  traceKey,
} from '../records/trace-records.js';

/** How long an event waits in memory before its batch is appended. */
const FLUSH_MS = 100;
/** A batch of trace events stays below this (the trace topic's max.message.bytes is Kafka's 1 MiB). */
const MAX_BATCH_BYTES = 512 * 1024;
/** Events waiting for their trace partition beyond this are dropped, oldest first. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** How long the groups of a client are remembered. */
const GROUPS_TTL_MS = 5000;
const MAX_GROUP_CACHE = 10_000;
/** How long a topic's trace settings are used before they are looked up again. */
const SETTINGS_TTL_MS = 1000;
const MAX_SETTINGS = 100_000;
/** A trace topic that could not be made (or is not seen yet) is asked for again after this. */
const CREATE_RETRY_MS = 1000;

export interface TracerPorts {
  readonly logs: PartitionLogs;
  readonly topics: InternalTopics;
  readonly config: BrokerConfig;
  readonly log: Logger;
  /** The groups whose member this client (client id and host) is, where this broker coordinates them. */
  readonly groupsOf: (clientId: string, host: string) => string[];
  readonly now: () => number;
  /**
   * Cluster mode: appends a batch of events to a trace partition another broker leads. Resolves
   * true once appended (false: not now; they wait and are tried again).
   */
  readonly forward?: (partition: number, batch: Buffer) => Promise<boolean>;
}

/** What the handlers tell the tracer (BrokerServices.trace). */
export interface TraceRecorder {
  /** The produce sampling ratio of a topic: 0 when it is not traced (then nothing else is asked). */
  produceRatio(topic: string): number;
  /** Whether fetches of and commits to a topic are traced. */
  traced(topic: string): boolean;
  /** A batch appended: `time` is when its append began, so it comes before what the append set off. Kept, not copied. */
  produced(e: MutableProduceEvent): void;
  fetched(e: Omit<FetchEvent, 'type' | 'time' | 'groups'>): void;
  committed(e: Omit<CommitEvent, 'type' | 'time'>): void;
}

/** A recorder that traces nothing (tests of handlers, tools). */
export const NO_TRACE: TraceRecorder = {
  produceRatio: () => 0,
  traced: () => false,
  produced: () => undefined,
  fetched: () => undefined,
  committed: () => undefined,
};

interface Pending {
  events: TraceEvent[];
  bytes: number;
  /** A forward to another broker is under way: the next flush of this partition waits for it. */
  sending: boolean;
}

/** A range event still open to the same client's next batch (until the flush). */
type Open = { -readonly [K in keyof ProduceEvent]: ProduceEvent[K] } | { -readonly [K in keyof FetchEvent]: FetchEvent[K] };

/** What an event is counted as against the buffer's bound before it is encoded, and each later batch of one. */
const EVENT_BYTES = 256;
const LATER_BATCH_BYTES = 24;

export class Tracer implements TraceRecorder {
  private readonly pending = new Map<number, Pending>();
  /** The range events of this flush interval, by partition and client: a next batch joins its event. */
  private readonly open = new Map<string, Open>();
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly groupCache = new Map<string, { groups: string[]; at: number }>();
  private readonly settings = new Map<string, { ratio: number; until: number }>();
  private partitions = 0;
  private lastCreate = Number.NEGATIVE_INFINITY;
  private stopped = false;
  /** Events written, and events dropped (no trace partition at hand for too long). */
  written = 0;
  dropped = 0;

  constructor(private readonly ports: TracerPorts) {}

  produceRatio(topic: string): number {
    return Math.max(0, this.settingsOf(topic).ratio);
  }

  traced(topic: string): boolean {
    return this.settingsOf(topic).ratio >= 0;
  }

  /**
   * A topic's trace settings (ratio -1: not traced), looked up at most once a second per topic:
   * this is asked for every partition of every request, and a config change may take a second.
   */
  private settingsOf(topic: string): { ratio: number; until: number } {
    const now = Date.now();
    const hit = this.settings.get(topic);
    if (hit !== undefined && now < hit.until) return hit;
    const t = topic.startsWith('__') ? undefined : this.ports.topics.get(topic);
    const on = t !== undefined && topicConfigValue(this.ports.config, t, 'franz.trace.enable').value === 'true';
    const settings = {
      ratio: on ? Number(topicConfigValue(this.ports.config, t, 'franz.trace.sampling.ratio').value) : -1,
      until: now + SETTINGS_TTL_MS,
    };
    if (this.settings.size >= MAX_SETTINGS) this.settings.clear();
    this.settings.set(topic, settings);
    return settings;
  }

  produced(e: MutableProduceEvent): void {
    // The same producer (client, address, id, epoch, transaction) as the partition's open event, continuing its range.
    const key = `p\u0000${e.topic}\u0000${e.partition}`;
    const o = this.open.get(key);
    if (
      o !== undefined &&
      o.type === 'produce' &&
      o.client === e.client &&
      o.address === e.address &&
      o.producerId === e.producerId &&
      o.producerEpoch === e.producerEpoch &&
      o.transactionalId === e.transactionalId &&
      this.extend(key, e.first, e.last, e.records, e.bytes, e.time)
    ) {
      return;
    }
    // Its absent fields are undefined rather than missing (one shape for the handler's hot path).
    const event = e as unknown as Open & ProduceEvent;
    this.open.set(key, event);
    this.add(event);
  }

  fetched(e: Omit<FetchEvent, 'type' | 'time' | 'groups'>): void {
    const time = this.ports.now();
    const key = `f\u0000${e.topic}\u0000${e.partition}\u0000${e.client}\u0000${e.address}`;
    const o = this.open.get(key);
    if (o !== undefined && o.type === 'fetch' && o.readCommitted === e.readCommitted && this.extend(key, e.first, e.last, 0, e.bytes, time))
      return;
    const event: Open = {
      type: 'fetch',
      topic: e.topic,
      partition: e.partition,
      first: e.first,
      last: e.last,
      bytes: e.bytes,
      client: e.client,
      address: e.address,
      readCommitted: e.readCommitted,
      groups: this.groupsOf(e.client, e.address),
      time,
    };
    this.open.set(key, event);
    this.add(event);
  }

  /** Adds a batch to the open event of its client when it follows that event's range; false when it does not. */
  private extend(key: string, first: number, last: number, records: number, bytes: number, time: number): boolean {
    const o = this.open.get(key);
    if (o === undefined || o.last + 1 !== first) return false;
    o.more ??= [];
    o.more.push(first, time - o.time, bytes);
    o.last = last;
    if (o.type === 'produce') o.records += records;
    this.buffered += LATER_BATCH_BYTES;
    this.pendingOf(this.partitionOf(o.topic, o.partition)).bytes += LATER_BATCH_BYTES;
    return true;
  }

  committed(e: Omit<CommitEvent, 'type' | 'time'>): void {
    this.add({ type: 'commit', ...e, time: this.ports.now() });
  }

  /** Delayed records stored (Log.onDelayed), when their topic is traced. */
  scheduled(topic: string, partition: number, due: ReadonlyArray<{ offset: number; dueMs: number; cancelKey?: Buffer }>): void {
    if (!this.traced(topic)) return;
    const time = this.ports.now();
    for (const d of due) {
      const e: DelayEvent = { type: 'delay', topic, partition, offset: d.offset, due: d.dueMs, cancel: d.cancelKey !== undefined, time };
      this.add(e);
    }
  }

  /** Delayed records delivered (DelayScheduler), when their topic is traced. */
  delivered(topic: string, partition: number, deliveries: ReadonlyArray<{ from: number; offset: number; dueMs: number }>): void {
    if (!this.traced(topic)) return;
    const time = this.ports.now();
    for (const d of deliveries) {
      const e: DeliverEvent = { type: 'deliver', topic, partition, from: d.from, offset: d.offset, due: d.dueMs, time };
      this.add(e);
    }
  }

  private groupsOf(clientId: string, host: string): string[] {
    const key = `${clientId}\u0000${host}`;
    const now = this.ports.now();
    const hit = this.groupCache.get(key);
    if (hit !== undefined && now - hit.at < GROUPS_TTL_MS) return hit.groups;
    if (this.groupCache.size >= MAX_GROUP_CACHE) this.groupCache.clear();
    const groups = this.ports.groupsOf(clientId, host);
    this.groupCache.set(key, { groups, at: now });
    return groups;
  }

  private add(e: TraceEvent): void {
    if (this.stopped) return;
    const q = this.pendingOf(this.partitionOf(e.topic, e.partition));
    q.events.push(e);
    q.bytes += EVENT_BYTES;
    this.buffered += EVENT_BYTES;
    if (this.buffered > MAX_BUFFERED_BYTES) this.shed();
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  private pendingOf(p: number): Pending {
    let q = this.pending.get(p);
    if (q === undefined) {
      q = { events: [], bytes: 0, sending: false };
      this.pending.set(p, q);
    }
    return q;
  }

  /**
   * The trace partition of a partition's events. The trace topic is made on first use; until it
   * is seen (a cluster makes it through etcd) events are placed by the partition count it is
   * being made with, and wait.
   */
  private partitionOf(topic: string, partition: number): number {
    if (this.partitions === 0) {
      const t = this.ports.topics.get(TRACE_TOPIC);
      if (t !== undefined) this.partitions = t.partitions;
      else {
        const now = this.ports.now();
        if (now - this.lastCreate >= CREATE_RETRY_MS) {
          this.lastCreate = now;
          this.createTopic();
          this.partitions = this.ports.topics.get(TRACE_TOPIC)?.partitions ?? 0;
        }
      }
    }
    const count = this.partitions || this.ports.config.num('franz.trace.topic.partitions');
    return statePartitionFor(traceKey(topic, partition), count);
  }

  private createTopic(): void {
    const { config } = this.ports;
    const r = this.ports.topics.createInternalTopic(
      TRACE_TOPIC,
      config.num('franz.trace.topic.partitions'),
      config.num('franz.trace.topic.replication.factor'),
      {
        'cleanup.policy': 'delete',
        'retention.ms': config.get('franz.trace.retention.ms'),
        'segment.bytes': String(64 * 1024 * 1024),
      },
    );
    if (r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      this.ports.log.warn('could not create the trace topic', { topic: TRACE_TOPIC, errorCode: r.errorCode, message: r.message });
    }
  }

  /** Drops the oldest events of the fullest partition until the buffer is within its bound. */
  private shed(): void {
    this.open.clear();
    while (this.buffered > MAX_BUFFERED_BYTES) {
      let fullest: Pending | undefined;
      for (const q of this.pending.values()) if (!q.sending && (fullest === undefined || q.bytes > fullest.bytes)) fullest = q;
      if (fullest === undefined || fullest.events.length === 0) return;
      const gone = fullest.events.splice(0, Math.max(1, fullest.events.length >> 2));
      const bytes = gone.reduce((n, e) => n + sizeOf(e), 0);
      fullest.bytes -= bytes;
      this.buffered -= bytes;
      this.dropped += gone.length;
    }
  }

  /** Appends what waits, a batch (or a few) per trace partition. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // A batch after the flush starts an event of its own: an event's later batches are its flush interval's.
    this.open.clear();
    if (this.partitions === 0 && this.pending.size > 0) this.partitionOf('', 0);
    let waiting = false;
    for (const [p, q] of this.pending) {
      if (q.events.length === 0 || q.sending) {
        waiting ||= q.events.length > 0;
        continue;
      }
      const log = this.ports.logs.partition(TRACE_TOPIC, p);
      if (log !== undefined) {
        this.appendLocal(p, q);
        continue;
      }
      if (this.ports.forward === undefined || this.partitions === 0) {
        waiting = true;
        continue;
      }
      // One batch at a time per partition, in order; what does not fit goes with the next flush.
      const records = toRecords(q.events, MAX_BATCH_BYTES);
      const events = q.events.splice(0, records.length);
      const bytes = events.reduce((n, e) => n + sizeOf(e), 0);
      q.bytes -= bytes;
      q.sending = true;
      this.ports.forward(p, encodeRecordBatch(records)).then(
        (ok) => this.forwarded(q, events, bytes, ok),
        () => this.forwarded(q, events, bytes, false),
      );
    }
    if (waiting && !this.stopped && this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS * 10);
      this.timer.unref();
    }
  }

  private forwarded(q: Pending, events: TraceEvent[], bytes: number, ok: boolean): void {
    q.sending = false;
    if (ok) {
      this.buffered -= bytes;
      this.written += events.length;
    } else {
      // Tried again with what came meanwhile, oldest first.
      q.events = events.concat(q.events);
      q.bytes += bytes;
      if (this.buffered > MAX_BUFFERED_BYTES) this.shed();
    }
    if (q.events.length > 0 && this.timer === null && !this.stopped) {
      this.timer = setTimeout(() => this.flush(), ok ? FLUSH_MS : FLUSH_MS * 10);
      this.timer.unref();
    }
  }

  private appendLocal(p: number, q: Pending): void {
    const log = this.ports.logs.partition(TRACE_TOPIC, p)!;
    const leaderEpoch = this.ports.logs.leaderEpochOf(TRACE_TOPIC, p);
    let from = 0;
    while (from < q.events.length) {
      const chunk = toRecords(from === 0 ? q.events : q.events.slice(from), MAX_BATCH_BYTES);
      const r = log.appendAsLeader(encodeRecordBatch(chunk), { leaderEpoch, origin: 'coordinator' });
      if (r.errorCode !== ErrorCode.NONE) {
        // The events are observations, not acknowledged records: they are not held on to.
        this.ports.log.warn('trace events not appended', { partition: p, errorCode: r.errorCode, events: chunk.length });
        this.dropped += chunk.length;
      } else this.written += chunk.length;
      from += chunk.length;
    }
    this.buffered -= q.bytes;
    q.events = [];
    q.bytes = 0;
  }

  /** Appends what waits locally and stops taking events. */
  stop(): void {
    this.flush();
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

function sizeOf(e: TraceEvent): number {
  return EVENT_BYTES + (e.type === 'produce' || e.type === 'fetch' ? ((e.more?.length ?? 0) / 3) * LATER_BATCH_BYTES : 0);
}

/** The first events (at least one) as trace records, up to about `maxBytes`. */
function toRecords(events: readonly TraceEvent[], maxBytes: number): RecordInput[] {
  const out: RecordInput[] = [];
  let size = 0;
  for (const e of events) {
    if (out.length > 0 && size >= maxBytes) break;
    const value = encodeTraceEvent(e);
    size += value.length + 64;
    out.push({ key: traceKey(e.topic, e.partition), value, timestamp: e.time });
  }
  return out;
}
