/**
 * IndexWriter: a segment's sparse `.index` or `.timeindex` file, in Kafka's format, written and
 * never read. franz looks batches up in the segment's in-memory BatchTable (log-segment.ts); these
 * files are kept for operators and Kafka's own tools (kafka-dump-log), which expect them next to
 * every `.log`. They are not part of durability: after a crash they are rebuilt from the log.
 *
 * Kafka's two formats differ only in their entries, both big endian:
 * - `.index` (OFFSET_INDEX): relative offset int32 (offset - segment base offset), then the byte
 *   position of the batch in the `.log` int32: 8 bytes;
 * - `.timeindex` (TIME_INDEX): timestamp int64, then the relative offset int32: 12 bytes.
 * An entry is kept only when its key (the first field) is larger than the last entry's, so the
 * files stay sorted.
 *
 * Unlike Kafka we do not preallocate the files: each holds exactly the entries written. Entries
 * wait in memory, already encoded, and reach the file in batches (`flush`: on a roll, a close and
 * the broker's checkpoint tick) through a descriptor opened for that write only: a broker with
 * many thousands of partitions must not spend three descriptors on each, nor a write syscall per
 * batch. A new segment's file does not exist until its first flush: every new partition would
 * otherwise cost two more file creations, and creating files is what a topic of thousands of
 * partitions spends its time on. Not thread-safe: owned by one LogSegment on the main thread.
 */
import { closeSync, constants, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';

/** How one kind of index file lays out an entry. */
export interface IndexEntryFormat {
  readonly entryBytes: number;
  /** Encodes (key, value) at `at` of `buf`; the key is what entries are sorted by. */
  write(buf: Buffer, at: number, key: number, value: number): void;
}

const TWO_32 = 2 ** 32;

// The int32 fields are written `| 0`, as an Int32Array would store them: a segment stays below
// 2 GiB (segment.bytes is an int) and an index append must never throw on the append path.

/** `.index`: key = relative offset, value = file position. */
export const OFFSET_INDEX: IndexEntryFormat = {
  entryBytes: 8,
  write(buf, at, relativeOffset, position) {
    buf.writeInt32BE(relativeOffset | 0, at);
    buf.writeInt32BE(position | 0, at + 4);
  },
};

/** `.timeindex`: key = timestamp (ms), value = relative offset. */
export const TIME_INDEX: IndexEntryFormat = {
  entryBytes: 12,
  write(buf, at, timestamp, relativeOffset) {
    // An int64 as two halves: a BigInt per entry would be garbage on the append path.
    const high = Math.floor(timestamp / TWO_32);
    buf.writeInt32BE(high, at);
    buf.writeUInt32BE(timestamp - high * TWO_32, at + 4);
    buf.writeInt32BE(relativeOffset | 0, at + 8);
  },
};

/** Write-only, created if missing, and not O_APPEND: writes go to the position given. */
const FLAGS = constants.O_WRONLY | constants.O_CREAT;
/** Entries a new pending buffer holds before it first grows. */
const INITIAL_ENTRIES = 16;

export class IndexWriter {
  /** Entries in the file (a torn last entry, if any, is overwritten by the next flush). */
  private written: number;
  /** Encoded entries not yet in the file: `pendingBytes` of `pending`. */
  private pending: Buffer | null = null;
  private pendingBytes = 0;
  /** The key of the last entry (written or pending): later entries must be larger. */
  private lastKey = -Infinity;
  /** Whether the file may exist (see the top: it is created by the first flush). */
  private onDisk: boolean;

  constructor(
    readonly path: string,
    private readonly format: IndexEntryFormat,
  ) {
    const st = statSync(path, { throwIfNoEntry: false });
    this.onDisk = st !== undefined;
    this.written = st === undefined ? 0 : Math.floor(st.size / format.entryBytes);
  }

  /** Entries in the file and waiting for it. */
  get entries(): number {
    return this.written + this.pendingBytes / this.format.entryBytes;
  }

  /**
   * Tells a writer opened on an existing file that its entries go up to `key` (a segment reopened
   * after a clean shutdown knows its last offset and largest timestamp), so that only larger keys
   * are appended after them.
   */
  resumeAfter(key: number): void {
    if (key > this.lastKey) this.lastKey = key;
  }

  /** Adds an entry unless its key is not above the last one. */
  append(key: number, value: number): void {
    if (key <= this.lastKey) return;
    const n = this.format.entryBytes;
    let buf = this.pending;
    if (buf === null || this.pendingBytes + n > buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(INITIAL_ENTRIES * n, (buf?.length ?? 0) * 2));
      if (buf !== null) buf.copy(grown, 0, 0, this.pendingBytes);
      this.pending = buf = grown;
    }
    this.format.write(buf, this.pendingBytes, key, value);
    this.pendingBytes += n;
    this.lastKey = key;
  }

  /** Writes the waiting entries after those already in the file. Throws on an I/O error, keeping them waiting. */
  flush(): void {
    if (this.pendingBytes === 0) return;
    const fd = openSync(this.path, FLAGS, 0o644);
    try {
      writeSync(fd, this.pending!, 0, this.pendingBytes, this.written * this.format.entryBytes);
    } finally {
      closeSync(fd);
    }
    this.onDisk = true;
    this.written += this.pendingBytes / this.format.entryBytes;
    this.pendingBytes = 0;
    // A burst of entries (a recovery's rebuild) should not keep its buffer for the segment's life.
    if (this.pending!.length > INITIAL_ENTRIES * this.format.entryBytes) this.pending = null;
  }

  /** Drops every entry, in memory and in the file (a new segment, or one whose index is rebuilt). */
  reset(): void {
    this.pendingBytes = 0;
    this.pending = null;
    this.lastKey = -Infinity;
    this.written = 0;
    if (!this.onDisk) return;
    const fd = openSync(this.path, FLAGS, 0o644);
    try {
      ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
  }
}
