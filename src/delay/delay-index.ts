/**
 * DelayIndex: the on-disk part of delayed delivery's timing wheel, in `<data dir>/delay-index/`.
 *
 * The delayed records themselves live in their partitions' logs (delay batches, see
 * records/delayed-records.ts); this index only says which is due when: 24-byte entries (due ms,
 * offset, partition ref, as float64, float64, uint32 and 4 bytes of padding) in bucket files of
 * three sizes, a hierarchical timing wheel on disk:
 *   m-<n>  the records due in minute n (n = floor(due / 60 000)),
 *   h-<n>  hour n, d-<n>  day n.
 * A record goes to the finest bucket that is open for its due time (DelayScheduler decides); as
 * time comes near, an hour's file is split into minute files, a day's into hour files, and a
 * minute's file is read into memory, so memory holds only what is due within about two minutes,
 * whatever the number of records pending. Each entry is written once per level, three times at
 * most.
 *
 * `partitions` lists the partitions with delayed records, one "topic<TAB>partition" line each: an
 * entry's ref is its line number. `checkpoint` (JSON) says, per ref, up to which offset every
 * delayed record is in the bucket files (`indexedTo`) and from where a restart must look for
 * deliveries (`rescanFrom`, see DelayScheduler). `cancels` holds the franz-cancel keys in force.
 * Entries are appended in batches (flush) and may be duplicated by a restart's rescan; whoever
 * reads a bucket removes duplicates.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { appendFileDurably, writeFileDurably, writeFileDurablyAsync } from '../storage/durable-file.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
const ENTRY_BYTES = 24;

export type BucketLevel = 'm' | 'h' | 'd';
const SIZE: Record<BucketLevel, number> = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };

export interface DelayEntry {
  readonly dueMs: number;
  readonly offset: number;
  readonly ref: number;
}

/** A cancel (franz-cancel): records of `key` in partition `ref` below `offset` are not delivered, until `untilMs`. */
export interface DelayCancel {
  readonly ref: number;
  readonly key: Buffer;
  readonly offset: number;
  readonly untilMs: number;
}

export interface DelayCheckpoint {
  indexedTo: Record<string, number>;
  rescanFrom: Record<string, number>;
}

/** The bucket a due time falls in, at a level: its file name and start. */
export function bucketOf(level: BucketLevel, dueMs: number): { name: string; n: number; startMs: number } {
  const n = Math.floor(dueMs / SIZE[level]);
  return { name: `${level}-${n}`, n, startMs: n * SIZE[level] };
}

