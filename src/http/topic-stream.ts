/**
 * Live streams of a topic's records for HTTP subscribers (WebSocket and Server-Sent Events):
 * records are pushed as they become readable, woken by the same high-watermark notifications that
 * answer Fetch long polls (`Log.onHighWatermark`). Each record is one JSON line, key and value in
 * the REST produce shapes (`{"type": "STRING" | "BINARY", "data"}`).
 *
 * What is read: committed records only (up to the last stable offset, aborted transactions' and
 * control records left out, delay records too: a delayed record appears once delivered), of the
 * partitions this broker leads.
 *
 * Backpressure: a subscriber whose socket does not take a line is paused, and nothing more is read
 * for it until its socket drains; it is never buffered for beyond one read (at most READ_BYTES of
 * records) plus what its socket holds. Subscribers at the same position share one read and one
 * encoding (a small per-partition cache), so a thousand tails of one topic cost one read per wakeup.
 */
import type { PartitionLogs, TopicLookup } from '../metadata/ports.js';
import { ATTR_CONTROL, decodeRecordBatches, type KafkaRecord } from '../records/record-batch.js';
import type { Log } from '../storage/log.js';
import { HttpError } from './http-server.js';

/** The most record bytes read for one subscriber at a time. */
const READ_BYTES = 256 * 1024;
/** Reads kept per partition for subscribers at the same position. */
const CACHED_READS = 8;

/** Where a subscription starts. */
export type StreamStart =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number }
  | { kind: 'timestamp'; timestamp: number };

/** A subscriber's socket, WebSocket or SSE. */
export interface StreamSink {
  /** Sends one line; false when the socket is backed up (the subscription pauses until `resume`). */
  send(line: string): boolean;
  /** Ends the stream with a reason (the partition went away). */
  end(reason: string): void;
}

interface Chunk {
  /** The offset after the last batch read. */
  next: number;
  lines: string[];
  /** Each line's offset. */
  offsets: number[];
}

/** What a stream's query asks for. */
export interface StreamQuery {
  readonly start: StreamStart;
  readonly partition: number | null;
  /** Group mode: start from this group's committed offsets and commit what was sent. */
  readonly group: string | null;
}

/**
 * Parses the stream's query: `from=earliest|latest|offset|timestamp`, `offset=N`, `timestamp=T`,
 * `partition=P`, `group=G`.
 */
export function streamQuery(q: URLSearchParams): StreamQuery {
  const group = q.get('group');
  if (group === '') throw new HttpError(400, 'group must not be empty');
  return { ...streamPosition(q), group };
}

function streamPosition(q: URLSearchParams): { start: StreamStart; partition: number | null } {
  const from = q.get('from') ?? 'latest';
  const partition = q.get('partition');
  const p = partition === null ? null : Number(partition);
  if (p !== null && (!Number.isInteger(p) || p < 0)) throw new HttpError(400, 'partition must be a whole number >= 0');
  const num = (name: string): number => {
    const v = Number(q.get(name) ?? Number.NaN);
    if (!Number.isInteger(v) || v < 0) throw new HttpError(400, `${name} must be a whole number >= 0`);
    return v;
  };
  switch (from) {
    case 'earliest':
    case 'latest':
      return { start: { kind: from }, partition: p };
    case 'offset':
      return { start: { kind: 'offset', offset: num('offset') }, partition: p };
    case 'timestamp':
      return { start: { kind: 'timestamp', timestamp: num('timestamp') }, partition: p };
    default:
      throw new HttpError(400, 'from must be earliest, latest, offset or timestamp');
  }
}

function data(b: Buffer | null): { type: 'STRING' | 'BINARY'; data: string } | null {
  if (b === null) return null;
  const s = b.toString('utf8');
  return Buffer.byteLength(s) === b.length && !s.includes('\uFFFD')
    ? { type: 'STRING', data: s }
    : { type: 'BINARY', data: b.toString('base64') };
}

/** A record as one JSON line (what streams push and the record browser answers). */
export function recordLine(topic: string, partition: number, r: KafkaRecord): string {
  return JSON.stringify({
    topic,
    partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: data(r.key),
    value: data(r.value),
    headers: r.headers.map((h) => ({ name: h.key, value: h.value === null ? null : h.value.toString('base64') })),
  });
}

/**
 * The committed records of a log from `offset`, about `maxBytes` of batches: up to the last stable
 * offset, without control batches (markers, delay records) or aborted transactions' records.
 * `next` is where to read on (past every batch looked at).
 */
export function readCommitted(log: Log, offset: number, maxBytes: number): { next: number; records: KafkaRecord[] } {
  const limit = log.lastStableOffset;
  const out: { next: number; records: KafkaRecord[] } = { next: offset, records: [] };
  if (offset >= limit) return out;
  const { batches } = decodeRecordBatches(log.readBytes(offset, maxBytes), { verifyCrc: false });
  const lastBatch = batches[batches.length - 1];
  const end = lastBatch === undefined ? offset : Math.min(limit, lastBatch.baseOffset + lastBatch.lastOffsetDelta + 1);
  const aborted = end > offset ? log.producers.abortedTransactions(offset, end) : [];
  const isAborted = (producerId: number, base: number): boolean =>
    aborted.some((a) => a.producerId === producerId && a.firstOffset <= base && base <= a.lastOffset);
  for (const b of batches) {
    if (b.baseOffset >= limit) break;
    out.next = b.baseOffset + b.lastOffsetDelta + 1;
    if ((b.attributes & ATTR_CONTROL) !== 0) continue;
    if (b.transactional && isAborted(b.producerId, b.baseOffset)) continue;
    for (const r of b.records) if (r.offset >= offset) out.records.push(r);
  }
  return out;
}

