/**
 * WriteAheadLog: what makes franz's default (every acknowledged record on disk) cheap.
 *
 * Without it each partition log fsyncs its own segment: a produce request for 8 partitions waits
 * for 8 fdatasyncs and, at 1 000 partitions, a flush round is hundreds of them. Each one also
 * writes the inode (the file grew), and the slowest of the round decides the ack. Measured on the
 * bench machine (docs/perf/durable-default.md): 8 files of 32 KiB per round reached 160-177 MB/s,
 * 100 files of 4 KiB 28-33 MB/s; the same bytes appended to one preallocated file with one
 * fdatasync per round reached 470-500 MB/s and 230-350 MB/s.
 *
 * So every durable append is also written, on the main thread and in the same call, to one shared
 * file here (a page-cache copy, like the segment write), and one fdatasync of that file makes every
 * partition appended since the previous one durable (group commit across partitions). The segments
 * keep Kafka's layout and are fsynced in the background at checkpoints; the journal is only read
 * after a crash, to put back what the segments lost.
 *
 * Files: a ring of `files` files `<n>.wal`, each about `fileBytes`. The writer fills one, writes a
 * NEXT entry and goes on in the next one with the next generation number (file = generation mod
 * files). Every entry carries its generation and two CRC-32Cs, so a reader stops at zeros, at a
 * torn entry and at an entry of an older pass over the ring. A file is reused only once a
 * checkpoint (`checkpoint`: "<generation> <position>") lies past all of it: a checkpoint is taken by
 * fsyncing every segment appended since the previous one, then recording where the journal was
 * when it started. A file not yet at full size is zero-filled before the writer moves into it
 * (on the libuv pool, while it is not in use), because a write that grows a file makes the
 * fdatasync write the inode as well.
 *
 * Main thread only; the fdatasyncs, zero-fills and checkpoint writes run on the libuv pool.
 */
import { closeSync, fdatasync, fstatSync, mkdirSync, openSync, readFileSync, readSync, write, writevSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '../native/index.js';
import { writeFileDurablyAsync, writeFileDurably } from './durable-file.js';

/** The directory of the journal inside the data directory. */
export const WAL_DIR = 'franz-wal';
const CHECKPOINT_FILE = 'checkpoint';

/** What the journal needs from a partition log (Log implements it). */
export interface JournaledLog {
  /** Every record below `offset` is on disk (in the journal), unless the log was truncated since `term`. */
  journalDurable(offset: number, term: number): void;
  /** The journal could not be made durable: nothing more of this log can be acknowledged. */
  journalFailed(err: Error): void;
  /** The log's truncation count: a flush of records written before a truncation says nothing after it. */
  readonly journalTerm: number;
  /** fsyncs the log's segments (a checkpoint); resolves at once for a closed log. */
  syncSegments(): Promise<void>;
}

export interface WalOptions {
  /** Size of each file of the ring (a file grows past it while the next one is not free). */
  fileBytes: number;
  /** Files in the ring (at least 3: one written, one being freed by a checkpoint, one spare). */
  files: number;
  /** Checkpoint at least this often while appends come in, so that a restart has little to replay. */
  checkpointIntervalMs: number;
}

export const DEFAULT_WAL_OPTIONS: WalOptions = { fileBytes: 128 << 20, files: 4, checkpointIntervalMs: 30_000 };

/** Entry types. */
export enum EntryType {
  /** Record batches appended to a partition, offsets assigned. */
  APPEND = 1,
  /** The partition's log was truncated to `offset` (a follower diverged from its leader). */
  TRUNCATE = 2,
  /** The writer moved on to the next file (generation + 1) at this point. */
  NEXT = 3,
}

/*
 * Entry header, big-endian, HEADER_BYTES long, then `payloadLength` bytes of payload:
 *   0 magic u32 | 4 length u32 (header + payload) | 8 header CRC-32C u32 (of bytes 12..HEADER_BYTES)
 *  12 generation u32 | 16 type u8, 3 bytes zero | 20 topic id (16 bytes) | 36 partition i32
 *  40 offset i64 (APPEND: base offset; TRUNCATE: the new log end) | 48 end offset i64 (APPEND)
 *  56 payload CRC-32C u32 | 60 payload length u32
 */
const MAGIC = 0x46574131; // "FWA1"
export const HEADER_BYTES = 64;
/** Bounds the length field a reader believes: an entry is one append, at most a request's payload. */
const MAX_ENTRY_BYTES = 1 << 30;

/** 20 bytes: a partition's topic id (16) and partition number (4), as entries carry it. */
export function journalKey(topicIdBase64: string, partition: number): Buffer {
  const key = Buffer.alloc(20);
  Buffer.from(topicIdBase64, 'base64url').copy(key, 0, 0, 16);
  key.writeInt32BE(partition, 16);
  return key;
}

function writeOffset(buf: Buffer, at: number, v: number): void {
  buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000), at);
  buf.writeUInt32BE(v >>> 0, at + 4);
}