export class DelayIndex {
  private readonly refs: Array<{ topic: string; partition: number }> = [];
  private readonly refOf = new Map<string, number>();
  /** Entries not yet written, by bucket file. */
  private readonly unwritten = new Map<string, number[]>();
  /** Files written by flush and not yet fsynced. */
  private readonly written = new Set<string>();
  /** Cancels not yet written to `cancels`. */
  private unwrittenCancels: DelayCancel[] = [];

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const list = join(dir, 'partitions');
    if (!existsSync(list)) return;
    for (const line of readFileSync(list, 'utf8').split('\n')) {
      const tab = line.lastIndexOf('\t');
      // A torn last line (a crash while it was written) is not a partition.
      if (tab <= 0 || !/^\d+$/.test(line.slice(tab + 1))) continue;
      this.register(line.slice(0, tab), Number(line.slice(tab + 1)));
    }
  }

  private register(topic: string, partition: number): number {
    const ref = this.refs.length;
    this.refs.push({ topic, partition });
    this.refOf.set(`${topic}\u0000${partition}`, ref);
    return ref;
  }

  /** The ref of a partition, listed (durably) the first time it is asked for. */
  refFor(topic: string, partition: number): number {
    const known = this.refOf.get(`${topic}\u0000${partition}`);
    if (known !== undefined) return known;
    // A newline first: a torn line from a crash stays a line of its own.
    appendFileDurably(join(this.dir, 'partitions'), `\n${topic}\t${partition}\n`);
    return this.register(topic, partition);
  }

  /**
   * A new ref for a partition (cluster: each leadership of this broker gets one, so entries filed
   * under an older one are told apart and dropped).
   */
  newRef(topic: string, partition: number): number {
    appendFileDurably(join(this.dir, 'partitions'), `\n${topic}\t${partition}\n`);
    return this.register(topic, partition);
  }

  partitionOf(ref: number): { topic: string; partition: number } | undefined {
    return this.refs[ref];
  }

  /** Every ref, with its partition. */
  partitions(): Array<{ ref: number; topic: string; partition: number }> {
    return this.refs.map((p, ref) => ({ ref, ...p }));
  }

  /** Queues an entry for the bucket file `name` (written by flush). */
  add(name: string, e: DelayEntry): void {
    let list = this.unwritten.get(name);
    if (list === undefined) {
      list = [];
      this.unwritten.set(name, list);
    }
    list.push(e.dueMs, e.offset, e.ref);
  }

  /** Queues a cancel for the `cancels` file (written by flush). */
  addCancel(c: DelayCancel): void {
    this.unwrittenCancels.push(c);
  }

  /** The cancels on disk (a torn last one left out). */
  readCancels(): DelayCancel[] {
    const path = join(this.dir, 'cancels');
    if (!existsSync(path)) return [];
    const buf = readFileSync(path);
    const out: DelayCancel[] = [];
    for (let at = 0; at + 24 <= buf.length; ) {
      const n = buf.readUInt32BE(at + 20);
      if (at + 24 + n > buf.length) break;
      out.push({
        ref: buf.readUInt32BE(at),
        offset: buf.readDoubleBE(at + 4),
        untilMs: buf.readDoubleBE(at + 12),
        key: Buffer.from(buf.subarray(at + 24, at + 24 + n)),
      });
      at += 24 + n;
    }
    return out;
  }

  /** Rewrites `cancels` with these alone (the ones still in force), atomically. */
  rewriteCancels(cancels: readonly DelayCancel[]): void {
    writeFileDurably(join(this.dir, 'cancels'), encodeCancels(cancels));
  }

  /**
   * Appends every queued entry to its file (page cache: a crash of the process loses nothing of
   * it); syncWritten makes them durable before a checkpoint counts on them.
   */
  flush(): void {
    if (this.unwrittenCancels.length > 0) {
      appendFileSync(join(this.dir, 'cancels'), encodeCancels(this.unwrittenCancels));
      this.written.add('cancels');
      this.unwrittenCancels = [];
    }
    for (const [name, list] of this.unwritten) {
      const buf = Buffer.alloc((list.length / 3) * ENTRY_BYTES);
      for (let i = 0, at = 0; i < list.length; i += 3, at += ENTRY_BYTES) {
        buf.writeDoubleBE(list[i]!, at);
        buf.writeDoubleBE(list[i + 1]!, at + 8);
        buf.writeUInt32BE(list[i + 2]!, at + 16);
      }
      appendFileSync(join(this.dir, name), buf);
      this.written.add(name);
    }
    this.unwritten.clear();
  }

  /** fsyncs, off the event loop, every file flush wrote since the last call (a file since removed is skipped). */
  async syncWritten(): Promise<void> {
    const names = [...this.written];
    this.written.clear();
    for (const name of names) {
      let fh: FileHandle;
      try {
        fh = await open(join(this.dir, name), 'r');
      } catch {
        continue;
      }
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }

  /** syncWritten on the event loop: for a stop, when nothing else is left to do. */
  syncWrittenNow(): void {
    for (const name of this.written) {
      const path = join(this.dir, name);
      if (!existsSync(path)) continue;
      const fd = openSync(path, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.written.clear();
  }

  /** The entries of a bucket file (written and queued); a torn last entry is left out. */
  read(name: string): DelayEntry[] {
    const out: DelayEntry[] = [];
    const path = join(this.dir, name);
    if (existsSync(path)) {
      const buf = readFileSync(path);
      for (let at = 0; at + ENTRY_BYTES <= buf.length; at += ENTRY_BYTES) {
        out.push({ dueMs: buf.readDoubleBE(at), offset: buf.readDoubleBE(at + 8), ref: buf.readUInt32BE(at + 16) });
      }
    }
    const list = this.unwritten.get(name) ?? [];
    for (let i = 0; i < list.length; i += 3) out.push({ dueMs: list[i]!, offset: list[i + 1]!, ref: list[i + 2]! });
    return out;
  }

  /** Removes a bucket file and what was queued for it. */
  remove(name: string): void {
    this.unwritten.delete(name);
    rmSync(join(this.dir, name), { force: true });
  }

  /** The bucket files on disk at a level, by bucket number. */
  buckets(level: BucketLevel): number[] {
    const out: number[] = [];
    for (const f of readdirSync(this.dir)) {
      const m = /^([mhd])-(\d+)$/.exec(f);
      if (m !== null && m[1] === level) out.push(Number(m[2]));
    }
    return out.sort((a, b) => a - b);
  }

  readCheckpoint(): DelayCheckpoint {
    try {
      const c = JSON.parse(readFileSync(join(this.dir, 'checkpoint'), 'utf8')) as Partial<DelayCheckpoint>;
      return { indexedTo: c.indexedTo ?? {}, rescanFrom: c.rescanFrom ?? {} };
    } catch {
      return { indexedTo: {}, rescanFrom: {} };
    }
  }

  writeCheckpoint(c: DelayCheckpoint): void {
    writeFileDurably(join(this.dir, 'checkpoint'), JSON.stringify(c));
  }

  writeCheckpointAsync(c: DelayCheckpoint): Promise<void> {
    return writeFileDurablyAsync(join(this.dir, 'checkpoint'), JSON.stringify(c));
  }
}

/** Cancels as `cancels` holds them: ref uint32, offset and until float64, key length uint32, key. */
function encodeCancels(cancels: readonly DelayCancel[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of cancels) {
    const head = Buffer.alloc(24);
    head.writeUInt32BE(c.ref, 0);
    head.writeDoubleBE(c.offset, 4);
    head.writeDoubleBE(c.untilMs, 12);
    head.writeUInt32BE(c.key.length, 20);
    parts.push(head, c.key);
  }
  return Buffer.concat(parts);
}
