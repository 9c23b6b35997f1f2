/**
 * LogManager: every partition log under the data directory, and the files that describe them as a
 * whole — `meta.properties`, `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint` (Kafka's
 * formats: version line, count line, then "topic partition offset" lines) and the clean-shutdown
 * marker `.kafka_cleanshutdown`. A start without that marker runs recovery on every segment past each
 * partition's recovery point.
 *
 * Also runs the periodic work: retention, flushes in the no-fsync mode, the one-second checkpoint
 * writes, and index entries older than INDEX_FLUSH_AGE_MS (a few milliseconds of them per second).
 * Called on the main thread only; the checkpoint files' writes and fsyncs, and the removal of
 * deleted partitions' directories, run on the libuv pool.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Recompressor } from './recompressor.js';
import { Log, type LogConfig } from './log.js';
import { partitionDirName, writeFileDurably, writeFileDurablyAsync } from './durable-file.js';

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
const CLEANER_CHECKPOINT = 'cleaner-offset-checkpoint';
/** Ends the name of a deleted partition's directory until it is removed (Kafka's suffix). */
const DELETED_SUFFIX = '-delete';

/** Active segments' index entries reach their files within about this long (and at roll and close). */
export const INDEX_FLUSH_AGE_MS = 30_000;
/** The most of one second's tick the index writes may take; the rest waits for the next tick. */
const INDEX_FLUSH_BUDGET_MS = 5;

function readCheckpoint(path: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(path)) return out;
  const lines = readFileSync(path, 'utf8').split('\n');
  const count = Number(lines[1]);
  for (let i = 0; i < count; i++) {
    const line = lines[2 + i];
    if (line === undefined) break;
    const parts = line.trim().split(' ');
    if (parts.length !== 3) continue;
    out.set(partitionDirName(parts[0]!, Number(parts[1])), Number(parts[2]));
  }
  return out;
}

/** Why a partition creation stops early: its topic went away ('delete'), or the broker is stopping. */
export type CreationStop = 'delete' | 'stop' | null;

/** Partitions whose files are made at once: the libuv pool's other threads stay free for fsyncs. */
const CREATE_CONCURRENCY = 2;
/** The longest the event loop is held while a creation opens its logs. */
const OPEN_SLICE_MS = 10;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `work(i)` for i in [from, to), at most CREATE_CONCURRENCY at once, until `more()` says no. */
async function forEachConcurrently(from: number, to: number, more: () => boolean, work: (i: number) => Promise<void>): Promise<number> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to && more()) await work(next++);
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  return next;
}

export interface PartitionKey {
  topic: string;
  partition: number;
}

export class LogManager {
  private readonly logs = new Map<string, { key: PartitionKey; log: Log }>();
  private readonly recoveryPoints: Map<string, number>;
  private readonly startOffsets: Map<string, number>;
  /** The log cleaner's first dirty offset per compacted partition (Kafka's cleaner-offset-checkpoint). */
  private readonly cleanerPoints: Map<string, number>;
  readonly cleanStart: boolean;
  /** True when the directory held data from an earlier run that did not shut down cleanly. */
  readonly recoveryNeeded: boolean;
  private timers: NodeJS.Timeout[] = [];
  /** Broker-side compression for the logs' client appends (Log.appendFromClient); null: none. */
  recompressor: Recompressor | null = null;
  /** Delayed delivery's scheduler, told of every delayed record a log appends (see Log.onDelayed). */
  delayed: ((topic: string, partition: number, due: ReadonlyArray<{ offset: number; dueMs: number; cancelKey?: Buffer }>) => void) | null =
    null;
  /** Checkpoint writes run one after another, in call order (see writeCheckpoints). */
  private checkpointChain: Promise<void> = Promise.resolve();
  private checkpointsInFlight = 0;
  /** Removals of deleted partitions' directories, one after another (see discard). */
  private removals: Promise<void> = Promise.resolve();
  /** Where the next flushDueIndexes pass starts, so a pass cut short by its budget resumes there. */
  private indexCursor = 0;
  /** What each checkpoint file last durably held: an unchanged file is not rewritten. */
  private readonly checkpointText = new Map<string, string>();

