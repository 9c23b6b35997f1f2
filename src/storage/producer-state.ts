/**
 * ProducerStateManager: per-partition state of idempotent producers, so that a retried batch is
 * answered with its original offset instead of being written twice, and a gap in sequence numbers is
 * refused with OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * For each producer id we keep its epoch and the last five batches' sequence ranges and offsets
 * (Kafka's clients keep at most five batches in flight per partition). The state is snapshotted to
 * `<20-digit offset>.snapshot` files (our own JSON content under Kafka's file name) and rebuilt at
 * start-up from the newest snapshot plus the batches after it. Not thread-safe.
 *
 * It also keeps the partition's transactions: each producer's open transaction (the offset of its
 * first transactional batch here), which bounds the last stable offset, and the transactions that
 * ended in an abort marker (Kafka's AbortedTxn), which read_committed fetches are told about.
 */
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../protocol/errors.js';
import { DELAY_CONTROL_TYPE } from '../records/delayed-records.js';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, ControlType } from '../records/record-batch.js';
import type { BatchIdentity } from './batch-facts.js';
import { segmentFileName } from './log-segment.js';

const MAX_CACHED_BATCHES = 5;
const INT32_MAX = 0x7fffffff;

interface CachedBatch {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestamp: number;
}

interface ProducerEntry {
  epoch: number;
  batches: CachedBatch[];
  lastTimestamp: number;
}

/** A transaction that ended with an abort marker: Kafka's AbortedTxn, as `.txnindex` holds it. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The abort marker's offset. */
  lastOffset: number;
  /** The last stable offset once the marker was written. */
  lastStableOffset: number;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

/** The answer for a batch that may be appended: one shared object, as check() runs for every batch. */
const APPEND: SequenceCheck = Object.freeze({ kind: 'append' });

