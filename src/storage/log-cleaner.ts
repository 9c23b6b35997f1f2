/**
 * LogCleaner: compaction of the logs whose cleanup.policy includes `compact` (Kafka's LogCleaner).
 *
 * Every log.cleaner.backoff.ms the main thread asks each compacted log for its plan (Log.cleanPlan:
 * a few sums over its segment list) and starts the dirtiest due one on a worker of a piscina pool
 * of log.cleaner.threads threads. The worker does everything that reads, decompresses or writes
 * records (runClean in cleaner-task.ts); back on the main thread, Log.swapCleaned renames the
 * cleaned files in and swaps the segment objects, and the cleaner checkpoint is written. Produce
 * and Fetch never wait for a clean: a log being cleaned keeps taking appends at its active segment
 * (never cleaned) and serving reads from the segments it had, whose descriptors stay open until
 * the reads in flight are sent.
 *
 * Memory: the key maps of the running cleans together take log.cleaner.dedupe.buffer.size
 * (24 bytes per key); each clean also holds one 8 MiB read chunk and one batch at a time. The pool
 * starts with the first clean, so a broker without compacted topics runs no extra thread.
 */
import { rmSync } from 'node:fs';
import { Piscina } from 'piscina';
import type { CleanResult, CleanTask } from './cleaner-task.js';
import type { Log } from './log.js';

export interface LogCleanerConfig {
  /** log.cleaner.enable and log.cleaner.threads > 0. */
  readonly enabled: boolean;
  readonly threads: number;
  /** log.cleaner.dedupe.buffer.size, shared by the threads. */
  readonly dedupeBufferBytes: number;
  readonly backoffMs: number;
}

export interface CleanableLog {
  readonly key: { readonly topic: string; readonly partition: number };
  readonly log: Log;
}

/** A clean that ran: what the cleaner logs and tests read. */
export interface CleanOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly result: CleanResult;
  readonly swappedGroups: number;
}

export class LogCleaner {
  private pool: Piscina | null = null;
  private readonly running = new Map<Log, Promise<CleanOutcome | null>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Called after each clean that swapped segments in (the broker writes the cleaner checkpoint). */
  onCleaned: (outcome: CleanOutcome) => void = () => undefined;

  constructor(
    private readonly config: LogCleanerConfig,
    private readonly logs: () => Iterable<CleanableLog>,
    private readonly logger: (msg: string, extra?: object) => void,
  ) {}

  start(): void {
    if (!this.config.enabled || this.timer !== null) return;
    this.timer = setInterval(() => this.tick(Date.now()), Math.max(10, this.config.backoffMs));
    this.timer.unref();
  }

  /** Starts cleans of the due logs, dirtiest first, while threads are free. */
  private tick(now: number): void {
    if (this.stopped) return;
    const free = this.config.threads - this.running.size;
    if (free <= 0) return;
    const due: Array<{ entry: CleanableLog; ratio: number; end: number }> = [];
    for (const entry of this.logs()) {
      if (this.running.has(entry.log)) continue;
      const plan = entry.log.cleanPlan(now);
      if (plan?.due) due.push({ entry, ratio: plan.dirtyRatio, end: plan.firstUncleanableOffset });
    }
    due.sort((a, b) => b.ratio - a.ratio);
    for (const d of due.slice(0, free)) void this.clean(d.entry, d.end, now);
  }

  /**
   * Cleans one log now if it has anything cleanable, whatever its dirty ratio (the tick's cleans,
   * and tests). Resolves with what the clean did, or null when there was nothing to clean.
   */
  clean(entry: CleanableLog, firstUncleanable?: number, now = Date.now()): Promise<CleanOutcome | null> {
    const { log, key } = entry;
    const already = this.running.get(log);
    if (already !== undefined) return already;
    const end = firstUncleanable ?? log.cleanPlan(now)?.firstUncleanableOffset;
    if (end === undefined || this.stopped) return Promise.resolve(null);
    const task = log.cleanTask(end, Math.floor(this.config.dedupeBufferBytes / Math.max(1, this.config.threads)), now);
    this.logger('cleaning log', {
      topic: key.topic,
      partition: key.partition,
      firstDirtyOffset: task.firstDirtyOffset,
      firstUncleanableOffset: end,
    });
    const run = this.runTask(task)
      .then(async (result) => {
        if (this.stopped) {
          for (const g of result.groups) rmSync(g.file, { force: true });
          return null;
        }
        const swappedGroups = await log.swapCleaned(result);
        const outcome: CleanOutcome = { topic: key.topic, partition: key.partition, result, swappedGroups };
        this.logger('cleaned log', {
          topic: key.topic,
          partition: key.partition,
          endOffset: result.endOffset,
          segments: result.groups.length,
          bytesRead: result.bytesRead,
          bytesWritten: result.bytesWritten,
          recordsRemoved: result.recordsRemoved,
        });
        this.onCleaned(outcome);
        return outcome;
      })
      .catch((err: unknown) => {
        // A failed clean leaves the log as it was (its partial files are gone); the next tick retries.
        this.logger('log cleaner failed', { topic: key.topic, partition: key.partition, err: String(err) });
        return null;
      })
      .finally(() => this.running.delete(log));
    this.running.set(log, run);
    return run;
  }

  private runTask(task: CleanTask): Promise<CleanResult> {
    this.pool ??= new Piscina({
      filename: new URL('./cleaner-worker.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: Math.max(1, this.config.threads),
      idleTimeout: 60_000,
    });
    return this.pool.run(task) as Promise<CleanResult>;
  }

  /** Stops starting cleans, waits for the running ones (their results are dropped) and ends the pool. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.running.values()]);
    await this.pool?.destroy();
    this.pool = null;
  }
}