  constructor(
    readonly dataDir: string,
    private readonly logger: (msg: string, extra?: object) => void,
  ) {
    const fresh = !existsSync(dataDir) || readdirSync(dataDir).length === 0;
    mkdirSync(dataDir, { recursive: true });
    this.cleanStart = existsSync(join(dataDir, CLEAN_SHUTDOWN_FILE));
    this.recoveryNeeded = !fresh && !this.cleanStart;
    this.recoveryPoints = readCheckpoint(join(dataDir, 'recovery-point-offset-checkpoint'));
    this.startOffsets = readCheckpoint(join(dataDir, 'log-start-offset-checkpoint'));
    this.cleanerPoints = readCheckpoint(join(dataDir, CLEANER_CHECKPOINT));
    // From now until a clean close, a crash must lead to recovery.
    rmSync(join(dataDir, CLEAN_SHUTDOWN_FILE), { force: true });
    // Partitions deleted before a crash or shutdown that had not been removed yet.
    if (!fresh) for (const e of readdirSync(dataDir)) if (e.endsWith(DELETED_SUFFIX)) this.remove(join(dataDir, e));
  }

  /** Resolves once every deleted partition's directory seen so far is removed. */
  removalsDone(): Promise<void> {
    return this.removals;
  }

  get(topic: string, partition: number): Log | undefined {
    return this.logs.get(partitionDirName(topic, partition))?.log;
  }

  /** Gives a log the broker's services: recompression and delayed delivery. */
  private attach(log: Log, topic: string, partition: number): void {
    log.recompressor = this.recompressor;
    log.onDelayed = (due) => this.delayed?.(topic, partition, due);
  }

  /** Opens the partition's log, creating it if needed. */
  open(topic: string, partition: number, config: LogConfig): Log {
    const name = partitionDirName(topic, partition);
    const existing = this.logs.get(name);
    if (existing !== undefined) return existing.log;
    const log = Log.open(join(this.dataDir, name), config, {
      recoveryPoint: this.recoveryPoints.get(name) ?? 0,
      logStartOffset: this.startOffsets.get(name) ?? 0,
      clean: !this.recoveryNeeded,
      firstDirtyOffset: this.cleanerPoints.get(name) ?? 0,
      log: this.logger,
    });
    this.attach(log, topic, partition);
    this.logs.set(name, { key: { topic, partition }, log });
    return log;
  }

  /**
   * Creates partitions [from, to) of a topic, none of whose directories exist yet, without holding
   * the event loop: each directory and its files are made on the libuv pool, then the logs are opened
   * (only opened: the files exist) in slices of at most OPEN_SLICE_MS. No log is registered until
   * every one is open, so a failure or a cancellation finds nothing that could have been written to
   * and removes it all. `stop` is asked between steps: 'delete' removes what was made; 'stop'
   * (shutdown) closes what was opened and leaves the files, which the next start opens.
   * Resolves 'created' or the reason it stopped; rejects (after removing what it made) if a file
   * could not be made.
   */
  async createLogs(
    topic: string,
    from: number,
    to: number,
    config: LogConfig,
    extraFiles: ReadonlyArray<readonly [string, string]>,
    stop: () => CreationStop,
    openSliceMs = OPEN_SLICE_MS,
  ): Promise<'created' | 'delete' | 'stop'> {
    const dirOf = (p: number): string => join(this.dataDir, partitionDirName(topic, p));
    let stopped: CreationStop = null;
    let failure: unknown = null;
    const made = await forEachConcurrently(
      from,
      to,
      () => {
        if (failure !== null) return false;
        stopped = stop();
        return stopped === null;
      },
      (p) =>
        Log.createFiles(dirOf(p), extraFiles).catch((err: unknown) => {
          failure ??= err;
        }),
    );
    const opened: Log[] = [];
    // The last files may have been made after the topic went away: `more()` is asked only before
    // each partition's files, so ask again before opening anything.
    if (failure === null && stopped === null) stopped = stop();
    if (failure === null && stopped === null) {
      let sliceStart = performance.now();
      try {
        for (let p = from; p < to; p++) {
          if (performance.now() - sliceStart > openSliceMs) {
            await yieldToEventLoop();
            sliceStart = performance.now();
            stopped = stop();
            if (stopped !== null) break;
          }
          opened.push(Log.open(dirOf(p), config, { recoveryPoint: 0, logStartOffset: 0, clean: true, log: this.logger }));
        }
      } catch (err) {
        failure = err;
      }
    }
    // And once more in the same tick as the registration, after the last open slice.
    if (failure === null && stopped === null) stopped = stop();
    if (failure === null && stopped === null) {
      for (let p = from; p < to; p++) {
        const log = opened[p - from]!;
        this.attach(log, topic, p);
        this.logs.set(partitionDirName(topic, p), { key: { topic, partition: p }, log });
      }
      return 'created';
    }
    // Nothing has read or written these logs: they close at once.
    for (const log of opened) await log.close();
    if (stopped === 'stop') return 'stop';
    await forEachConcurrently(
      from,
      made,
      () => true,
      (p) => rm(dirOf(p), { recursive: true, force: true }),
    );
    if (failure !== null) throw failure;
    return 'delete';
  }

