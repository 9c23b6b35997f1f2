/**
 * Message trace's record format (franz's own; Kafka has no message trace).
 *
 * With `franz.trace.enable` on for a topic, the broker writes one **trace event** per produced
 * batch (as sampled by `franz.trace.sampling.ratio`), per partition of each Fetch answer that
 * gave a consumer records, per committed offset, and per delayed record scheduled and delivered,
 * to the internal topic `__franz_trace`. An event is one record:
 *
 *   key       = "<topic>/<partition>" of the partition the event is about (topic names cannot
 *               hold '/'), so every event of a partition lands in one trace partition, in the
 *               order the broker wrote them
 *   value     = the event as JSON (below): any client can read the trace topic (kcat -C -t
 *               __franz_trace), and fields can be added without a version change
 *   timestamp = the event's time (the broker's clock), so ListOffsets by time finds where the
 *               events of a moment start
 *
 * Events name offset ranges, not records: one produce event covers its batch, one fetch event
 * what one answer held; a client's consecutive batches (or fetches) of a partition within one
 * flush share one event, each later one a triple in `more`. `franz trace` turns them into a
 * record's timeline (src/trace/timeline.ts).
 */

export const TRACE_TOPIC = '__franz_trace';

/** Who sent a request: the client id it named and the address it came from (host without port). */
export interface TraceClient {
  readonly client: string;
  readonly address: string;
}

/**
 * The later batches of a range event (produce, fetch) that one client's consecutive requests
 * made within one flush of the trace: per batch, its first offset, milliseconds after the event's
 * `time`, and its bytes, flat ([offset, ms, bytes, offset, ms, bytes, ...]). The event's own
 * `time` and `bytes` are then its first batch's; `last` and `records` cover them all.
 */
export type LaterBatches = number[];

/** A batch (or a request's batches for one partition) appended for a producer, and the ones it appended right after. */
export interface ProduceEvent extends TraceClient {
  readonly type: 'produce';
  readonly topic: string;
  readonly partition: number;
  readonly first: number;
  readonly last: number;
  readonly records: number;
  readonly bytes: number;
  readonly time: number;
  /** Idempotent and transactional producers: id, epoch and the first batch's base sequence. */
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly sequence?: number;
  readonly transactionalId?: string;
  /** Batches the same producer appended next, within the same flush (sequences follow the offsets). */
  readonly more?: LaterBatches;
}

/** A produce event as the Produce handler fills it in (its offsets once appended). */
export interface MutableProduceEvent {
  readonly type: 'produce';
  readonly topic: string;
  readonly partition: number;
  first: number;
  last: number;
  records: number;
  readonly bytes: number;
  readonly time: number;
  readonly client: string;
  readonly address: string;
  readonly producerId: number | undefined;
  readonly producerEpoch: number | undefined;
  readonly sequence: number | undefined;
  readonly transactionalId: string | undefined;
  more: LaterBatches | undefined;
}

/** Records of one partition sent to a consumer in a Fetch answer: offsets first..last. */
export interface FetchEvent extends TraceClient {
  readonly type: 'fetch';
  readonly topic: string;
  readonly partition: number;
  readonly first: number;
  readonly last: number;
  readonly bytes: number;
  readonly time: number;
  /** The groups whose member this client (client id and address) is, as the broker knows them. */
  readonly groups: readonly string[];
  readonly readCommitted: boolean;
  /** The same client's next fetches of the partition, each from where the previous one ended, within the same flush. */
  readonly more?: LaterBatches;
}

/** A group committed `offset` (the next record it will read) for a partition. */
export interface CommitEvent extends TraceClient {
  readonly type: 'commit';
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly group: string;
  readonly member: string;
  readonly time: number;
  readonly transactionalId?: string;
}

/** A delayed record (at `offset`) was stored, to be delivered at `due` (or, a cancel, to cancel). */
export interface DelayEvent {
  readonly type: 'delay';
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly due: number;
  readonly cancel: boolean;
  readonly time: number;
}

/** The delayed record at `from` was delivered: appended to its partition at `offset`. */
export interface DeliverEvent {
  readonly type: 'deliver';
  readonly topic: string;
  readonly partition: number;
  readonly from: number;
  readonly offset: number;
  readonly due: number;
  readonly time: number;
}

export type TraceEvent = ProduceEvent | FetchEvent | CommitEvent | DelayEvent | DeliverEvent;

const TYPES = new Set(['produce', 'fetch', 'commit', 'delay', 'deliver']);

/** The trace record key of a partition's events. */
export function traceKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function encodeTraceEvent(e: TraceEvent): Buffer {
  return Buffer.from(JSON.stringify(e));
}

/** The event a trace record holds, or null when it is not one (a record some other writer put there). */
export function decodeTraceEvent(value: Buffer | null): TraceEvent | null {
  if (value === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const e = parsed as Record<string, unknown>;
  if (typeof e.type !== 'string' || !TYPES.has(e.type)) return null;
  if (typeof e.topic !== 'string' || typeof e.partition !== 'number' || typeof e.time !== 'number') return null;
  return parsed as TraceEvent;
}
