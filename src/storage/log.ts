/**
 * Log: the append-only, segmented log of one partition, in a directory named `<topic>-<partition>`.
 *
 * Offsets: the log start offset (first readable), the log end offset (LEO, next to assign), the
 * recovery point (everything below it is fsynced) and the high watermark (what consumers may read).
 * On a single node the high watermark is the LEO in no-fsync mode and the recovery point in durable
 * mode, so a consumer never sees a record that a crash could still take away.
 *
 * Durability uses group commit: appends only write to the page cache; `flushTo(offset)` starts at
 * most one fdatasync at a time per log and every append made meanwhile rides on the next one.
 * Not thread-safe: all calls come from the main thread.
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertCurrent, scanSegment, type ValidatedBatches } from '../native/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { ControlType, controlRecordType, type ControlTypeValue, decodeRecordBatches } from '../records/record-batch.js';
import { DELAY_CONTROL_TYPE, type DelayPolicy, mayHoldDelayed } from '../records/delayed-records.js';
import type { FileRegion } from '../protocol/primitives.js';
import * as facts from './batch-facts.js';
import { LogSegment, segmentFileName } from './log-segment.js';
import { formatEpochCheckpoint, LEADER_EPOCH_CHECKPOINT, LeaderEpochCache } from './leader-epoch-cache.js';
import {
  appendAsFollower,
  appendAsLeader,
  appendMarker,
  delayBatchesOf,
  type AppendOrigin,
  type AppendResult,
  type LeaderAppendOptions,
  leaderPrecheck,
  maxDecompressedBytes,
  refused,
} from './log-validator.js';
import type { Recompressor } from './recompressor.js';
import { ATTR_COMPRESSION_MASK, ATTRIBUTES_AT, type CompressionCodec } from '../records/record-batch.js';
import { appendTxnIndex, syncTxnIndex } from './transaction-index.js';
import { type AbortedTxn, ProducerStateManager } from './producer-state.js';
import { asOffset } from './types.js';
import { writeFileDurably } from './durable-file.js';
import type { CleanResult, CleanTask } from './cleaner-task.js';

export type { AppendResult } from './log-validator.js';

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  maxMessageBytes: number;
  retentionMs: number;
  retentionBytes: number;
  /**
   * cleanup.policy includes `delete`: retention.ms and retention.bytes remove old segments. A topic
   * that is only `compact` keeps every segment until a cleaner compacts it (Kafka's rule), so that
   * the latest value of a key is never deleted for its age.
   */
  deleteRetention: boolean;
  /** cleanup.policy includes `compact`: the log cleaner keeps the latest record of each key (LogCleaner). */
  compact: boolean;
  /** delete.retention.ms: how long a tombstone stays after its segment was last written. */
  deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio: the share of dirty bytes that starts a clean. */
  minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: younger records are not compacted. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: dirty records older than this are compacted whatever the ratio. */
  maxCompactionLagMs: number;
  /** Durable mode: fsync before acknowledging and before exposing records to consumers. */
  durable: boolean;
  flushMessages: number;
  flushMs: number;
  /** message.timestamp.type=LogAppendTime: the broker stamps batches with the append time. */
  logAppendTime: boolean;
  /**
   * compression.type as a codec number (0 none ... 4 zstd), or -1 for `producer`: batches from
   * clients in another codec are recompressed into this one (appendFromClient).
   */
  compression: number;
  /** The level for `compression` (compression.gzip.level, compression.zstd.level), or undefined for the codec's default. */
  compressionLevel: number | undefined;
  /** Delayed delivery (franz.delay.enable, franz.delay.max.ms, franz.delivery.delay.ms), or null when off. */
  delivery: DelayPolicy | null;
}

export interface LogRead {
  errorCode: number;
  regions: FileRegion[];
  bytes: number;
  highWatermark: number;
  logStartOffset: number;
  lastStableOffset: number;
  /** read_committed reads: the aborted transactions whose records may be in what was read; else null. */
  abortedTransactions: AbortedTxn[] | null;
  /** The offset after the last batch read (the fetch offset when nothing was). */
  nextOffset: number;
}

/** Told how long each fsync of a segment took, in seconds (the broker's metrics). */
let fsyncObserver: ((seconds: number) => void) | null = null;

export function observeFsync(fn: ((seconds: number) => void) | null): void {
  fsyncObserver = fn;
}

/** What a log took in and gave out since it was opened (the broker's metrics). */
export interface LogTraffic {
  bytesIn: number;
  messagesIn: number;
  bytesOut: number;
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** How waitForHighWatermark ended. */
export type HighWatermarkWait = 'reached' | 'timed-out' | 'not-leader';

export class Log {
  private segments: LogSegment[] = [];
  logStartOffset = 0;
  recoveryPoint = 0;
  readonly producers: ProducerStateManager;
  /** The leader epochs of this log's batches and where each began (OffsetForLeaderEpoch, truncation). */
  epochs!: LeaderEpochCache;
  private flushing: Promise<void> | null = null;
  private unflushedMessages = 0;
  private lastFlushMs = Date.now();
  /** Segments rolled but not yet fsynced. */
  private unflushedSegments: LogSegment[] = [];
  /** Set when an I/O error took the log offline: it then refuses appends and reads. */
  offlineError: Error | null = null;
  private readonly hwWaiters = new Set<() => void>();
  /**
   * Replication's bound on the high watermark: on a leader, the offset every in-sync replica has;
   * on a follower, the leader's high watermark (capped by what this replica has). null for a
   * partition nobody replicates (a single node): the log's own progress decides alone.
   */
  private replicaHighWatermark: number | null = null;
  /**
   * Whether this log has ever held a delay batch (delayed delivery), as the leader or a follower:
   * a partition's new leader reads such a log for what waits (DelayScheduler.lead). Kept as an
   * empty marker file, written with the first one.
   */
  hasDelayBatches = false;
  /** Whether this log may have `.txnindex` files (found at open, or written since). */
  private txnIndexFiles = false;
  /** Counts the ends of this replica's leaderships (see waitForHighWatermark). */
  private leadership = 0;
  /**
   * The log cleaner's progress (Kafka's cleaner checkpoint): every record below is clean, the
   * rest is dirty. Kept in `cleaner-offset-checkpoint` by LogManager.
   */
  firstDirtyOffset = 0;
  /** When the last clean of this log finished (ms), or -1. */
  lastCleanMs = -1;
  /** When a tombstone kept by the last clean passes delete.retention.ms, or -1 (see cleanPlan). */
  tombstoneExpiryMs = -1;
  /** Broker-side compression's worker pool (set by LogManager); null: no recompression. */
  recompressor: Recompressor | null = null;
  /**
   * Delayed delivery's scheduler (set by LogManager): told of each delayed record appended, with
   * its offset and due time. null: nobody delivers (a log opened outside a broker).
   */
  onDelayed: ((due: ReadonlyArray<{ offset: number; dueMs: number; cancelKey?: Buffer }>) => void) | null = null;
  /** Bytes and records appended (as leader or follower) and bytes read, since the log was opened. */
  readonly traffic: LogTraffic = { bytesIn: 0, messagesIn: 0, bytesOut: 0 };
  /** The last client append queued behind a recompression (appendFromClient keeps their order). */
  private appendTail: Promise<unknown> = Promise.resolve();
  private queuedAppends = 0;

