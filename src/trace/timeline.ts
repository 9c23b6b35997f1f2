/**
 * A record's timeline, assembled from trace events (records/trace-records.ts) read in the order
 * the broker wrote them: produced (the batch that holds it), scheduled and delivered when it was
 * delayed, fetched by consumers (each answer that held it), committed past by each group (the
 * first commit beyond it per group: from then on the group has consumed it).
 *
 * A delayed record has two offsets: the delay record's (what the producer was answered) and the
 * delivered record's (what consumers read). Either names the record: from the delay record the
 * timeline follows the delivery to its offset; a delivered record's own `franz-delayed-from`
 * header names its delay record (`delayedFrom`).
 */
import type { FetchEvent, ProduceEvent, TraceEvent } from '../records/trace-records.js';

/** The client id `franz trace` reads with: its own reads are not part of any record's story. */
export const TRACE_TOOL_CLIENT = 'franz-trace';

export interface TimelineStep {
  readonly time: number;
  /** Milliseconds since the record was produced (since the first step when no produce was traced). */
  readonly lagMs: number;
  readonly event: TraceEvent;
  /** For a fetch: the groups its client is a member of, as the broker knew or as the client's commits tell. */
  readonly groups?: readonly string[];
}

export interface TimelineTarget {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The record is a delivery of the delay record at this offset (its franz-delayed-from header). */
  readonly delayedFrom?: number;
  /** The record is a delay record: consumers read it only once delivered (at another offset). */
  readonly delayRecord?: boolean;
}

/** Events of the same millisecond, in the order they happen. */
const RANK: Record<TraceEvent['type'], number> = { produce: 0, delay: 1, deliver: 2, fetch: 3, commit: 4 };

/** Collects the events of one record as they are read; `steps()` gives its timeline. */
export class TimelineBuilder {
  private readonly kept: TraceEvent[] = [];
  private readonly committed = new Set<string>();
  /** The offset consumers read the record at (undefined while a delay record waits). */
  private readable: number | undefined;
  /** Offsets that name the record as produced: its own, and its delay record's. */
  private readonly produced: Set<number>;

  constructor(private readonly target: TimelineTarget) {
    this.readable = target.delayRecord === true ? undefined : target.offset;
    this.produced = new Set([target.offset]);
    if (target.delayedFrom !== undefined) this.produced.add(target.delayedFrom);
  }

  /** Offers an event (in the order the trace holds them). */
  offer(e: TraceEvent): void {
    if (e.topic !== this.target.topic || e.partition !== this.target.partition) return;
    if ('client' in e && e.client === TRACE_TOOL_CLIENT) return;
    switch (e.type) {
      case 'produce':
        for (const o of this.produced) if (e.first <= o && o <= e.last) return void this.kept.push(batchOf(e, o));
        return;
      case 'delay':
        if (this.produced.has(e.offset)) this.kept.push(e);
        return;
      case 'deliver':
        if (e.from === this.target.offset) this.readable = e.offset;
        if (e.from === this.target.offset || e.offset === this.target.offset) this.kept.push(e);
        return;
      case 'fetch':
        if (this.readable !== undefined && e.first <= this.readable && this.readable <= e.last) this.kept.push(batchOf(e, this.readable));
        return;
      case 'commit':
        // The first commit past the record, per group: the group has consumed it.
        if (this.readable !== undefined && e.offset > this.readable && !this.committed.has(e.group)) {
          this.committed.add(e.group);
          this.kept.push(e);
        }
        return;
    }
  }

  /** The offset consumers read the record at, once known. */
  get readOffset(): number | undefined {
    return this.readable;
  }

  steps(): TimelineStep[] {
    const events = [...this.kept].sort((a, b) => a.time - b.time || RANK[a.type] - RANK[b.type]);
    const start = events.find((e) => e.type === 'produce')?.time ?? events[0]?.time ?? 0;
    // A fetch whose client the broker did not place in a group (in a cluster the group's
    // coordinator may be another broker): the groups that client committed for.
    const committedBy = new Map<string, Set<string>>();
    for (const e of events) {
      if (e.type !== 'commit') continue;
      const who = `${e.client}\u0000${e.address}`;
      const set = committedBy.get(who) ?? new Set<string>();
      set.add(e.group);
      committedBy.set(who, set);
    }
    return events.map((event) => {
      const step = { time: event.time, lagMs: event.time - start, event };
      if (event.type !== 'fetch') return step;
      const groups = event.groups.length > 0 ? event.groups : [...(committedBy.get(`${event.client}\u0000${event.address}`) ?? [])];
      return { ...step, groups };
    });
  }
}

/**
 * The batch of a range event that holds `offset`: the event itself, or one of its later batches
 * (`more`) with its own offsets, time and size.
 */
export function batchOf<E extends ProduceEvent | FetchEvent>(e: E, offset: number): E {
  const more = e.more;
  if (more === undefined || more.length === 0) return e;
  let at = -1;
  for (let i = 0; i < more.length; i += 3) if (more[i]! <= offset) at = i;
  const end = (i: number): number => (i + 3 < more.length ? more[i + 3]! - 1 : e.last);
  if (at < 0) {
    const last = more[0]! - 1;
    const first = { ...e, last, more: undefined };
    return e.type === 'produce' ? { ...first, records: last - e.first + 1 } : first;
  }
  const first = more[at]!;
  const last = end(at);
  const batch = { ...e, first, last, time: e.time + more[at + 1]!, bytes: more[at + 2]!, more: undefined };
  if (e.type !== 'produce') return batch;
  const p = e as ProduceEvent;
  return { ...batch, records: last - first + 1, ...(p.sequence === undefined ? {} : { sequence: p.sequence + (first - e.first) }) } as E;
}

/** One line of a step, for people. */
export function describeStep(s: TimelineStep): string {
  const e = s.event;
  switch (e.type) {
    case 'produce': {
      const producer =
        e.producerId === undefined
          ? ''
          : `, producer ${e.producerId} epoch ${e.producerEpoch} sequence ${e.sequence}${e.transactionalId === undefined ? '' : ` transactional id ${e.transactionalId}`}`;
      return `produced by ${e.client || '-'} (${e.address}): batch ${e.first}..${e.last}, ${e.records} records, ${e.bytes} B${producer}`;
    }
    case 'delay':
      return e.cancel ? `stored as a cancel at ${e.offset}` : `stored at ${e.offset} for delivery at ${new Date(e.due).toISOString()}`;
    case 'deliver':
      return `delivered from ${e.from} to offset ${e.offset} (due ${new Date(e.due).toISOString()}, ${e.time - e.due} ms after)`;
    case 'fetch': {
      const groups = s.groups ?? e.groups;
      const of = groups.length === 0 ? 'no group' : `group ${groups.join(', ')}`;
      return `fetched by ${e.client || '-'} (${e.address}) of ${of}: offsets ${e.first}..${e.last}, ${e.bytes} B${e.readCommitted ? ', read_committed' : ''}`;
    }
    case 'commit':
      return `committed by group ${e.group} (${e.client || '-'}, ${e.address}${e.member === '' ? '' : `, member ${e.member}`}): offset ${e.offset}${e.transactionalId === undefined ? '' : `, in transaction ${e.transactionalId}`}`;
  }
}
