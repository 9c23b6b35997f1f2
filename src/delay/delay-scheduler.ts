/**
 * DelayScheduler: delivers delayed records when they are due (franz's delay queue; Kafka has none).
 *
 * A delayed record is stored in its partition inside a delay batch (records/delayed-records.ts),
 * invisible to consumers; Log.appendFromClient tells the scheduler its offset and due time
 * (`scheduled`), and the scheduler files it in the DelayIndex (delay-index.ts), a timing wheel of
 * minute, hour and day bucket files. Buckets come into memory a minute ahead, in a heap by due
 * time; when a record is due the scheduler reads it back from its delay batch and appends it to the
 * same partition as an ordinary record (key, value and headers as produced, plus
 * `franz-delayed-from` = the offset of its delay record and `franz-original-timestamp`), stamped
 * with the time of delivery. A record in a transaction waits until the transaction is decided and
 * is never delivered if it was aborted.
 *
 * Exactly once across crashes: the partition log holds both halves, the delayed record and its
 * delivery (which names the delayed record), so a restart rebuilds what is pending from the log.
 * The `checkpoint` bounds how much of each log a restart reads: every delayed record below
 * `indexedTo` is in the bucket files, and every delivery that could matter is at or after
 * `rescanFrom` (the first delivery made from a minute bucket not yet deleted; a bucket is deleted
 * once all its records are delivered). A restart re-files the delayed records from
 * min(indexedTo, rescanFrom) on (the buckets may then hold an entry twice: loading removes
 * duplicates), collects the deliveries in that range, and skips those entries.
 *
 * Memory: the records due within the next two minutes (about 100 bytes each) and the entries
 * written in the last second; the rest is on disk. Main thread only. Single node: in a cluster
 * franz does not honour delay headers yet.
 */
import { DELAYED_FROM_HEADER, decodeDelayedRecord, ORIGINAL_TIMESTAMP_HEADER } from '../records/delayed-records.js';
import type { Logger } from '../logger.js';
import type { PartitionLogs } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { ATTR_CONTROL, decodeRecordBatches, encodeRecordBatch, type KafkaRecord, type RecordBatch } from '../records/record-batch.js';
import type { Log } from '../storage/log.js';
import {
  bucketOf,
  type DelayCancel,
  type DelayCheckpoint,
  type DelayEntry,
  DelayIndex,
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
} from './delay-index.js';

/** Bucket files come into memory (minutes), are split into minute files (hours), into hour files (days) this far ahead. */
const MINUTE_AHEAD_MS = MINUTE_MS;
const HOUR_AHEAD_MS = HOUR_MS;
const DAY_AHEAD_MS = DAY_MS;
/** How often queued index entries are written and the checkpoint is stored. */
const CHECKPOINT_EVERY_MS = 1000;
/** The longest pause between ticks, and the most records delivered in one. */
const MAX_SLEEP_MS = 50;
const MAX_PER_TICK = 20_000;
/** A delivery's batch holds at most this many records. */
const MAX_BATCH_RECORDS = 500;
/** A record whose transaction is undecided, or whose append failed, is looked at again after this. */
const RETRY_MS = 50;
const FAILED_RETRY_MS = 1000;
const DELIVERY_PREFILTER = Buffer.from(DELAYED_FROM_HEADER);

export interface DelayPorts {
  readonly logs: PartitionLogs;
  readonly log: Logger;
  /** franz.delay.max.ms: a cancel matters this long (every record it can cancel is due by then). */
  readonly maxDelayMs: number;
  /**
   * A cluster broker: it delivers for the partitions it leads, each under a ref of its current
   * leadership (`lead`, `release`), and finds what waits by reading the whole log when it becomes
   * leader; the checkpoint's rescan is a single node's.
   */
  readonly clustered: boolean;
  now(): number;
  /** Told of each delivery appended (message trace): the delay record's offset and where it was delivered. */
  readonly delivered?: (
    topic: string,
    partition: number,
    deliveries: ReadonlyArray<{ from: number; offset: number; dueMs: number }>,
  ) => void;
}

interface Pending extends DelayEntry {
  /** The minute bucket the entry counts against (its file is deleted once all are delivered). */
  readonly minute: number;
}