  private constructor(
    readonly dir: string,
    public config: LogConfig,
  ) {
    this.producers = new ProducerStateManager(dir);
  }

  get activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  get logEndOffset(): number {
    return this.activeSegment.nextOffset;
  }

  /** What this replica has made durable (durable mode) or written: the most it could ever expose. */
  get localHighWatermark(): number {
    return this.config.durable ? Math.min(this.recoveryPoint, this.logEndOffset) : this.logEndOffset;
  }

  get highWatermark(): number {
    const local = this.localHighWatermark;
    return this.replicaHighWatermark === null ? local : Math.min(local, this.replicaHighWatermark);
  }

  /**
   * The last stable offset: below it every transaction is decided (committed or aborted), so a
   * read_committed consumer may read that far. The high watermark, or the first offset of the
   * oldest transaction still open on this partition if that is lower.
   */
  get lastStableOffset(): number {
    const hw = this.highWatermark;
    const unstable = this.producers.firstUnstableOffset();
    return unstable === undefined ? hw : Math.min(hw, unstable);
  }

  /** Sets replication's bound on the high watermark (see replicaHighWatermark); null removes it. */
  setReplicaHighWatermark(offset: number | null): void {
    if (offset === this.replicaHighWatermark) return;
    const before = this.highWatermark;
    this.replicaHighWatermark = offset;
    if (this.highWatermark !== before) this.notifyHighWatermark();
  }

  /**
   * How an acks=all wait ends: `reached` once the high watermark passes the offset, `timed-out`
   * after `timeoutMs`, `not-leader` when this replica stopped leading first (or the log closed).
   * A replica that stops leading may be handed a high watermark by its new leader for offsets its
   * own uncommitted records held, before it truncates them: a wait of the old leadership must never
   * read that as its records being committed (Kafka fails such delayed produces the same way).
   */
  waitForHighWatermark(offset: number, timeoutMs: number): Promise<HighWatermarkWait> {
    if (this.highWatermark >= offset) return Promise.resolve('reached');
    const term = this.leadership;
    return new Promise((resolve) => {
      let cancel: () => void = () => undefined;
      const timer = setTimeout(() => {
        cancel();
        resolve('timed-out');
      }, timeoutMs);
      const check = (): void => {
        if (this.leadership !== term || this.segments.length === 0) {
          clearTimeout(timer);
          resolve('not-leader');
        } else if (this.highWatermark >= offset) {
          clearTimeout(timer);
          resolve('reached');
        } else cancel = this.onHighWatermark(check);
      };
      cancel = this.onHighWatermark(check);
    });
  }