  /**
   * Closes and deletes a partition's log (topic deletion, or undoing a failed creation). It leaves
   * the registry first, so a failure half-way never leaves a closed log that
   * background work would still touch.
   */
  drop(topic: string, partition: number): void {
    const name = partitionDirName(topic, partition);
    const entry = this.logs.get(name);
    this.logs.delete(name);
    entry?.log.destroy();
    this.discard(name);
  }

  /**
   * Directories in the data directory holding a `partition.metadata` that no open log uses: in a
   * cluster, replicas of topics deleted or partitions moved away while this broker was down.
   */
  unopenedPartitionDirs(): string[] {
    const open = new Set(this.logs.keys());
    return readdirSync(this.dataDir).filter(
      (e) => !open.has(e) && !e.endsWith(DELETED_SUFFIX) && existsSync(join(this.dataDir, e, 'partition.metadata')),
    );
  }

  /** Removes a partition directory no log has open (see unopenedPartitionDirs), as a deletion does. */
  discardUnopened(name: string): void {
    if (this.logs.has(name)) throw new Error(`${name} is open`);
    this.discard(name);
  }

  /**
   * Renames a partition directory to `<name>.<random>-delete` (as Kafka does) and removes it on the
   * libuv pool: one rename per partition on the event loop, where removing every file of every
   * segment there held it for over 2 s when a 10 000-partition topic was deleted. The name is free
   * at once; a removal cut short by a crash is finished at the next start.
   */
  private discard(name: string): void {
    const from = join(this.dataDir, name);
    const to = join(this.dataDir, `${name}.${randomBytes(8).toString('hex')}${DELETED_SUFFIX}`);
    try {
      renameSync(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      // Cannot move it aside (a failing disk): remove it in place, as before.
      rmSync(from, { recursive: true, force: true });
      return;
    }
    this.remove(to);
  }

  /** Removes a directory moved aside, one at a time in the background. */
  private remove(path: string): void {
    this.removals = this.removals.then(() =>
      rm(path, { recursive: true, force: true }).catch((err: unknown) => {
        this.logger('could not remove a deleted partition directory', { path, err: String(err) });
      }),
    );
  }

  all(): Array<{ key: PartitionKey; log: Log }> {
    return [...this.logs.values()];
  }

  /**
   * Writes active segments' index entries that have waited `ageMs`, spending at most `budgetMs`
   * of the event loop; the next call resumes where this one stopped. Returns how many logs it
   * flushed. The index files serve operators and Kafka's tools only (franz rebuilds its lookups
   * from the log, and recovery rebuilds the files), so they may lag: writing every active
   * segment's entries each second cost two opens, writes and closes per partition per second —
   * at 10 000 busy partitions, most of the event loop, and creating 20 000 index files in one
   * tick held it for seconds.
   */
  flushDueIndexes(now: number, ageMs: number, budgetMs: number): number {
    const logs = [...this.logs.values()];
    const start = performance.now();
    let flushed = 0;
    for (let n = 0; n < logs.length; n++) {
      if (this.indexCursor >= logs.length) this.indexCursor = 0;
      const { log } = logs[this.indexCursor++]!;
      if (!log.indexFlushDue(now, ageMs)) continue;
      log.flushIndexes();
      flushed++;
      if (performance.now() - start >= budgetMs) break;
    }
    return flushed;
  }

  /**
   * Writes the recovery-point and log-start-offset checkpoints (each only if its text changed since
   * its last write). The offsets are read now, at the call; the file writes and their fsyncs run
   * on the libuv pool, because a synchronous fsync under write load once held the event loop — and
   * every request with it — for over 400 ms. Calls are chained,
   * so a later call's state is never overwritten by an earlier one's. Rejects if a write fails.
   */
  writeCheckpoints(): Promise<void> {
    const rp: string[] = [];
    const so: string[] = [];
    const co: string[] = [];
    for (const { key, log } of this.logs.values()) {
      rp.push(`${key.topic} ${key.partition} ${log.recoveryPoint}`);
      so.push(`${key.topic} ${key.partition} ${log.logStartOffset}`);
      if (log.config.compact) co.push(`${key.topic} ${key.partition} ${log.firstDirtyOffset}`);
    }
    const files: Array<[string, string]> = [
      [join(this.dataDir, 'recovery-point-offset-checkpoint'), `0\n${rp.length}\n${rp.join('\n')}\n`],
      [join(this.dataDir, 'log-start-offset-checkpoint'), `0\n${so.length}\n${so.join('\n')}\n`],
      [join(this.dataDir, CLEANER_CHECKPOINT), `0\n${co.length}\n${co.join('\n')}\n`],
    ];
    this.checkpointsInFlight++;
    const run = this.checkpointChain.then(async () => {
      for (const [path, text] of files) {
        if (this.checkpointText.get(path) === text) continue;
        await writeFileDurablyAsync(path, text);
        this.checkpointText.set(path, text);
      }
    });
    const settled = run.finally(() => {
      this.checkpointsInFlight--;
    });
    this.checkpointChain = settled.catch(() => undefined);
    return settled;
  }

  /** Starts retention and (in no-fsync mode) interval flushes. */
  startBackgroundWork(retentionCheckMs: number): void {
    const retention = setInterval(() => {
      const now = Date.now();
      for (const { key, log } of this.logs.values()) {
        const n = log.enforceRetention(now);
        if (n > 0) this.logger('retention removed segments', { topic: key.topic, partition: key.partition, segments: n });
      }
    }, retentionCheckMs);
    const flush = setInterval(() => {
      const now = Date.now();
      for (const { log } of this.logs.values()) log.maybeScheduledFlush(now)?.catch(() => undefined);
      this.flushDueIndexes(now, INDEX_FLUSH_AGE_MS, INDEX_FLUSH_BUDGET_MS);
      // A slow disk must not pile up writes: the next tick catches up with whatever changed.
      if (this.checkpointsInFlight > 0) return;
      this.writeCheckpoints().catch((err: unknown) => {
        // A full or failing disk: the checkpoints only speed up recovery, which stays correct without them.
        this.logger('could not write checkpoints', { err: String(err) });
      });
    }, 1000);
    retention.unref();
    flush.unref();
    this.timers.push(retention, flush);
  }

  /** Flushes every log, writes checkpoints and the clean-shutdown marker. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    let clean = true;
    for (const { log } of this.logs.values()) {
      await log.close();
      if (log.offlineError !== null) clean = false;
    }
    // Removals still running are not awaited (a large topic's can take many seconds); the next
    // start finishes them.
    await this.writeCheckpoints();
    if (clean) writeFileDurably(join(this.dataDir, CLEAN_SHUTDOWN_FILE), '');
    this.logs.clear();
  }
}