export class TopicStreams {
  private readonly cache = new WeakMap<Log, Map<number, Chunk>>();

  constructor(
    private readonly logs: PartitionLogs,
    private readonly topics: TopicLookup,
  ) {}

  /**
   * Starts streaming `topic` (one partition or all) to `sink`; returns what pauses, resumes and
   * cancels it. `resumeAt` gives a partition's committed offset in group mode (`start` where it has none).
   */
  subscribe(
    topic: string,
    partition: number | null,
    start: StreamStart,
    sink: StreamSink,
    resumeAt: (partition: number) => number | undefined = () => undefined,
  ): Subscription {
    const t = this.topics.get(topic);
    if (t === undefined || t.name.startsWith('__')) throw new HttpError(404, `no topic ${topic}`, 40403);
    if (partition !== null && partition >= t.partitions) throw new HttpError(404, `topic ${topic} has no partition ${partition}`, 40403);
    const parts = partition === null ? Array.from({ length: t.partitions }, (_, i) => i) : [partition];
    const positions = new Map<number, number>();
    for (const p of parts) {
      const log = this.logs.partition(topic, p);
      if (log === undefined) throw new HttpError(503, `this broker does not lead ${topic}-${p}: stream from its leader`, 50301);
      const committed = resumeAt(p);
      positions.set(p, committed === undefined ? this.startOf(log, start) : Math.min(committed, log.lastStableOffset));
    }
    const sub = new Subscription(this, topic, positions, sink);
    sub.pump();
    return sub;
  }

  private startOf(log: Log, start: StreamStart): number {
    switch (start.kind) {
      case 'earliest':
        return log.logStartOffset;
      case 'latest':
        return log.lastStableOffset;
      case 'offset':
        return Math.min(Math.max(start.offset, log.logStartOffset), log.lastStableOffset);
      case 'timestamp':
        return log.offsetForTimestamp(start.timestamp)?.offset ?? log.lastStableOffset;
    }
  }

  /** The log of a partition this broker still leads. */
  logOf(topic: string, partition: number): Log | undefined {
    return this.logs.partition(topic, partition);
  }

  /** The committed records from `offset` (a shared read when another subscriber made it). */
  read(topic: string, partition: number, log: Log, offset: number): Chunk {
    let reads = this.cache.get(log);
    const hit = reads?.get(offset);
    // A cached read is good while nothing more became readable than it saw.
    if (hit !== undefined && (hit.lines.length > 0 || hit.next >= log.lastStableOffset)) return hit;
    const { next, records } = readCommitted(log, offset, READ_BYTES);
    const chunk: Chunk = { next, lines: records.map((r) => recordLine(topic, partition, r)), offsets: records.map((r) => r.offset) };
    if (chunk.next === offset) return chunk;
    if (reads === undefined) {
      reads = new Map();
      this.cache.set(log, reads);
    }
    if (reads.size >= CACHED_READS) reads.delete(reads.keys().next().value!);
    reads.set(offset, chunk);
    return chunk;
  }
}

export class Subscription {
  private paused = false;
  private cancelled = false;
  private readonly waits = new Map<number, () => void>();
  /** Lines of a read not yet sent (a pause in the middle of one). */
  private backlog: Array<{ partition: number; line: string; offset: number }> = [];
  /**
   * Per partition, the offset after the last record handed to the socket, from the start position
   * on (what group mode commits).
   */
  readonly sent: Map<number, number>;

  constructor(
    private readonly streams: TopicStreams,
    private readonly topic: string,
    private readonly positions: Map<number, number>,
    private readonly sink: StreamSink,
  ) {
    this.sent = new Map(positions);
  }

  /** Sends what is readable; waits for the high watermark where nothing is. */
  pump(): void {
    if (this.cancelled || this.paused) return;
    // A read's remaining lines (the position is past them already).
    while (this.backlog.length > 0) {
      const b = this.backlog.shift()!;
      const taken = this.sink.send(b.line);
      // The backlog is the rest of one read: once it is sent, so is everything that read passed.
      this.sent.set(b.partition, this.backlog.length > 0 ? b.offset + 1 : this.positions.get(b.partition)!);
      if (!taken) {
        this.paused = true;
        return;
      }
    }
    for (const [p, at] of this.positions) {
      if (this.waits.has(p)) continue;
      const log = this.streams.logOf(this.topic, p);
      if (log === undefined) {
        this.cancel();
        this.sink.end(`this broker no longer leads ${this.topic}-${p}`);
        return;
      }
      let pos = Math.max(at, log.logStartOffset);
      for (;;) {
        const chunk = this.streams.read(this.topic, p, log, pos);
        if (chunk.next === pos) break;
        pos = chunk.next;
        this.positions.set(p, pos);
        for (let i = 0; i < chunk.lines.length; i++) {
          if (this.paused) {
            this.backlog.push({ partition: p, line: chunk.lines[i]!, offset: chunk.offsets[i]! });
            continue;
          }
          if (!this.sink.send(chunk.lines[i]!)) this.paused = true;
          this.sent.set(p, chunk.offsets[i]! + 1);
        }
        if (this.paused) return;
        this.sent.set(p, pos);
      }
      // Nothing more now: the next high-watermark move wakes this partition.
      const cancel = log.onHighWatermark(() => {
        this.waits.delete(p);
        this.pump();
      });
      this.waits.set(p, cancel);
    }
  }

  /** The socket drained: carry on. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pump();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const c of this.waits.values()) c();
    this.waits.clear();
    this.backlog = [];
  }
}