  /**
   * This replica no longer leads the partition: the acks=all waits of its leadership end now, and
   * the high watermark stays where it was until the new leader moves it. Safe on a closed log (a
   * deleted topic's leadership ends after its log is gone).
   */
  endLeadership(): void {
    this.leadership++;
    if (this.segments.length > 0) this.replicaHighWatermark = this.highWatermark;
    this.notifyHighWatermark();
  }

  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  /**
   * The largest batch the log's readers accept: twice max.message.bytes, and at least 2 MiB, so that
   * batches written before the limit was lowered can still be read and recovered.
   */
  get maxBatchBytes(): number {
    return Math.max(this.config.maxMessageBytes, 1 << 20) * 2;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Opens (or creates) the log in `dir`. Segments at or past `recoveryPoint` are CRC-checked and cut
   * after their last good batch when the previous shutdown was not clean.
   */
  static open(
    dir: string,
    config: LogConfig,
    opts: {
      recoveryPoint: number;
      logStartOffset: number;
      clean: boolean;
      firstDirtyOffset?: number;
      log?: (msg: string, extra?: object) => void;
    },
  ): Log {
    mkdirSync(dir, { recursive: true });
    const log = new Log(dir, config);
    const swappedIn = finishCleanerSwaps(dir, log.maxBatchBytes, opts.log);
    const bases = readdirSync(dir)
      .filter((f) => /^\d{20}\.log$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    // Remove index files of segments that no longer exist (a crash during deletion).
    for (const f of readdirSync(dir)) {
      if (f.endsWith('.txnindex')) log.txnIndexFiles = true;
      if (f === DELAYED_MARKER_FILE) log.hasDelayBatches = true;
      if (/^\d{20}\.(index|timeindex|txnindex)$/.test(f) && !bases.includes(Number(f.slice(0, 20)))) rmSync(join(dir, f));
    }
    let cut = false;
    for (const base of bases) {
      if (cut) {
        // Everything after a cut is past a hole: Kafka deletes such segments too.
        removeSegmentFiles(dir, base);
        opts.log?.('deleted segment after truncation point', { dir, baseOffset: base });
        continue;
      }
      const segmentEnd = bases[bases.indexOf(base) + 1] ?? Infinity;
      const recover = !opts.clean && segmentEnd > opts.recoveryPoint;
      const { segment, truncatedBytes, stopReason } = LogSegment.open(
        dir,
        asOffset(base),
        config.indexIntervalBytes,
        recover,
        log.maxBatchBytes,
      );
      if (truncatedBytes > 0) {
        opts.log?.('recovery cut the log tail', { dir, baseOffset: base, truncatedBytes, reason: stopReason });
        cut = true;
      }
      // A segment a swap completed has no index files yet.
      if (swappedIn.has(base)) segment.rewriteIndexes();
      log.segments.push(segment);
    }
    if (log.segments.length === 0) {
      const start = Math.max(0, opts.logStartOffset);
      log.segments.push(LogSegment.create(dir, asOffset(start), config.indexIntervalBytes));
    }
    log.logStartOffset = Math.max(opts.logStartOffset, log.segments[0]!.baseOffset);
    log.firstDirtyOffset = Math.min(Math.max(opts.firstDirtyOffset ?? 0, log.logStartOffset), log.logEndOffset);
    // After recovery every surviving batch has been checked, and it is on disk: it was there at start.
    log.recoveryPoint = log.logEndOffset;
    log.rebuildProducerState();
    log.syncTxnIndexes();
    log.writeLeaderEpochCheckpoint();
    log.epochs = new LeaderEpochCache(dir);
    // Recovery may have cut batches whose epochs the file still lists.
    log.epochs.truncateFromEnd(log.logEndOffset);
    return log;
  }

  private rebuildProducerState(): void {
    const from = this.producers.load(this.logEndOffset);
    const maxBatch = this.maxBatchBytes;
    for (const s of this.segments) {
      if (s.nextOffset <= from) continue;
      const b = s.scanBatches(maxBatch);
      const n = facts.batchCount(b);
      for (let k = 0; k < n; k++) {
        const base = facts.baseOffset(b, k);
        if (base < from) continue;
        const control = facts.isControl(b, k) ? controlTypeAt(s.fd, facts.position(b, k)) : -1;
        this.producers.update(facts.readIdentity(b, k, identity), base, control);
      }
    }
  }

  /** Each segment's `.txnindex` made equal to the producer state's aborted transactions (transaction-index.ts). */
  private syncTxnIndexes(): void {
    // Most logs never see a transaction: no file to read or write for them.
    if (!this.txnIndexFiles && this.producers.newestAborted() === undefined) return;
    this.txnIndexFiles = true;
    for (let i = 0; i < this.segments.length; i++) {
      const s = this.segments[i]!;
      const end = this.segments[i + 1]?.baseOffset ?? Number.MAX_SAFE_INTEGER;
      syncTxnIndex(join(this.dir, segmentFileName(s.baseOffset, '.txnindex')), this.producers.abortedWithMarkerIn(s.baseOffset, end));
    }
  }

  private writeLeaderEpochCheckpoint(): void {
    const path = join(this.dir, LEADER_EPOCH_CHECKPOINT);
    if (!existsSync(path)) writeFileSync(path, leaderEpochCheckpoint(this.segments[0]!.baseOffset));
  }

  /**
   * Makes the directory and files of a new, empty log on the libuv pool, so that `Log.open` then
   * only opens them: creating files is the slow part of making a partition (about a millisecond of
   * kernel time per file on some disks), and a topic of thousands of partitions must not hold the
   * event loop for it. `extra` are further files for the directory (name, text).
   */
  static async createFiles(dir: string, extra: ReadonlyArray<readonly [string, string]>): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const [name, text] of extra) await writeFile(join(dir, name), text);
    await writeFile(join(dir, LEADER_EPOCH_CHECKPOINT), leaderEpochCheckpoint(0));
    await writeFile(join(dir, segmentFileName(0, '.log')), '');
  }

  /**
   * Removes every batch at or after `offset` (rounded down to the start of the batch holding it): a
   * follower whose log has diverged from its new leader's (found with OffsetForLeaderEpoch). The
   * segments past it are deleted, the one holding it is cut, the recovery point, the leader epochs
   * and the producer state follow. Only for a follower: a leader's log may be being read.
   */
  truncateTo(offset: number): void {
    if (offset >= this.logEndOffset) return;
    const target = Math.max(offset, this.logStartOffset);
    while (this.segments.length > 1 && this.activeSegment.baseOffset >= target) {
      const s = this.segments.pop()!;
      this.unflushedSegments = this.unflushedSegments.filter((u) => u !== s);
      s.delete();
    }
    this.activeSegment.truncateTo(asOffset(target), this.maxBatchBytes);
    this.unflushedMessages = 0;
    if (this.recoveryPoint > this.logEndOffset) this.recoveryPoint = this.logEndOffset;
    this.epochs.truncateFromEnd(this.logEndOffset);
    this.rebuildProducerState();
    this.syncTxnIndexes();
    this.notifyHighWatermark();
  }

  /**
   * Appends records as the partition's leader, the way every write reaches the log (Produce, the
   * group coordinator's offsets): validation, policy and the append in one synchronous call, so
   * the validation's facts never outlive it (see LogValidator, log-validator.ts).
   */
  appendAsLeader(records: Buffer, opts: LeaderAppendOptions): AppendResult {
    return appendAsLeader(this, records, opts);
  }