function readOffset(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/** One entry found by a scan; the payload stays in the file until read (readPayload). */
export interface ScannedEntry {
  type: EntryType.APPEND | EntryType.TRUNCATE;
  /** Topic id (base64url, as in partition.metadata) and partition. */
  topicId: string;
  partition: number;
  offset: number;
  endOffset: number;
  file: number;
  payloadPosition: number;
  payloadLength: number;
}

export interface ScanResult {
  entries: ScannedEntry[];
  /** Where the valid entries end: a new pass starts at the next generation. */
  endGeneration: number;
}

interface Position {
  gen: number;
  pos: number;
}

function fileName(dir: string, index: number): string {
  return join(dir, `${index}.wal`);
}

function readCheckpoint(dir: string): Position | null {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return null;
  const m = /^(\d+) (\d+)\s*$/.exec(readFileSync(path, 'utf8'));
  return m === null ? null : { gen: Number(m[1]), pos: Number(m[2]) };
}

/** Reads exactly `buf.length` bytes at `position`, or fewer where the file ends. */
function readAt(fd: number, buf: Buffer, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Reads the journal from its checkpoint to the end of its valid entries. Only headers are read and
 * checked here, and payload CRCs when `verifyPayloads` (recovery does: a torn payload ends the scan).
 */
export function scanJournal(dir: string, files: number): ScanResult {
  const start = readCheckpoint(dir);
  if (start === null) return { entries: [], endGeneration: 0 };
  const entries: ScannedEntry[] = [];
  const header = Buffer.alloc(HEADER_BYTES);
  let { gen, pos } = start;
  const fds = new Map<number, number>();
  const fdOf = (index: number): number | null => {
    if (!fds.has(index)) {
      const path = fileName(dir, index);
      if (!existsSync(path)) return null;
      fds.set(index, openSync(path, 'r'));
    }
    return fds.get(index)!;
  };
  let payload = Buffer.alloc(0);
  try {
    for (;;) {
      const index = gen % files;
      const fd = fdOf(index);
      if (fd === null) break;
      if (readAt(fd, header, pos) < HEADER_BYTES) break;
      if (header.readUInt32BE(0) !== MAGIC) break;
      const length = header.readUInt32BE(4);
      if (length < HEADER_BYTES || length > MAX_ENTRY_BYTES) break;
      if (crc32c(header.subarray(12, HEADER_BYTES)) !== header.readUInt32BE(8)) break;
      if (header.readUInt32BE(12) !== gen) break;
      const type = header.readUInt8(16);
      const payloadLength = header.readUInt32BE(60);
      if (payloadLength !== length - HEADER_BYTES) break;
      if (type === EntryType.NEXT) {
        gen++;
        pos = 0;
        continue;
      }
      if (type !== EntryType.APPEND && type !== EntryType.TRUNCATE) break;
      if (payloadLength > 0) {
        if (payload.length < payloadLength) payload = Buffer.alloc(Math.max(payloadLength, payload.length * 2));
        const view = payload.subarray(0, payloadLength);
        if (readAt(fd, view, pos + HEADER_BYTES) < payloadLength || crc32c(view) !== header.readUInt32BE(56)) break;
      }
      entries.push({
        type,
        topicId: header.subarray(20, 36).toString('base64url'),
        partition: header.readInt32BE(36),
        offset: readOffset(header, 40),
        endOffset: readOffset(header, 48),
        file: index,
        payloadPosition: pos + HEADER_BYTES,
        payloadLength,
      });
      pos += length;
    }
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  return { entries, endGeneration: gen };
}

/** Reads one scanned entry's payload (its CRC was checked by the scan). */
export function readPayload(dir: string, e: ScannedEntry): Buffer {
  const fd = openSync(fileName(dir, e.file), 'r');
  try {
    const buf = Buffer.alloc(e.payloadLength);
    if (readAt(fd, buf, e.payloadPosition) !== e.payloadLength) throw new Error(`journal file ${e.file} ends inside an entry`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

function writeAsync(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => write(fd, buf, 0, buf.length, position, (err) => (err ? reject(err) : resolve())));
}

const ZEROS = Buffer.alloc(1 << 20);

interface Pending {
  end: number;
  term: number;
}

export class WriteAheadLog {
  private readonly fds: number[] = [];
  /** Each file's size: a file smaller than fileBytes is zero-filled before the writer enters it. */
  private readonly sizes: number[] = [];
  private gen: number;
  private pos = 0;
  private checkpointAt: Position;
  /** The next file is being zero-filled: the writer must not enter it yet. */
  private preparing = false;
  private preparation: Promise<void> = Promise.resolve();
  /** Logs appended since the flush in progress began, with the end each reached. */
  private round = new Map<JournaledLog, Pending>();
  /** Files written since the flush in progress began (one, or two across a NEXT). */
  private touched = new Set<number>();
  private flushing = false;
  /** Settles when the flush in progress does. */
  private flushDone: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /** Logs appended (or truncated) since the last checkpoint began. */
  private dirty = new Set<JournaledLog>();
  private checkpointing: Promise<void> | null = null;
  private lastCheckpointMs = Date.now();
  private failure: Error | null = null;
  private closed = false;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private readonly timer: NodeJS.Timeout;
  /** Counters since start: fdatasync rounds, their total time, logs made durable by them, bytes written. */
  readonly stats = { flushes: 0, flushMs: 0, flushedLogs: 0, bytes: 0, checkpoints: 0 };

  /**
   * Opens the journal in `dir` for writing, after recovery has put back and fsynced whatever the
   * previous run left in it (`afterGeneration`, from scanJournal): writing starts at the next
   * generation, and the checkpoint says so before anything is written.
   */
  constructor(
    private readonly dir: string,
    private readonly opts: WalOptions,
    afterGeneration: number,
    private readonly logger: (msg: string, extra?: object) => void,
  ) {
    if (opts.files < 3) throw new Error('the journal needs at least 3 files');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < opts.files; i++) {
      const fd = openSync(fileName(dir, i), existsSync(fileName(dir, i)) ? 'r+' : 'w+');
      this.fds.push(fd);
      this.sizes.push(fstatSync(fd).size);
    }
    this.gen = afterGeneration + 1;
    this.checkpointAt = { gen: this.gen, pos: 0 };
    writeFileDurably(join(dir, CHECKPOINT_FILE), `${this.gen} 0\n`);
    this.timer = setInterval(
      () => {
        if (this.dirty.size > 0 && Date.now() - this.lastCheckpointMs >= opts.checkpointIntervalMs) this.startCheckpoint();
      },
      Math.min(1000, opts.checkpointIntervalMs),
    );
    this.timer.unref();
  }

  private get index(): number {
    return this.gen % this.opts.files;
  }

  /**
   * Journals records just appended to `log`'s segment (`payload`: its batches with offsets
   * assigned, [base, end)). Synchronous: the bytes are in the page cache when it returns, so the
   * caller may reuse the payload's buffer. `log.journalDurable(end)` follows the next flush.
   */
  append(log: JournaledLog, key: Buffer, base: number, end: number, payload: Buffer): void {
    if (this.failure !== null) {
      log.journalFailed(this.failure);
      return;
    }
    this.writeEntry(EntryType.APPEND, key, base, end, payload);
    if (this.failure !== null) {
      log.journalFailed(this.failure);
      return;
    }
    const p = this.round.get(log);
    if (p === undefined) this.round.set(log, { end, term: log.journalTerm });
    else {
      p.end = end;
      p.term = log.journalTerm;
    }
    this.dirty.add(log);
    this.scheduleFlush();
  }

  /** Journals a truncation of `log` to `offset`, so that recovery does not put back what it removed. */
  truncated(log: JournaledLog, key: Buffer, offset: number): void {
    if (this.failure !== null) return;
    this.writeEntry(EntryType.TRUNCATE, key, offset, offset, null);
    this.dirty.add(log);
    this.scheduleFlush();
  }

  private writeEntry(type: EntryType, key: Buffer | null, offset: number, end: number, payload: Buffer | null): void {
    const payloadLength = payload === null ? 0 : payload.length;
    const length = HEADER_BYTES + payloadLength;
    if (type !== EntryType.NEXT) this.maybeMoveOn(length);
    const h = this.header;
    h.fill(0);
    h.writeUInt32BE(MAGIC, 0);
    h.writeUInt32BE(length, 4);
    h.writeUInt32BE(this.gen, 12);
    h.writeUInt8(type, 16);
    if (key !== null) key.copy(h, 20, 0, 20);
    writeOffset(h, 40, offset);
    writeOffset(h, 48, end);
    h.writeUInt32BE(payload === null ? 0 : crc32c(payload), 56);
    h.writeUInt32BE(payloadLength, 60);
    h.writeUInt32BE(crc32c(h.subarray(12, HEADER_BYTES)), 8);
    const fd = this.fds[this.index]!;
    try {
      writevSync(fd, payload === null ? [h] : [h, payload], this.pos);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.pos += length;
    this.stats.bytes += length;
    if (this.pos > this.sizes[this.index]!) this.sizes[this.index] = this.pos;
    this.touched.add(this.index);
    // Zero-fill the next file well before it is needed (and the first file's successor early,
    // so that a fresh journal leaves its growing first file soon).
    if (!this.preparing && this.pos >= Math.min(this.opts.fileBytes / 2, 4 << 20)) this.prepareNext();
  }

  /**
   * Moves to the next file when this entry would not fit in this one, or would grow a file that
   * was not zero-filled while the next one is ready: never into a file being zero-filled, and never
   * into one a checkpoint has not freed (this file grows meanwhile, with slower fsyncs).
   */
  private maybeMoveOn(incoming: number): void {
    if (this.pos === 0) return;
    const full = this.pos + incoming > this.opts.fileBytes;
    const growing = this.pos + incoming > this.sizes[this.index]!;
    if (!full && !growing) return;
    // The next file holds generation gen + 1 - files until reused: free once a checkpoint is past it.
    if (this.gen + 1 - this.opts.files >= this.checkpointAt.gen) {
      void this.startCheckpoint();
      return;
    }
    if (this.preparing) return;
    const ready = this.sizes[(this.gen + 1) % this.opts.files]! >= this.opts.fileBytes;
    if (!full && !ready) return;
    this.writeEntry(EntryType.NEXT, null, 0, 0, null);
    this.gen++;
    this.pos = 0;
    void this.startCheckpoint();
  }

  private prepareNext(): void {
    const next = (this.gen + 1) % this.opts.files;
    const from = this.sizes[next]!;
    if (from >= this.opts.fileBytes) return;
    this.preparing = true;
    const fd = this.fds[next]!;
    const fill = async (): Promise<void> => {
      for (let at = from; at < this.opts.fileBytes; at += ZEROS.length) {
        await writeAsync(fd, ZEROS.subarray(0, Math.min(ZEROS.length, this.opts.fileBytes - at)), at);
      }
      // The size and the extents reach the disk now, so the fdatasyncs later write data only.
      await fdatasyncAsync(fd);
      this.sizes[next] = Math.max(this.sizes[next]!, this.opts.fileBytes);
    };
    this.preparation = fill()
      .catch((err: unknown) => this.logger('could not zero-fill a journal file', { file: next, err: String(err) }))
      .finally(() => {
        this.preparing = false;
      });
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn of the event loop: every append of the requests read in it joins the flush.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** One fdatasync for every append since the previous one began; then the next, if more came. */
  private flush(): void {
    if (this.flushing || this.touched.size === 0 || this.failure !== null || this.closed) return;
    this.flushing = true;
    const round = this.round;
    const files = [...this.touched];
    this.round = new Map();
    this.touched = new Set();
    const started = performance.now();
    this.flushDone = Promise.all(files.map((i) => fdatasyncAsync(this.fds[i]!))).then(
      () => {
        this.stats.flushes++;
        this.stats.flushMs += performance.now() - started;
        this.stats.flushedLogs += round.size;
        this.flushing = false;
        for (const [log, p] of round) log.journalDurable(p.end, p.term);
        if (this.touched.size > 0) this.flush();
      },
      (err: unknown) => {
        this.flushing = false;
        this.fail(err as Error);
        for (const log of round.keys()) log.journalFailed(err as Error);
      },
    );
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.logger('the journal failed: durable logs refuse acknowledgements', { err: err.message });
    for (const log of this.round.keys()) log.journalFailed(err);
    this.round.clear();
  }

  /**
   * Starts a checkpoint unless one is running: fsyncs the segments of every log appended since
   * the last one, then records the journal position of its start, freeing the files before it.
   */
  startCheckpoint(): Promise<void> {
    this.checkpointing ??= this.checkpoint().finally(() => {
      this.checkpointing = null;
    });
    return this.checkpointing;
  }

  private async checkpoint(): Promise<void> {
    const at: Position = { gen: this.gen, pos: this.pos };
    const logs = [...this.dirty];
    this.dirty = new Set();
    this.lastCheckpointMs = Date.now();
    const results = await Promise.allSettled(logs.map((l) => l.syncSegments()));
    if (results.some((r) => r.status === 'rejected')) {
      // A segment that could not be fsynced keeps its journal entries needed.
      for (const l of logs) this.dirty.add(l);
      this.logger('a journal checkpoint could not fsync every segment', {});
      return;
    }
    if (this.closed) return;
    try {
      await writeFileDurablyAsync(join(this.dir, CHECKPOINT_FILE), `${at.gen} ${at.pos}\n`);
    } catch (err) {
      // The journal stays whole: the previous checkpoint still holds, a later one will try again.
      for (const l of logs) this.dirty.add(l);
      this.logger('could not write the journal checkpoint', { err: String(err) });
      return;
    }
    this.stats.checkpoints++;
    if (at.gen > this.checkpointAt.gen || (at.gen === this.checkpointAt.gen && at.pos > this.checkpointAt.pos)) this.checkpointAt = at;
  }

  /** Resolves when no zero-fill, checkpoint or flush is running (close; tests). */
  async settled(): Promise<void> {
    for (;;) {
      await this.preparation;
      if (this.checkpointing !== null) await this.checkpointing;
      else if (this.flushing) await this.flushDone;
      else if (!this.preparing) return;
    }
  }

  /**
   * Clean shutdown, after every log has closed (and so fsynced its segments): a last checkpoint at
   * the end, so the next start has nothing to replay.
   */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.settled();
    if (this.failure === null) {
      this.dirty.clear();
      await this.startCheckpoint();
    }
    this.closed = true;
    for (const fd of this.fds) closeSync(fd);
  }
}
