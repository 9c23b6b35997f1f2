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
  /** `time`: when the append began (the broker's clock), so it comes before what the append set off. */
  produced(e: Omit<ProduceEvent, 'type' | 'time'>, time: number): void;
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
  records: RecordInput[];
  bytes: number;
  /** A forward to another broker is under way: the next flush of this partition waits for it. */
  sending: boolean;
}

export class Tracer implements TraceRecorder {
  private readonly pending = new Map<number, Pending>();
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly groupCache = new Map<string, { groups: string[]; at: number }>();
  private partitions = 0;
  private lastCreate = Number.NEGATIVE_INFINITY;
  private stopped = false;
  /** Events written, and events dropped (no trace partition at hand for too long). */
  written = 0;
  dropped = 0;

  constructor(private readonly ports: TracerPorts) {}

  produceRatio(topic: string): number {
    if (!this.traced(topic)) return 0;
    const t = this.ports.topics.get(topic)!;
    return Number(topicConfigValue(this.ports.config, t, 'franz.trace.sampling.ratio').value);
  }

  traced(topic: string): boolean {
    if (topic.startsWith('__')) return false;
    const t = this.ports.topics.get(topic);
    return t !== undefined && topicConfigValue(this.ports.config, t, 'franz.trace.enable').value === 'true';
  }

  produced(e: Omit<ProduceEvent, 'type' | 'time'>, time: number): void {
    this.add({ type: 'produce', ...e, time });
  }

  fetched(e: Omit<FetchEvent, 'type' | 'time' | 'groups'>): void {
    this.add({ type: 'fetch', ...e, groups: this.groupsOf(e.client, e.address), time: this.ports.now() });
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
    const p = this.partitionOf(e.topic, e.partition);
    const value = encodeTraceEvent(e);
    let q = this.pending.get(p);
    if (q === undefined) {
      q = { records: [], bytes: 0, sending: false };
      this.pending.set(p, q);
    }
    q.records.push({ key: traceKey(e.topic, e.partition), value, timestamp: e.time });
    q.bytes += value.length + 64;
    this.buffered += value.length + 64;
    if (this.buffered > MAX_BUFFERED_BYTES) this.shed();
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
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
    while (this.buffered > MAX_BUFFERED_BYTES) {
      let fullest: Pending | undefined;
      for (const q of this.pending.values()) if (!q.sending && (fullest === undefined || q.bytes > fullest.bytes)) fullest = q;
      if (fullest === undefined || fullest.records.length === 0) return;
      const drop = Math.max(1, fullest.records.length >> 2);
      const gone = fullest.records.splice(0, drop);
      const bytes = gone.reduce((n, r) => n + (r.value as Buffer).length + 64, 0);
      fullest.bytes -= bytes;
      this.buffered -= bytes;
      this.dropped += gone.length;
    }
  }

  /** Appends what waits, a batch (or a few) per trace partition. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.partitions === 0 && this.pending.size > 0) this.partitionOf('', 0);
    let waiting = false;
    for (const [p, q] of this.pending) {
      if (q.records.length === 0 || q.sending) {
        waiting ||= q.records.length > 0;
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
      let n = 0;
      let bytes = 0;
      while (n < q.records.length && (n === 0 || bytes < MAX_BATCH_BYTES)) bytes += (q.records[n++]!.value as Buffer).length + 64;
      const records = q.records.splice(0, n);
      q.bytes -= bytes;
      q.sending = true;
      this.ports.forward(p, encodeRecordBatch(records)).then(
        (ok) => this.forwarded(q, records, bytes, ok),
        () => this.forwarded(q, records, bytes, false),
      );
    }
    if (waiting && !this.stopped && this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS * 10);
      this.timer.unref();
    }
  }

  private forwarded(q: Pending, records: RecordInput[], bytes: number, ok: boolean): void {
    q.sending = false;
    if (ok) {
      this.buffered -= bytes;
      this.written += records.length;
    } else {
      // Tried again with what came meanwhile, oldest first.
      q.records = records.concat(q.records);
      q.bytes += bytes;
      if (this.buffered > MAX_BUFFERED_BYTES) this.shed();
    }
    if (q.records.length > 0 && this.timer === null && !this.stopped) {
      this.timer = setTimeout(() => this.flush(), ok ? FLUSH_MS : FLUSH_MS * 10);
      this.timer.unref();
    }
  }

  private appendLocal(p: number, q: Pending): void {
    const log = this.ports.logs.partition(TRACE_TOPIC, p)!;
    const leaderEpoch = this.ports.logs.leaderEpochOf(TRACE_TOPIC, p);
    let from = 0;
    while (from < q.records.length) {
      let to = from;
      let size = 0;
      while (to < q.records.length && (to === from || size < MAX_BATCH_BYTES)) {
        size += (q.records[to]!.value as Buffer).length + 64;
        to++;
      }
      const chunk = q.records.slice(from, to);
      const r = log.appendAsLeader(encodeRecordBatch(chunk), { leaderEpoch, origin: 'coordinator' });
      if (r.errorCode !== ErrorCode.NONE) {
        // The events are observations, not acknowledged records: they are not held on to.
        this.ports.log.warn('trace events not appended', { partition: p, errorCode: r.errorCode, events: chunk.length });
        this.dropped += chunk.length;
      } else this.written += chunk.length;
      from = to;
    }
    this.buffered -= q.bytes;
    q.records = [];
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