  /**
   * A Produce request's payload for this partition. When the topic's compression.type names a
   * codec and a batch is in another, the batches are recompressed on a worker thread
   * (Recompressor) and appended when that is done: the result is then a promise. `admitted`, when
   * given, is a check still under way elsewhere (a transaction coordinator on another broker, or
   * adding the partition to a transaction): the append waits for it and is refused with its code
   * unless that is NONE. Appends keep their arrival order: while any is queued, later ones queue
   * behind it, recompressed or not.
   * Validation, policy and the key check run first, on the bytes as sent, so a refused payload is
   * refused at once; the recompressed batches are validated again as they are appended (their size
   * against max.message.bytes, zstd against the request's version). Records that cannot be decoded
   * are CORRUPT_MESSAGE; a worker that fails fails this append only (UNKNOWN_SERVER_ERROR).
   */
  appendFromClient(
    records: Buffer,
    opts: LeaderAppendOptions,
    admitted?: Promise<{ errorCode: number; errorMessage: string | null }>,
  ): AppendResult | Promise<AppendResult> {
    // Delayed delivery: a payload holding a delayed record is checked as sent, then stored with
    // its batches turned into delay batches (records/delayed-records.ts), which recompression
    // leaves alone; once appended, the scheduler is told what is due when (onDelayed).
    const delivery = this.config.delivery;
    const maxInflated = maxDecompressedBytes(this.config.maxMessageBytes);
    if (delivery === null || !mayHoldDelayed(records, delivery, maxInflated)) return this.appendPayload(records, records, opts, admitted);
    const refusal = leaderPrecheck(this, records, opts);
    if (refusal !== null) return refused(this, refusal.errorCode, refusal.errorMessage);
    const scheduled = delayBatchesOf(records, delivery, maxInflated);
    if (scheduled === null) return this.appendPayload(records, records, opts, admitted);
    if ('errorCode' in scheduled) return refused(this, scheduled.errorCode, scheduled.errorMessage);
    const appended = this.appendPayload(records, scheduled.payload, { ...opts, delayBatches: true, keysChecked: true }, admitted);
    const tell = (r: AppendResult): AppendResult => {
      // A retry already in the log was scheduled the first time.
      if (r.errorCode === ErrorCode.NONE && !r.duplicate && this.onDelayed !== null) {
        this.onDelayed(scheduled.due.map((d) => ({ offset: r.baseOffset + d.delta, dueMs: d.dueMs, cancelKey: d.cancelKey })));
      }
      return r;
    };
    return appended instanceof Promise ? appended.then(tell) : tell(appended);
  }

  /** appendFromClient's append of `payload` (the request's `records`, or what was made of them). */
  private appendPayload(
    records: Buffer,
    payload: Buffer,
    opts: LeaderAppendOptions,
    admitted: Promise<{ errorCode: number; errorMessage: string | null }> | undefined,
  ): AppendResult | Promise<AppendResult> {
    const target = this.config.compression;
    const convert = payload === records && target >= 0 && this.recompressor !== null && codecsDiffer(records, target);
    if (!convert && this.queuedAppends === 0 && admitted === undefined) return appendAsLeader(this, payload, opts);
    const refusal = leaderPrecheck(this, payload, opts);
    if (refusal !== null) return refused(this, refusal.errorCode, refusal.errorMessage);
    // The request's buffer is reused once the handler returns: what is queued holds its own copy.
    // Neither promise rejects, so that one refused early leaves nothing unhandled.
    const work: Promise<Buffer | { refused: string; errorCode: number }> = convert
      ? this.recompressor!.run(
          records,
          target as CompressionCodec,
          this.config.compressionLevel,
          maxDecompressedBytes(this.config.maxMessageBytes),
        ).then(
          (out) => (Buffer.isBuffer(out) ? out : { refused: out.refused, errorCode: ErrorCode.CORRUPT_MESSAGE }),
          (err: unknown) => ({ refused: `recompression failed: ${String(err)}`, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR }),
        )
      : Promise.resolve(payload === records ? Buffer.from(records) : payload);
    const admission = admitted?.catch((err: unknown) => ({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: String(err) }));
    this.queuedAppends++;
    const done = this.appendTail
      .then(() => Promise.all([admission, work]))
      .then(([check, out]) => {
        if (check !== undefined && check.errorCode !== ErrorCode.NONE) return refused(this, check.errorCode, check.errorMessage, false);
        return Buffer.isBuffer(out) ? appendAsLeader(this, out, { ...opts, keysChecked: true }) : refused(this, out.errorCode, out.refused);
      })
      .finally(() => {
        this.queuedAppends--;
      });
    this.appendTail = done;
    return done;
  }

  /**
   * Appends a transaction marker as the partition's leader (for the transaction coordinator): it
   * ends the producer's transaction here, and moves the last stable offset once durable.
   */
  appendMarker(
    marker: { type: ControlTypeValue; producerId: number; producerEpoch: number; coordinatorEpoch: number },
    leaderEpoch: number,
  ): AppendResult {
    return appendMarker(this, marker, leaderEpoch);
  }

  /**
   * Appends batches fetched from the partition's leader as they are: the leader's offsets (the
   * first batch must start at this log's end) and each batch's own leader epoch.
   */
  appendAsFollower(records: Buffer): AppendResult {
    return appendAsFollower(this, records);
  }