export interface DelayStats {
  /** Records due within the loaded window (in memory). */
  loaded: number;
  delivered: number;
  /** The due time of the next record in memory, or null. */
  nextDueMs: number | null;
  /** Delivery lag (delivered minus due, ms) of the most recent tick's records: the largest. */
  lastLagMs: number;
}

/** Whether `a` comes before `b`: by due time, then (records due together) by offset. */
function before(a: Pending, b: Pending): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.offset < b.offset);
}

/** A binary min-heap of pending entries by due time, then offset. */
class DueHeap {
  private readonly a: Pending[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Pending | undefined {
    return this.a[0];
  }
  push(e: Pending): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, a[p]!)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }
  pop(): Pending | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && before(a[r]!, a[l]!) ? r : l;
      if (!before(a[c]!, last)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

export class DelayScheduler {
  readonly index: DelayIndex;
  private readonly heap = new DueHeap();
  /** Minute buckets with start before this are in memory; hours before minutesOpenUntil and days before hoursOpenUntil are split. */
  private loadedUntil = 0;
  private minutesOpenUntil = 0;
  private hoursOpenUntil = 0;
  /** Undelivered entries per loaded minute bucket. */
  private readonly remaining = new Map<number, number>();
  /** Per loaded minute bucket: each partition's first delivery from it (its log offset). */
  private readonly firstDelivery = new Map<number, Map<number, number>>();
  /** While starting: entries already in memory, and deliveries found in the logs. */
  private startup: { seen: Set<string>; delivered: Set<string> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wakeAt = Number.POSITIVE_INFINITY;
  private lastCheckpointMs = 0;
  private delivered = 0;
  private lastLagMs = 0;
  private stopped = false;
  /** Cluster: the partitions this broker leads, each with the ref of this leadership. */
  private readonly current = new Map<string, number>();
  /** Per partition: each cancelled key (hex) and its latest cancel. */
  private readonly cancels = new Map<number, Map<string, DelayCancel>>();
  private lastExpiryMs = 0;
  /** The checkpoint being stored, if one is. */
  private checkpointing: Promise<void> | null = null;
  /** The last delay batch read, per partition: deliveries of one batch's records read it once. */
  private readonly batchCache = new Map<number, RecordBatch>();

  constructor(
    dir: string,
    private readonly ports: DelayPorts,
  ) {
    this.index = new DelayIndex(dir);
  }

  /**
   * Rebuilds what is pending: re-files the delayed records each partition's log holds past its
   * checkpoint, notes the deliveries there, loads the buckets that are near, and starts ticking.
   */
  start(): void {
    const now = this.ports.now();
    const cp = this.index.readCheckpoint();
    // The cancels still in force, the latest per key; the file keeps only those.
    for (const c of this.index.readCancels()) if (c.untilMs > now) this.applyCancel(c, false);
    this.index.rewriteCancels(this.allCancels());
    const delivered = new Set<string>();
    const refile: DelayEntry[] = [];
    const scannedFrom = new Map<number, number>();
    for (const { ref, topic, partition } of this.ports.clustered ? [] : this.index.partitions()) {
      const log = this.ports.logs.partition(topic, partition);
      if (log === undefined) continue;
      const from = Math.max(log.logStartOffset, Math.min(cp.indexedTo[ref] ?? 0, cp.rescanFrom[ref] ?? Number.POSITIVE_INFINITY));
      scannedFrom.set(ref, from);
      this.scanLog(log, ref, from, refile, delivered, now);
    }
    // The windows start at the oldest bucket on disk, so that what fell due while the broker
    // was down is loaded first.
    const oldest = (level: 'm' | 'h' | 'd', size: number, floor: number): number => {
      const b = this.index.buckets(level);
      return b.length === 0 ? floor : Math.min(b[0]! * size, floor);
    };
    this.loadedUntil = oldest('m', MINUTE_MS, Math.floor(now / MINUTE_MS) * MINUTE_MS);
    this.minutesOpenUntil = Math.max(this.loadedUntil, oldest('h', HOUR_MS, Math.floor(now / HOUR_MS) * HOUR_MS));
    this.hoursOpenUntil = Math.max(this.minutesOpenUntil, oldest('d', DAY_MS, Math.floor(now / DAY_MS) * DAY_MS));
    this.startup = { seen: new Set(), delivered };
    this.advance(now);
    // The minute buckets on disk may hold records delivered before the restart: until each is
    // gone, a later restart must look for deliveries from where this one did.
    for (const minute of this.remaining.keys()) this.firstDelivery.set(minute, new Map(scannedFrom));
    for (const e of refile) this.place(e, now);
    this.startup = null;
    this.checkpointNow(now);
    if (refile.length > 0 || delivered.size > 0) {
      this.ports.log.info('delayed delivery resumed', { refiled: refile.length, deliveredFound: delivered.size, loaded: this.heap.size });
    }
    this.arm(now);
  }

  /** Stops ticking and stores a last checkpoint (after one under way). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.checkpointing;
    try {
      this.checkpointNow(this.ports.now());
    } catch (err) {
      this.ports.log.warn('could not store the delay checkpoint', { err: String(err) });
    }
  }

  /**
   * Cluster: this broker now leads a partition. Its log (when it ever held a delay batch) is read
   * whole for what waits: every delay record that no delivery in the log names, filed under a new
   * ref, and the cancels. Deliveries an old leader appended and nobody replicated were truncated
   * with its log, so they are delivered again here, once.
   */
  lead(topic: string, partition: number): void {
    const log = this.ports.logs.partition(topic, partition);
    const key = `${topic}\u0000${partition}`;
    this.current.delete(key);
    if (log === undefined || !log.hasDelayBatches) return;
    const now = this.ports.now();
    const ref = this.index.newRef(topic, partition);
    this.current.set(key, ref);
    const refile: DelayEntry[] = [];
    const delivered = new Set<string>();
    this.scanLog(log, ref, log.logStartOffset, refile, delivered, now);
    let n = 0;
    for (const e of refile) {
      if (delivered.has(`${e.ref}:${e.offset}`)) continue;
      this.place(e, now);
      n++;
    }
    if (n > 0) this.ports.log.info('delayed records found as the new leader', { topic, partition, waiting: n });
    this.arm(now);
  }

  /** Cluster: another broker leads the partition now; what was filed for it here is dropped when due. */
  release(topic: string, partition: number): void {
    this.current.delete(`${topic}\u0000${partition}`);
  }

  /** The ref new entries of a partition go under (cluster: its leadership's). */
  private refOf(topic: string, partition: number): number {
    if (!this.ports.clustered) return this.index.refFor(topic, partition);
    const key = `${topic}\u0000${partition}`;
    let ref = this.current.get(key);
    if (ref === undefined) {
      ref = this.index.newRef(topic, partition);
      this.current.set(key, ref);
    }
    return ref;
  }

  /** Log.onDelayed: delayed records (and cancels) were appended to a partition. */
  scheduled(topic: string, partition: number, due: ReadonlyArray<{ offset: number; dueMs: number; cancelKey?: Buffer }>): void {
    const ref = this.refOf(topic, partition);
    const now = this.ports.now();
    for (const d of due) {
      if (d.cancelKey !== undefined)
        this.applyCancel({ ref, key: d.cancelKey, offset: d.offset, untilMs: now + this.ports.maxDelayMs }, true);
      else this.place({ dueMs: d.dueMs, offset: d.offset, ref }, now);
    }
    this.arm(now);
  }

  /** Records a cancel (the latest of its key wins); `persist`: queue it for the `cancels` file. */
  private applyCancel(c: DelayCancel, persist: boolean): void {
    let byKey = this.cancels.get(c.ref);
    if (byKey === undefined) {
      byKey = new Map();
      this.cancels.set(c.ref, byKey);
    }
    const k = c.key.toString('hex');
    const before = byKey.get(k);
    if (before !== undefined && before.offset >= c.offset) return;
    byKey.set(k, c);
    if (persist) this.index.addCancel(c);
  }

  private allCancels(): DelayCancel[] {
    return [...this.cancels.values()].flatMap((m) => [...m.values()]);
  }

  /** Whether a record of `key` at `offset` was cancelled by a later cancel of its partition. */
  private cancelled(ref: number, key: Buffer | null, offset: number): boolean {
    if (key === null) return false;
    const c = this.cancels.get(ref)?.get(key.toString('hex'));
    return c !== undefined && c.offset > offset;
  }

  stats(): DelayStats {
    return { loaded: this.heap.size, delivered: this.delivered, nextDueMs: this.heap.peek()?.dueMs ?? null, lastLagMs: this.lastLagMs };
  }

  /** Files an entry in the finest open bucket; one due within the loaded window also goes into memory. */
  private place(e: DelayEntry, now: number): void {
    if (e.dueMs < this.loadedUntil) {
      // Counted against the current minute at the earliest: older minutes' files may be gone.
      const minute = Math.max(bucketOf('m', e.dueMs).n, Math.floor(now / MINUTE_MS));
      if (!this.admit(e)) return;
      this.index.add(`m-${minute}`, e);
      this.remaining.set(minute, (this.remaining.get(minute) ?? 0) + 1);
      this.heap.push({ ...e, minute });
      return;
    }
    const level = e.dueMs < this.minutesOpenUntil ? 'm' : e.dueMs < this.hoursOpenUntil ? 'h' : 'd';
    this.index.add(bucketOf(level, e.dueMs).name, e);
  }

  /** While starting: false for an entry already in memory or already delivered. */
  private admit(e: DelayEntry): boolean {
    if (this.startup === null) return true;
    const key = `${e.ref}:${e.offset}`;
    if (this.startup.seen.has(key) || this.startup.delivered.has(key)) return false;
    this.startup.seen.add(key);
    return true;
  }

  /** Moves the windows: days split into hours, hours into minutes, minutes loaded, as they come near. */
  private advance(now: number): void {
    let split = false;
    while (this.hoursOpenUntil <= now + DAY_AHEAD_MS) {
      const name = bucketOf('d', this.hoursOpenUntil).name;
      this.hoursOpenUntil += DAY_MS;
      split = this.split(name, now) || split;
    }
    while (this.minutesOpenUntil <= now + HOUR_AHEAD_MS) {
      const name = bucketOf('h', this.minutesOpenUntil).name;
      this.minutesOpenUntil += HOUR_MS;
      split = this.split(name, now) || split;
    }
    while (this.loadedUntil <= now + MINUTE_AHEAD_MS) {
      const b = bucketOf('m', this.loadedUntil);
      this.loadedUntil += MINUTE_MS;
      this.load(b.name, b.n, now);
    }
    if (split) this.index.flush();
  }

  /** Re-files a coarse bucket's entries in finer ones; its file goes once they are written. */
  private split(name: string, now: number): boolean {
    const entries = this.index.read(name);
    if (entries.length === 0) {
      this.index.remove(name);
      return false;
    }
    for (const e of entries) this.place(e, now);
    // The finer files durable before the coarse one goes (once an hour or a day: on the loop).
    this.index.flush();
    this.index.syncWrittenNow();
    this.index.remove(name);
    return true;
  }

  /** Brings a minute bucket into memory, without the duplicates a restart may have written. */
  private load(name: string, minute: number, now: number): void {
    const seen = new Set<string>();
    let n = 0;
    for (const e of this.index.read(name)) {
      const key = `${e.ref}:${e.offset}`;
      if (seen.has(key) || !this.admit(e)) continue;
      seen.add(key);
      this.heap.push({ ...e, minute });
      n++;
    }
    this.remaining.set(minute, (this.remaining.get(minute) ?? 0) + n);
    this.maybeDone(minute, now);
  }

  /** A minute bucket in the past with nothing left to deliver: its file goes. */
  private maybeDone(minute: number, now: number): void {
    if ((this.remaining.get(minute) ?? 0) > 0 || minute >= Math.floor(now / MINUTE_MS)) return;
    this.remaining.delete(minute);
    this.firstDelivery.delete(minute);
    this.index.remove(`m-${minute}`);
  }

  private arm(now: number): void {
    if (this.stopped) return;
    const top = this.heap.peek();
    const sleep = Math.max(0, Math.min(MAX_SLEEP_MS, top === undefined ? MAX_SLEEP_MS : top.dueMs - now));
    const at = now + sleep;
    if (this.timer !== null && at >= this.wakeAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(() => this.tick(), sleep);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    this.wakeAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    const now = this.ports.now();
    try {
      this.advance(now);
      this.deliverDue(now);
      for (const minute of [...this.remaining.keys()]) this.maybeDone(minute, now);
      if (now - this.lastCheckpointMs >= CHECKPOINT_EVERY_MS) this.checkpoint(now);
    } catch (err) {
      this.ports.log.error('delayed delivery failed; retrying', { err: String(err) });
    }
    this.arm(this.ports.now());
  }

  /** Appends every record due by `now` to its partition, a batch per partition. */
  private deliverDue(now: number): void {
    const byRef = new Map<number, Pending[]>();
    for (let n = 0; n < MAX_PER_TICK; n++) {
      const top = this.heap.peek();
      if (top === undefined || top.dueMs > now) break;
      this.heap.pop();
      const list = byRef.get(top.ref);
      if (list === undefined) byRef.set(top.ref, [top]);
      else list.push(top);
    }
    for (const [ref, entries] of byRef) this.deliverTo(ref, entries, now);
  }

  private deliverTo(ref: number, entries: Pending[], now: number): void {
    const p = this.index.partitionOf(ref);
    // Cluster: only the current leadership's entries (an older one's, or another leader's partition, are not ours).
    const ours = p !== undefined && (!this.ports.clustered || this.current.get(`${p.topic}\u0000${p.partition}`) === ref);
    const log = p === undefined || !ours ? undefined : this.ports.logs.partition(p.topic, p.partition);
    if (p === undefined || log === undefined) {
      // A deleted topic takes its delayed records with it; in a cluster, the leader delivers.
      for (const e of entries) this.done(e, now);
      return;
    }
    const out: Array<{ entry: Pending; record: Parameters<typeof encodeRecordBatch>[0][number] }> = [];
    const stable = log.lastStableOffset;
    for (const e of entries) {
      if (e.offset < log.logStartOffset) {
        this.ports.log.warn('a delayed record left the log (retention) before it was due', { ...p, offset: e.offset });
        this.done(e, now);
        continue;
      }
      if (e.offset >= stable) {
        // Not committed yet (in an open transaction, or not yet durable or replicated).
        this.heap.push({ ...e, dueMs: now + RETRY_MS });
        continue;
      }
      const found = this.readDelayed(ref, log, e.offset);
      if (found === null || found === 'aborted' || found.cancel || this.cancelled(ref, found.key, e.offset)) {
        if (found === null) this.ports.log.warn('a delayed record could not be read', { ...p, offset: e.offset });
        this.done(e, now);
        continue;
      }
      const headers = [
        ...found.headers,
        { key: DELAYED_FROM_HEADER, value: Buffer.from(String(e.offset)) },
        { key: ORIGINAL_TIMESTAMP_HEADER, value: Buffer.from(String(found.timestamp)) },
      ];
      out.push({ entry: e, record: { key: found.key, value: found.value, headers, timestamp: now } });
    }
    for (let i = 0; i < out.length; i += MAX_BATCH_RECORDS) {
      const chunk = out.slice(i, i + MAX_BATCH_RECORDS);
      const batch = encodeRecordBatch(
        chunk.map((c) => c.record),
        { timestamp: now },
      );
      const r = log.appendAsLeader(batch, { leaderEpoch: this.ports.logs.leaderEpochOf(p.topic, p.partition), origin: 'coordinator' });
      if (r.errorCode !== ErrorCode.NONE) {
        this.ports.log.warn('a delayed delivery was not appended; retrying', { ...p, errorCode: r.errorCode, message: r.errorMessage });
        for (const c of chunk) this.heap.push({ ...c.entry, dueMs: now + FAILED_RETRY_MS });
        continue;
      }
      this.ports.delivered?.(
        p.topic,
        p.partition,
        chunk.map((c, i) => ({ from: c.entry.offset, offset: r.baseOffset + i, dueMs: c.entry.dueMs })),
      );
      for (const c of chunk) {
        let first = this.firstDelivery.get(c.entry.minute);
        if (first === undefined) {
          first = new Map();
          this.firstDelivery.set(c.entry.minute, first);
        }
        if (!first.has(ref)) first.set(ref, r.baseOffset);
        this.lastLagMs = Math.max(0, now - c.entry.dueMs);
        this.delivered++;
        this.done(c.entry, now);
      }
    }
  }

  private done(e: Pending, now: number): void {
    this.remaining.set(e.minute, (this.remaining.get(e.minute) ?? 1) - 1);
    this.maybeDone(e.minute, now);
  }

  /** The record of the delay record at `offset`; 'aborted' when its transaction was aborted; null when unreadable. */
  private readDelayed(ref: number, log: Log, offset: number): ReturnType<typeof decodeDelayedRecord> | 'aborted' {
    let batch = this.batchCache.get(ref);
    if (batch === undefined || offset < batch.baseOffset || offset > batch.baseOffset + batch.lastOffsetDelta) {
      const bytes = log.readBytes(offset, 1, true);
      batch = decodeRecordBatches(bytes, { verifyCrc: false }).batches.find(
        (b) => b.baseOffset <= offset && offset <= b.baseOffset + b.lastOffsetDelta,
      );
      if (batch === undefined) return null;
      this.batchCache.set(ref, batch);
    }
    if (batch.transactional) {
      const pid = batch.producerId;
      if (log.producers.abortedTransactions(offset, offset + 1).some((a) => a.producerId === pid && a.firstOffset <= offset)) {
        return 'aborted';
      }
    }
    const rec = batch.records.find((r: KafkaRecord) => r.offset === offset);
    return rec === undefined ? null : decodeDelayedRecord(rec);
  }

  /** Re-files the delay records of `log` from `from`, and notes the deliveries there. */
  private scanLog(log: Log, ref: number, from: number, refile: DelayEntry[], delivered: Set<string>, now: number): void {
    let at = from;
    while (at < log.logEndOffset) {
      const bytes = log.readBytes(at, 1 << 20, true);
      if (bytes.length === 0) break;
      const { batches } = decodeRecordBatches(bytes, { verifyCrc: false });
      if (batches.length === 0) break;
      for (const b of batches) {
        at = b.baseOffset + b.lastOffsetDelta + 1;
        if (b.baseOffset + b.lastOffsetDelta < from) continue;
        if ((b.attributes & ATTR_CONTROL) !== 0) {
          for (const r of b.records) {
            const d = decodeDelayedRecord(r);
            if (d === null || r.offset < from) continue;
            // A cancel's time in force runs from now: its record's time may be far in the past.
            if (d.cancel && d.key !== null)
              this.applyCancel({ ref, key: d.key, offset: r.offset, untilMs: now + this.ports.maxDelayMs }, true);
            else refile.push({ dueMs: d.dueMs, offset: r.offset, ref });
          }
          continue;
        }
        // Deliveries are the scheduler's own uncompressed batches: others need no look.
        if (b.compression !== 0 || bytes.indexOf(DELIVERY_PREFILTER) < 0) continue;
        for (const r of b.records) {
          for (const h of r.headers) {
            if (h.key === DELAYED_FROM_HEADER && h.value !== null) delivered.add(`${ref}:${h.value.toString()}`);
          }
        }
      }
    }
  }

  /**
   * Writes queued entries, then, once they are fsynced (off the event loop), stores how far each
   * partition is filed and where deliveries begin. One at a time; an older checkpoint is still a
   * correct one (a restart then reads more of the logs).
   */
  private checkpoint(now: number): void {
    if (this.checkpointing !== null) return;
    const cp = this.captureCheckpoint(now);
    this.checkpointing = this.index
      .syncWritten()
      .then(() => this.index.writeCheckpointAsync(cp))
      .catch((err: unknown) => this.ports.log.warn('could not store the delay checkpoint', { err: String(err) }))
      .finally(() => {
        this.checkpointing = null;
      });
  }

  /** checkpoint on the event loop (start and stop). */
  private checkpointNow(now: number): void {
    const cp = this.captureCheckpoint(now);
    this.index.syncWrittenNow();
    this.index.writeCheckpoint(cp);
  }

  /** Flushes the queued entries and says what a checkpoint taken now holds. */
  private captureCheckpoint(now: number): DelayCheckpoint {
    this.lastCheckpointMs = now;
    if (now - this.lastExpiryMs >= MINUTE_MS) {
      this.lastExpiryMs = now;
      for (const byKey of this.cancels.values()) for (const [k, c] of byKey) if (c.untilMs <= now) byKey.delete(k);
    }
    const indexedTo: Record<string, number> = {};
    for (const { ref, topic, partition } of this.index.partitions()) {
      const log = this.ports.logs.partition(topic, partition);
      if (log !== undefined) indexedTo[ref] = log.logEndOffset;
    }
    this.index.flush();
    const rescanFrom: Record<string, number> = {};
    for (const first of this.firstDelivery.values()) {
      for (const [ref, offset] of first) rescanFrom[ref] = Math.min(rescanFrom[ref] ?? Number.POSITIVE_INFINITY, offset);
    }
    return { indexedTo, rescanFrom };
  }
}