function nextSeq(seq: number, delta: number): number {
  const n = seq + delta;
  return n > INT32_MAX ? n - INT32_MAX - 1 : n;
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Each producer's open transaction on this partition: the offset of its first batch. */
  private readonly ongoing = new Map<number, number>();
  /** Transactions that ended in an abort, in marker order. */
  private aborted: AbortedTxn[] = [];
  /** The offset of the newest snapshot on disk (0: none needed, nothing below offset 0). */
  private lastSnapshotOffset = 0;

  constructor(private readonly dir: string) {}

  get size(): number {
    return this.producers.size;
  }

  /**
   * Checks a batch against the producer's state without changing it (nor keeping `b`).
   * `delayBatch`: a control batch that holds the producer's delayed records, checked as theirs.
   */
  check(b: BatchIdentity, delayBatch = false): SequenceCheck {
    // Markers are the broker's own (the transaction coordinator's); they carry no sequence.
    if (b.producerId < 0 || ((b.attributes & ATTR_CONTROL) !== 0 && !delayBatch)) return APPEND;
    const e = this.producers.get(b.producerId);
    if (e === undefined) return APPEND;
    if (b.producerEpoch < e.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${b.producerId} epoch ${b.producerEpoch} is older than ${e.epoch}`,
      };
    }
    if (b.producerEpoch > e.epoch) {
      if (b.baseSequence !== 0) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `new epoch ${b.producerEpoch} of producer ${b.producerId} must start at sequence 0, got ${b.baseSequence}`,
        };
      }
      return APPEND;
    }
    const lastSeq = nextSeq(b.baseSequence, b.lastOffsetDelta);
    for (const c of e.batches) {
      if (c.firstSeq === b.baseSequence && c.lastSeq === lastSeq) {
        return { kind: 'duplicate', firstOffset: c.firstOffset, lastOffset: c.lastOffset };
      }
    }
    const last = e.batches[e.batches.length - 1];
    if (last === undefined || b.baseSequence === nextSeq(last.lastSeq, 1)) return APPEND;
    return {
      kind: 'error',
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `producer ${b.producerId} sent sequence ${b.baseSequence}, expected ${nextSeq(last.lastSeq, 1)}`,
    };
  }

  /**
   * Records an appended batch (copying what it keeps from `b`). A control batch needs its marker
   * type (`controlType`, ControlType): a marker ends the producer's transaction on this partition
   * and changes no sequence; a delay batch is recorded as the records it holds.
   */
  update(b: BatchIdentity, firstOffset: number, controlType = -1): void {
    if (b.producerId < 0) return;
    // A delay batch (delayed delivery) holds the producer's records: recorded as theirs.
    if ((b.attributes & ATTR_CONTROL) !== 0 && controlType !== DELAY_CONTROL_TYPE) {
      this.endTransaction(b.producerId, b.producerEpoch, firstOffset, controlType);
      return;
    }
    if ((b.attributes & ATTR_TRANSACTIONAL) !== 0 && !this.ongoing.has(b.producerId)) this.ongoing.set(b.producerId, firstOffset);
    let e = this.producers.get(b.producerId);
    if (e === undefined || b.producerEpoch > e.epoch) {
      e = { epoch: b.producerEpoch, batches: [], lastTimestamp: b.maxTimestamp };
      this.producers.set(b.producerId, e);
    }
    e.batches.push({
      firstSeq: b.baseSequence,
      lastSeq: nextSeq(b.baseSequence, b.lastOffsetDelta),
      firstOffset,
      lastOffset: firstOffset + b.lastOffsetDelta,
      timestamp: b.maxTimestamp,
    });
    if (e.batches.length > MAX_CACHED_BATCHES) e.batches.shift();
    e.lastTimestamp = b.maxTimestamp;
  }

  private endTransaction(producerId: number, epoch: number, markerOffset: number, type: number): void {
    const e = this.producers.get(producerId);
    if (e === undefined) this.producers.set(producerId, { epoch, batches: [], lastTimestamp: -1 });
    else if (epoch > e.epoch) {
      // A marker written at a bumped epoch (a fenced producer's transaction aborted): later batches
      // of the new epoch start their sequences at 0.
      e.epoch = epoch;
      e.batches = [];
    }
    const first = this.ongoing.get(producerId);
    if (first === undefined) return;
    this.ongoing.delete(producerId);
    if (type === ControlType.abort) {
      const lso = Math.min(markerOffset + 1, this.firstUnstableOffset() ?? Number.POSITIVE_INFINITY);
      this.aborted.push({ producerId, firstOffset: first, lastOffset: markerOffset, lastStableOffset: lso });
    }
  }

  /** Whether the producer has an open transaction on this partition, at this epoch. */
  inTransaction(producerId: number, epoch: number): boolean {
    return this.ongoing.has(producerId) && this.producers.get(producerId)?.epoch === epoch;
  }

  /** The first offset of the oldest open transaction on this partition, if any (it bounds the LSO). */
  firstUnstableOffset(): number | undefined {
    let min: number | undefined;
    for (const o of this.ongoing.values()) if (min === undefined || o < min) min = o;
    return min;
  }

  /**
   * The aborted transactions a read_committed fetch of [from, to) must be told about: those whose
   * records may lie in that range (their marker at or after `from`, their first batch before `to`).
   */
  abortedTransactions(from: number, to: number): AbortedTxn[] {
    // The list is in marker order: skip, by binary search, every transaction decided before
    // `from` (all of them, for a consumer at the tail), rather than walk them on every fetch.
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    const out: AbortedTxn[] = [];
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.firstOffset < to) out.push(a);
    }
    return out;
  }

  /** The aborted transaction ended by the newest abort marker, if any. */
  newestAborted(): AbortedTxn | undefined {
    return this.aborted[this.aborted.length - 1];
  }

  /** Every aborted transaction whose marker lies in [from, to). */
  abortedWithMarkerIn(from: number, to: number): AbortedTxn[] {
    return this.aborted.filter((a) => a.lastOffset >= from && a.lastOffset < to);
  }

  /** Forgets aborted transactions wholly below the log start offset (retention, DeleteRecords). */
  dropAbortedBelow(logStartOffset: number): void {
    if (this.aborted.length > 0 && this.aborted[0]!.lastOffset < logStartOffset) {
      this.aborted = this.aborted.filter((a) => a.lastOffset >= logStartOffset);
    }
  }

  /** Per producer, the last offset of its newest batch (the log cleaner keeps that batch, even emptied). */
  lastBatchOffsets(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [id, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      if (last !== undefined) out.push([id, last.lastOffset]);
    }
    return out;
  }

  /**
   * Every producer this partition knows (DescribeProducers): its epoch, the last sequence and
   * timestamp it wrote, and the first offset of its open transaction here (-1 when none).
   */
  activeProducers(): Array<{ producerId: number; epoch: number; lastSequence: number; lastTimestamp: number; txnStartOffset: number }> {
    return [...this.producers].map(([producerId, e]) => ({
      producerId,
      epoch: e.epoch,
      lastSequence: e.batches[e.batches.length - 1]?.lastSeq ?? -1,
      lastTimestamp: e.lastTimestamp,
      txnStartOffset: this.ongoing.get(producerId) ?? -1,
    }));
  }

  /** The epoch recorded for a producer, if any. */
  epochOf(producerId: number): number | undefined {
    return this.producers.get(producerId)?.epoch;
  }

  private snapshotOffsets(): number[] {
    return readdirSync(this.dir)
      .filter((f) => /^\d{20}\.snapshot$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
  }

  /**
   * Loads the newest snapshot at or below `logEndOffset` (newer ones describe a log that was cut
   * by recovery and are removed). Returns the offset the snapshot covers up to (0 if none).
   */
  load(logEndOffset: number): number {
    this.producers.clear();
    this.ongoing.clear();
    this.aborted = [];
    this.lastSnapshotOffset = 0;
    const offsets = this.snapshotOffsets();
    for (const o of offsets.filter((o) => o > logEndOffset)) unlinkSync(join(this.dir, segmentFileName(o, '.snapshot')));
    const usable = offsets.filter((o) => o <= logEndOffset);
    for (let i = usable.length - 1; i >= 0; i--) {
      const at = usable[i]!;
      try {
        const data = JSON.parse(readFileSync(join(this.dir, segmentFileName(at, '.snapshot')), 'utf8')) as {
          producers: Array<[number, ProducerEntry]>;
          ongoing?: Array<[number, number]>;
          aborted?: AbortedTxn[];
        };
        for (const [id, entry] of data.producers) this.producers.set(id, entry);
        for (const [id, first] of data.ongoing ?? []) this.ongoing.set(id, first);
        this.aborted = data.aborted ?? [];
        this.lastSnapshotOffset = at;
        return at;
      } catch {
        // A torn snapshot (crash while writing) is skipped; an older one or a replay covers it.
        this.producers.clear();
        this.ongoing.clear();
        this.aborted = [];
      }
    }
    return 0;
  }

  /**
   * Writes a snapshot covering every batch below `offset`, keeping the two newest. Like Kafka, it
   * skips the write when the newest snapshot already covers `offset` (an idle partition at a clean
   * shutdown: with thousands of partitions those writes were most of the shutdown).
   */
  snapshot(offset: number): void {
    if (offset === this.lastSnapshotOffset) return;
    const name = join(this.dir, segmentFileName(offset, '.snapshot'));
    const tmp = name + '.tmp';
    writeFileSync(tmp, JSON.stringify({ version: 1, producers: [...this.producers], ongoing: [...this.ongoing], aborted: this.aborted }));
    renameSync(tmp, name);
    this.lastSnapshotOffset = offset;
    const offsets = this.snapshotOffsets();
    for (const o of offsets.slice(0, -2)) unlinkSync(join(this.dir, segmentFileName(o, '.snapshot')));
  }
}