  /**
   * Appends a payload LogValidator has validated and accepted; `validated` must be the current
   * validateBatches result for it (StaleBatchesError otherwise: no await may separate the two).
   * Checks idempotent-producer sequences first; a retried batch is answered with its original
   * offsets and not written again. With `logAppendTime` >= 0 the batches are stamped with it.
   */
  appendValidated(
    payload: Buffer,
    validated: ValidatedBatches,
    leaderEpoch: number,
    logAppendTime: number,
    origin: AppendOrigin = 'client',
  ): AppendResult {
    // Before the facts are read: a stale array holds another payload's batches.
    assertCurrent(validated);
    const result: AppendResult = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: -1,
      lastOffset: -1,
      logStartOffset: this.logStartOffset,
      duplicate: false,
      logAppendTimeMs: logAppendTime,
      invalidRecords: false,
    };
    if (this.offlineError !== null) {
      result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      result.errorMessage = `log dir offline: ${this.offlineError.message}`;
      return result;
    }
    const b = validated.batches;
    const n = validated.count;
    // A client's sequences are checked; a follower records its leader's as they come, and the
    // coordinators' batches carry none.
    for (let k = 0; k < n && origin === 'client'; k++) {
      // A delay batch holds a producer's records: its sequences are checked as theirs.
      const delayBatch = facts.isControl(b, k) && controlRecordType(payload, facts.position(b, k)) === DELAY_CONTROL_TYPE;
      const check = this.producers.check(facts.readIdentity(b, k, identity), delayBatch);
      if (check.kind === 'error') {
        result.errorCode = check.errorCode;
        result.errorMessage = check.message;
        return result;
      }
      if (check.kind === 'duplicate') {
        if (n === 1) {
          result.baseOffset = check.firstOffset;
          result.lastOffset = check.lastOffset;
          result.duplicate = true;
          return result;
        }
        result.errorCode = ErrorCode.DUPLICATE_SEQUENCE_NUMBER;
        result.errorMessage = 'a retried batch arrived together with new batches';
        return result;
      }
    }
    const first = asOffset(this.logEndOffset);
    let next: number;
    try {
      this.maybeRoll(payload.length);
      next = this.activeSegment.append(payload, validated, first, leaderEpoch, logAppendTime);
    } catch (err) {
      this.takeOffline(err as Error);
      result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      result.errorMessage = (err as Error).message;
      return result;
    }
    // The rows now carry what was stored (LogAppendTime's maxTimestamp included).
    let offset: number = first;
    for (let k = 0; k < n; k++) {
      const id = facts.readIdentity(b, k, identity);
      const control = facts.isControl(b, k) ? controlRecordType(payload, facts.position(b, k)) : -1;
      const abortsBefore = control === ControlType.abort ? this.producers.newestAborted() : undefined;
      this.producers.update(id, offset, control);
      if (control === DELAY_CONTROL_TYPE && !this.hasDelayBatches) this.markDelayBatches();
      if (control === ControlType.abort) {
        // The marker ended an open transaction: its entry goes to the segment holding the marker.
        const aborted = this.producers.newestAborted();
        if (aborted !== undefined && aborted !== abortsBefore) {
          appendTxnIndex(join(this.dir, segmentFileName(this.activeSegment.baseOffset, '.txnindex')), aborted);
          this.txnIndexFiles = true;
        }
      }
      // A leader stamps its own epoch; a follower's batches carry their leader's (partitionLeaderEpoch, byte 12).
      this.epochs.assign(leaderEpoch >= 0 ? leaderEpoch : payload.readInt32BE(facts.position(b, k) + 12), offset);
      offset += id.lastOffsetDelta + 1;
    }
    result.baseOffset = first;
    result.lastOffset = next - 1;
    this.unflushedMessages += next - first;
    this.traffic.bytesIn += payload.length;
    this.traffic.messagesIn += next - first;
    if (this.config.durable) {
      // Every append is made durable promptly, acknowledged or not (acks=0): the high watermark
      // follows the fsync, so without this an acks=0 record would stay invisible to consumers.
      this.flushTo(next).catch(() => undefined);
    } else this.notifyHighWatermark();
    return result;
  }

  private markDelayBatches(): void {
    this.hasDelayBatches = true;
    writeFileDurably(join(this.dir, DELAYED_MARKER_FILE), '');
  }

  private takeOffline(err: Error): void {
    this.offlineError = err;
  }

  private maybeRoll(incoming: number): void {
    const active = this.activeSegment;
    if (active.size === 0) return;
    const tooBig = active.size + incoming > this.config.segmentBytes;
    const tooOld = Date.now() - active.createdMs >= this.config.segmentMs;
    if (!tooBig && !tooOld) return;
    this.roll();
  }

  /** Rolls the active segment once it holds `bytes` or more; nothing for a closed log. */
  rollPast(bytes: number): void {
    if (this.segments.length > 0 && this.activeSegment.size >= bytes) this.roll();
  }

  /** Starts a new active segment at the log end offset. */
  roll(): void {
    const old = this.activeSegment;
    // The rolled segment's index files get their last entries now (see LogSegment.flushIndexes).
    old.flushIndexes();
    const seg = LogSegment.create(this.dir, old.nextOffset, this.config.indexIntervalBytes);
    this.segments.push(seg);
    this.unflushedSegments.push(old);
    this.producers.snapshot(seg.baseOffset);
  }

  /** Resolves once every record below `offset` is fsynced (group commit). */
  async flushTo(offset: number): Promise<void> {
    while (this.recoveryPoint < offset) {
      if (this.flushing === null) {
        this.flushing = this.flushOnce().finally(() => {
          this.flushing = null;
        });
      }
      await this.flushing;
      if (this.offlineError !== null) throw this.offlineError;
    }
  }

  private async flushOnce(): Promise<void> {
    const target = this.logEndOffset;
    const segments = [...this.unflushedSegments, this.activeSegment];
    this.unflushedSegments = [];
    this.unflushedMessages = 0;
    this.lastFlushMs = Date.now();
    try {
      for (const s of segments) {
        const started = performance.now();
        await fdatasyncAsync(s.fd);
        fsyncObserver?.((performance.now() - started) / 1000);
      }
    } catch (err) {
      this.takeOffline(err as Error);
      return;
    }
    if (target > this.recoveryPoint) {
      this.recoveryPoint = target;
      this.notifyHighWatermark();
    }
  }

  /** For the no-fsync mode: flush when log.flush.interval.messages or .ms says so. */
  maybeScheduledFlush(now: number): Promise<void> | null {
    if (this.recoveryPoint >= this.logEndOffset) return null;
    if (this.unflushedMessages >= this.config.flushMessages || now - this.lastFlushMs >= this.config.flushMs) {
      return this.flushTo(this.logEndOffset);
    }
    return null;
  }

  /** Calls `fn` once when the high watermark next moves (long-polling fetches); returns a canceller. */
  onHighWatermark(fn: () => void): () => void {
    this.hwWaiters.add(fn);
    return () => this.hwWaiters.delete(fn);
  }

  private notifyHighWatermark(): void {
    if (this.hwWaiters.size === 0) return;
    const waiters = [...this.hwWaiters];
    this.hwWaiters.clear();
    for (const w of waiters) w();
  }

  /**
   * Reads whole batches from `offset` up to the high watermark (the log end for a follower's fetch),
   * at most `maxBytes` (but at least one batch when `minOneBatch`). Offsets past the end or before the start are OFFSET_OUT_OF_RANGE.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean, upToLogEnd = false, readCommitted = false): LogRead {
    if (this.segments.length === 0) {
      // Closed by a shutdown (or retired by a deletion) while a long-polling Fetch still held it:
      // its timer fires meanwhile and reads again. This node no longer serves the partition.
      return {
        errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        regions: [],
        bytes: 0,
        highWatermark: -1,
        logStartOffset: -1,
        lastStableOffset: -1,
        abortedTransactions: null,
        nextOffset: offset,
      };
    }
    const hw = this.highWatermark;
    const lso = this.lastStableOffset;
    const out: LogRead = {
      errorCode: ErrorCode.NONE,
      regions: [],
      bytes: 0,
      highWatermark: hw,
      logStartOffset: this.logStartOffset,
      lastStableOffset: lso,
      abortedTransactions: readCommitted ? [] : null,
      nextOffset: offset,
    };
    if (this.offlineError !== null) {
      out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      return out;
    }
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      return out;
    }
    const maxBatchBytes = this.maxBatchBytes;
    // A follower's fetch reads to the log end: the high watermark moves only once followers have the records.
    // read_committed stops at the last stable offset: nothing past an undecided transaction.
    const limit = upToLogEnd ? this.logEndOffset : readCommitted ? lso : hw;
    const below = asOffset(limit);
    let i = this.segmentIndexFor(offset);
    let at = asOffset(offset);
    let budget = maxBytes;
    while (i < this.segments.length && at < limit) {
      const seg = this.segments[i]!;
      const r = seg.read({ from: at, below, maxBytes: budget, minOneBatch: minOneBatch && out.bytes === 0, maxBatchBytes });
      if (r.region !== null) {
        out.regions.push(r.region);
        out.bytes += r.region.length;
        budget -= r.region.length;
        at = r.nextOffset;
      }
      // The next batch did not fit: reading on into a later segment would skip it.
      if (r.budgetSpent || budget <= 0) break;
      i++;
    }
    if (readCommitted && at > offset) out.abortedTransactions = this.producers.abortedTransactions(offset, at);
    out.nextOffset = at;
    this.traffic.bytesOut += out.bytes;
    return out;
  }

  /**
   * Reads whole batches from `offset` into memory, for the broker's own consumers of internal
   * topics (loading `__consumer_offsets`); clients are served file regions instead.
   */
  readBytes(offset: number, maxBytes: number, upToLogEnd = false): Buffer {
    const r = this.read(offset, maxBytes, true, upToLogEnd);
    if (r.errorCode !== ErrorCode.NONE || r.bytes === 0) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(r.bytes);
    let at = 0;
    for (const region of r.regions) {
      let done = 0;
      while (done < region.length) {
        const n = readSync(region.fd, out, at + done, region.length - done, region.position + done);
        if (n <= 0) throw new Error(`short read from ${this.dir}`);
        done += n;
      }
      at += region.length;
    }
    return out;
  }

  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * ListOffsets by timestamp: the first record whose timestamp is >= ts. The batch comes from the
   * segments' in-memory tables; the record inside it from decoding that one batch.
   */
  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    const maxBatch = this.maxBatchBytes;
    for (const s of this.segments) {
      if (s.maxTimestamp < ts && s !== this.activeSegment) continue;
      const hit = s.findByTimestamp(ts, maxBatch);
      if (hit !== null && hit.offset < this.highWatermark) {
        return this.refineToRecord({ offset: Math.max(hit.offset, this.logStartOffset), timestamp: hit.timestamp }, (t) => t >= ts);
      }
    }
    return null;
  }

  /** ListOffsets MAX_TIMESTAMP: the offset and time of the record with the largest timestamp. */
  maxTimestampOffset(): { offset: number; timestamp: number } | null {
    const maxBatch = this.maxBatchBytes;
    let best: { offset: number; timestamp: number } | null = null;
    for (const s of this.segments) {
      const hit = s.maxTimestampOffset(maxBatch);
      if (hit !== null && hit.offset < this.highWatermark && (best === null || hit.timestamp > best.timestamp)) best = hit;
    }
    if (best === null) return null;
    const top = best.timestamp;
    return this.refineToRecord(best, (t) => t === top);
  }

  /**
   * Narrows a batch-level hit to the first record of that batch matching `accept`, by decoding the
   * batch (decompressing it if needed). A batch that cannot be decoded answers with the batch's
   * own offset and time.
   */
  private refineToRecord(
    hit: { offset: number; timestamp: number },
    accept: (recordTimestamp: number) => boolean,
  ): { offset: number; timestamp: number } {
    try {
      const { batches } = decodeRecordBatches(this.readBytes(hit.offset, 1), { verifyCrc: false });
      const b = batches[0];
      if (b === undefined) return hit;
      // LogAppendTime: every record of the batch carries the batch's time.
      if (b.logAppendTime) return { offset: Math.max(b.baseOffset, this.logStartOffset), timestamp: b.maxTimestamp };
      for (const r of b.records) {
        if (r.offset >= this.logStartOffset && accept(r.timestamp)) return { offset: r.offset, timestamp: r.timestamp };
      }
    } catch {
      // Batch granularity.
    }
    return hit;
  }

  /** DeleteRecords: moves the log start offset forward and drops whole segments below it. */
  deleteRecordsBefore(offset: number): number {
    const target = offset === -1 ? this.highWatermark : offset;
    if (target > this.highWatermark || target < 0) return ErrorCode.OFFSET_OUT_OF_RANGE;
    if (target > this.logStartOffset) {
      this.logStartOffset = target;
      this.dropSegmentsBelow(target);
      this.producers.dropAbortedBelow(target);
    }
    return ErrorCode.NONE;
  }

  private dropSegmentsBelow(offset: number): void {
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= offset) {
      const s = this.segments.shift()!;
      this.unflushedSegments = this.unflushedSegments.filter((u) => u !== s);
      s.delete();
    }
  }

  /**
   * Retention: drops closed segments older than retention.ms (by their largest timestamp) and, while
   * the log is larger than retention.bytes, the oldest closed segments. Returns segments removed.
   */
  enforceRetention(now: number): number {
    if (!this.config.deleteRetention) return 0;
    let removed = 0;
    const { retentionMs, retentionBytes } = this.config;
    let size = this.sizeBytes;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const expired = retentionMs >= 0 && oldest.maxTimestamp >= 0 && now - oldest.maxTimestamp > retentionMs;
      const oversize = retentionBytes >= 0 && size - oldest.size >= retentionBytes;
      if (!expired && !oversize) break;
      // Delayed delivery: delay records carry their due time as their timestamp. A segment that
      // may hold one not yet delivered (due in the future, or within a minute's delivery lag)
      // stays, whatever retention.ms or retention.bytes say: it is acknowledged and waiting.
      if (this.hasDelayBatches && oldest.maxTimestamp > now - DELAY_RETENTION_GRACE_MS) break;
      if (oldest.nextOffset > this.highWatermark) break;
      this.segments.shift();
      this.unflushedSegments = this.unflushedSegments.filter((u) => u !== oldest);
      size -= oldest.size;
      oldest.delete();
      this.logStartOffset = Math.max(this.logStartOffset, this.segments[0]!.baseOffset);
      removed++;
    }
    if (removed > 0) this.producers.dropAbortedBelow(this.logStartOffset);
    return removed;
  }

  /** The active segment's new index entries reach its index files (rolled segments got theirs at the roll). */
  flushIndexes(): Error | null {
    // A closed log has no segments (close flushed them).
    return this.segments.length === 0 ? null : this.activeSegment.flushIndexes();
  }

  /** Whether the active segment's index entries have waited `ageMs` for their files. */
  indexFlushDue(now: number, ageMs: number): boolean {
    return this.segments.length > 0 && this.activeSegment.indexFlushDue(now, ageMs);
  }

  /**
   * What a clean of this log would cover now, or null when the log is not compacted or has
   * nothing cleanable. The cleanable range ends at the first uncleanable offset: the active
   * segment, the last stable offset (no undecided transaction is cleaned), and the first segment
   * holding records younger than min.compaction.lag.ms. `due` says whether to clean now: the
   * dirty share reached min.cleanable.dirty.ratio, a dirty record is older than
   * max.compaction.lag.ms, or a tombstone kept by the last clean may now go.
   */
  cleanPlan(now: number): { firstUncleanableOffset: number; dirtyRatio: number; due: boolean } | null {
    if (!this.config.compact || this.segments.length < 2 || this.offlineError !== null) return null;
    let firstUncleanable = Math.min(this.activeSegment.baseOffset, this.lastStableOffset);
    const maxBatch = this.maxBatchBytes;
    let clean = 0;
    let dirty = 0;
    let oldestDirtyMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.segments.length - 1; i++) {
      const s = this.segments[i]!;
      const next = this.segments[i + 1]!.baseOffset;
      if (this.config.minCompactionLagMs > 0 && s.maxTimestamp > now - this.config.minCompactionLagMs) {
        firstUncleanable = Math.min(firstUncleanable, s.baseOffset);
      }
      if (s.baseOffset >= firstUncleanable) break;
      if (next <= this.firstDirtyOffset) clean += s.size;
      else {
        dirty += s.size;
        const first = s.findByTimestamp(Number.NEGATIVE_INFINITY, maxBatch);
        if (first !== null) oldestDirtyMs = Math.min(oldestDirtyMs, first.timestamp);
      }
    }
    const dirtyRatio = clean + dirty === 0 ? 0 : dirty / (clean + dirty);
    const tombstonesDue = this.tombstoneExpiryMs >= 0 && this.tombstoneExpiryMs <= now && clean + dirty > 0;
    if (dirty === 0 && !tombstonesDue) return { firstUncleanableOffset: firstUncleanable, dirtyRatio, due: false };
    const due =
      (dirty > 0 && dirtyRatio >= this.config.minCleanableDirtyRatio) ||
      (dirty > 0 && now - oldestDirtyMs > this.config.maxCompactionLagMs) ||
      tombstonesDue;
    return { firstUncleanableOffset: firstUncleanable, dirtyRatio, due };
  }

  /** The work of one clean (runClean in a worker), planned now; `mapBytes` bounds its key map. */
  cleanTask(firstUncleanableOffset: number, mapBytes: number, now: number): CleanTask {
    const closed = this.segments.slice(0, -1).filter((s) => s.baseOffset < firstUncleanableOffset);
    const aborted = this.producers.abortedTransactions(this.logStartOffset, firstUncleanableOffset);
    return {
      dir: this.dir,
      segments: closed.map((s) => ({ base: s.baseOffset, size: s.size })),
      firstDirtyOffset: this.firstDirtyOffset,
      firstUncleanableOffset,
      now,
      deleteRetentionMs: this.config.deleteRetentionMs,
      aborted: aborted.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset, lastOffset: a.lastOffset })),
      producerLastOffsets: this.producers.lastBatchOffsets(),
      segmentBytes: this.config.segmentBytes,
      mapBytes,
      maxBatchBytes: this.maxBatchBytes,
    };
  }

  /**
   * Swaps a clean's files in for the segments they were made from (Kafka's replaceSegments), one
   * group at a time: `.cleaned` is renamed to `.swap`, the sources are deleted, `.swap` becomes the
   * group's `.log`, each rename made durable. A crash at any point leaves either the sources or
   * a `.swap` that the next open completes (finishCleanerSwaps). A group whose sources changed
   * meanwhile (retention, DeleteRecords, a follower's truncation) is dropped. Returns how many
   * groups were swapped in. Waits for a running fsync first: it must not meet a closed descriptor.
   */
  async swapCleaned(result: CleanResult): Promise<number> {
    while (this.flushing !== null) await this.flushing.catch(() => undefined);
    let swapped = 0;
    for (const g of result.groups) {
      const at = this.segments.findIndex((s) => s.baseOffset === g.base);
      const sources = at < 0 ? [] : this.segments.slice(at, at + g.sources.length);
      const intact =
        sources.length === g.sources.length &&
        sources.every((s, i) => s.baseOffset === g.sources[i]) &&
        at + sources.length < this.segments.length &&
        this.offlineError === null;
      if (!intact) {
        rmSync(g.file, { force: true });
        continue;
      }
      const logPath = join(this.dir, segmentFileName(g.base, '.log'));
      const swapPath = `${logPath}.swap`;
      renameSync(g.file, swapPath);
      fsyncDir(this.dir);
      this.unflushedSegments = this.unflushedSegments.filter((u) => !sources.includes(u));
      // Reads already answered keep their descriptors until their bytes are sent (file-pins.ts).
      for (const s of sources) s.delete();
      renameSync(swapPath, logPath);
      fsyncDir(this.dir);
      const { segment } = LogSegment.open(this.dir, asOffset(g.base), this.config.indexIntervalBytes, false, this.maxBatchBytes);
      segment.rewriteIndexes();
      this.segments.splice(at, sources.length, segment);
      swapped++;
    }
    if (swapped === result.groups.length) this.firstDirtyOffset = Math.max(this.firstDirtyOffset, result.endOffset);
    this.tombstoneExpiryMs = result.nextTombstoneExpiryMs;
    this.lastCleanMs = Date.now();
    if (swapped > 0) this.syncTxnIndexes();
    return swapped;
  }

  /** Flushes, snapshots producer state and closes files (clean shutdown). */
  async close(): Promise<void> {
    if (this.offlineError === null) {
      try {
        await this.flushTo(this.logEndOffset);
        this.producers.snapshot(this.logEndOffset);
      } catch {
        // Offline: nothing more can be made durable.
      }
    }
    for (const s of this.segments) s.close();
    this.segments = [];
  }

  /**
   * Retires the log: no more reads, writes or index flushes; descriptors closed as in
   * LogSegment.delete. Its files stay for the caller to remove (LogManager.drop moves the
   * directory aside and removes it off the event loop).
   */
  destroy(): void {
    for (const s of this.segments) s.delete(false);
    this.segments = [];
  }
}

/** A new log: one leader epoch (0) that started at the log start. */
function leaderEpochCheckpoint(startOffset: number): string {
  return formatEpochCheckpoint([{ epoch: 0, startOffset }]);
}

/** The marker type of the control batch at `position` in a segment file (see controlRecordType). */
function controlTypeAt(fd: number, position: number): number {
  const buf = Buffer.alloc(96);
  const n = readSync(fd, buf, 0, buf.length, position);
  return controlRecordType(buf.subarray(0, n), 0);
}

/** How long after its latest timestamp a segment of a log with delay batches is kept at least (delivery lag). */
const DELAY_RETENTION_GRACE_MS = 60_000;

/** The marker file of a log that has held a delay batch (Log.hasDelayBatches). */
const DELAYED_MARKER_FILE = 'franz-delayed';

/** Whether a batch of `records` is in another codec than `codec` (a malformed payload: no, validation refuses it). */
function codecsDiffer(records: Buffer, codec: number): boolean {
  let at = 0;
  while (at + 23 <= records.length) {
    if ((records.readInt16BE(at + ATTRIBUTES_AT) & ATTR_COMPRESSION_MASK) !== codec) return true;
    const length = records.readInt32BE(at + 8);
    if (length <= 0) return false;
    at += 12 + length;
  }
  return false;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Finishes what a crash interrupted in the log cleaner's swap (Log.swapCleaned), before the
 * segments are listed: a `.cleaned` file was never swapped in and goes; a `.swap` file had
 * replaced its sources in intent, so the segments whose offsets it covers are deleted and it
 * becomes its base's `.log`.
 */
function finishCleanerSwaps(dir: string, maxBatchBytes: number, log?: (msg: string, extra?: object) => void): Set<number> {
  const swapped = new Set<number>();
  const files = readdirSync(dir);
  for (const f of files) if (f.endsWith('.cleaned')) rmSync(join(dir, f), { force: true });
  for (const f of files) {
    if (!/^\d{20}\.log\.swap$/.test(f)) continue;
    const base = Number(f.slice(0, 20));
    const path = join(dir, f);
    const fd = openSync(path, 'r');
    let end = base;
    try {
      const scan = scanSegment(fd, 0, fstatSync(fd).size, false, maxBatchBytes);
      const n = facts.batchCount(scan.batches);
      if (n > 0) end = facts.baseOffset(scan.batches, n - 1) + facts.lastOffsetDelta(scan.batches, n - 1) + 1;
    } finally {
      closeSync(fd);
    }
    for (const g of readdirSync(dir)) {
      const m = /^(\d{20})\.log$/.exec(g);
      if (m === null) continue;
      const b = Number(m[1]);
      if (b > base && b < end) removeSegmentFiles(dir, b);
    }
    for (const suffix of ['.index', '.timeindex', '.txnindex']) rmSync(join(dir, segmentFileName(base, suffix)), { force: true });
    renameSync(path, join(dir, segmentFileName(base, '.log')));
    fsyncDir(dir);
    log?.('completed an interrupted log cleaner swap', { dir, baseOffset: base, endOffset: end });
    swapped.add(base);
  }
  return swapped;
}

/** Deletes the files of a segment that was never opened. */
function removeSegmentFiles(dir: string, base: number): void {
  for (const suffix of ['.log', '.index', '.timeindex', '.txnindex']) rmSync(join(dir, segmentFileName(base, suffix)), { force: true });
}

/**
 * The one identity object every append fills for each batch's sequence check and producer-state
 * update (neither keeps it), so an append allocates nothing per batch. Main thread only.
 */
const identity = facts.newIdentity();
