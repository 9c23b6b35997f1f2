/**
 * The data path implemented in Rust (native/src). This is the ONLY module that loads the
 * addon; everything else imports these typed wrappers.
 *
 * There is deliberately no JavaScript fallback: if the addon is missing or fails to load,
 * importing this module prints one line to stderr and exits with code 1.
 *
 * Errors: functions that do I/O throw (or reject with) an Error whose message starts with
 * the errno name ("ENOSPC: pwrite to segment: No space left on device (os error 28)"); the
 * wrappers also set `err.code` to that name, so callers can map it with `errnoOf(err)`
 * (e.g. any of them -> KAFKA_STORAGE_ERROR for appends). Argument errors use "EINVAL".
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Chunk, FileRegion } from '../protocol/primitives.js';

/**
 * Where each fact of a batch sits in a packed array (validateBatches, scanSegment):
 * `stride` numbers per batch, fact `f` of batch `k` at `k * stride + f`. Defined once, in Rust
 * (native/src/batch.rs), and read from the addon when it loads; src/storage/batch-facts.ts
 * is the one reader of packed arrays.
 */
export interface BatchLayout {
  readonly stride: number;
  /** Start of the batch: relative to the buffer (validateBatches) or absolute in the file (scanSegment). */
  readonly position: number;
  /** Whole batch size in bytes (12 + batchLength). */
  readonly size: number;
  readonly baseOffset: number;
  readonly lastOffsetDelta: number;
  /** The batch's baseTimestamp. */
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly attributes: number;
  readonly recordCount: number;
}

/**
 * The outcome of validateBatches. On success `batches` holds `count` rows of packed facts
 * (positions relative to the validated buffer); on error it is empty.
 *
 * The rows live in one array that every validateBatches call reuses (a fresh typed array per
 * partition payload was most of the call's cost for a small batch, and garbage for V8 to sweep
 * at 10 000 partitions), so a result is valid only until the next validateBatches call.
 * `generation` says which call made it: appendBatches refuses a result whose generation is no
 * longer current (StaleBatchesError) instead of appending with another payload's facts. Validate
 * and append in the same synchronous step (LogValidator does), never across an `await`.
 */
export interface ValidatedBatches {
  /** Kafka error code: 0 ok, 2 CORRUPT_MESSAGE, 10 MESSAGE_TOO_LARGE, 43 UNSUPPORTED_FOR_MESSAGE_FORMAT. */
  readonly errorCode: number;
  readonly batches: Float64Array;
  /** Number of batches (rows in `batches`). */
  readonly count: number;
  /** Which validateBatches call produced this result (see isCurrent). */
  readonly generation: number;
}

/**
 * Thrown when a validation result is used after a later validateBatches call reused its array:
 * a bug in the caller (validation and append separated by an await, or interleaved), never bad
 * input from a client.
 */
export class StaleBatchesError extends Error {
  readonly code = 'ERR_FRANZ_STALE_BATCHES';
  constructor(generation: number, current: number) {
    super(
      `stale batch facts: validated by validateBatches call ${generation}, but call ${current} has reused their ` +
        'array since; validate the payload again right before appending it',
    );
    this.name = 'StaleBatchesError';
  }
}

/**
 * Why a scan stopped before `end`: 'truncated' (the file ends inside a batch), 'bad-length'
 * (batchLength < 49), 'bad-magic', 'too-large' (batch > maxBatchBytes), 'bad-crc',
 * 'bad-record-count' (negative), 'bad-offset-delta' (negative lastOffsetDelta).
 */
export type StopReason = 'truncated' | 'bad-length' | 'bad-magic' | 'too-large' | 'bad-crc' | 'bad-record-count' | 'bad-offset-delta';

export interface ScanResult {
  /** Position just after the last good batch (== `start` if none). */
  validEnd: number;
  /** Packed facts (BATCH_STRIDE per batch), positions absolute in the file. */
  batches: Float64Array;
  /** null when the scan reached `end` cleanly. */
  stopReason: StopReason | null;
}

/**
 * The raw addon as napi-rs exports it (native/index.d.ts is generated, gitignored, and
 * only a reference; this interface is the checked-in contract).
 * `sendChunks` takes `Array<Uint8Array | FileRegion>` (a napi `Vec<Either<&[u8], FileRegion>>`),
 * which is exactly the shape of `Chunk[]`, so the wrapper passes chunks through unchanged
 * (the addon only reads the array, so a readonly one is fine).
 */
interface NativeAddon {
  batchLayout(): BatchLayout;
  crc32c(buf: Uint8Array): number;
  zstdCompress(data: Uint8Array, level: number): Buffer;
  zstdDecompress(data: Uint8Array, maxBytes: number): Buffer;
  snappyCompress(data: Uint8Array): Buffer;
  md5Keys(data: Uint8Array, spans: Uint8Array, out: Uint8Array): number;
  snappyDecompress(data: Uint8Array, maxBytes: number): Buffer;
  validateBatchesInto(buf: Uint8Array, maxBatchBytes: number, out: Float64Array): number;
  appendBatches(
    fd: number,
    filePosition: number,
    buf: Uint8Array,
    batches: Float64Array,
    firstOffset: number,
    leaderEpoch: number,
    logAppendTime: number,
  ): number;
  scanSegment(
    fd: number,
    start: number,
    end: number,
    verifyCrc: boolean,
    maxBatchBytes: number,
  ): { validEnd: number; batches: Float64Array; stopReason?: string | null };
  sendChunks(socketFd: number, chunks: ReadonlyArray<Uint8Array | FileRegion>, timeoutMs: number): Promise<number>;
  dupDescriptor(fd: number): number;
  setListenerMaxSegment(fd: number, bytes: number): void;
  maxSegment(fd: number): number;
  setSocketBufferSize(fd: number, send: boolean, bytes: number): void;
  socketBufferSize(fd: number, send: boolean): number;
}

/** napi-rs's name for the current platform, as `napi build --platform` puts it in the file name. */
function platformTriple(): string {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return `linux-${arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The package root: the nearest directory above this file with a package.json (works from src/ and dist/src/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function fail(line: string): never {
  process.stderr.write(`franz: ${line}\n`);
  process.exit(1);
}

function loadAddon(): NativeAddon {
  const root = packageRoot();
  const file = join(root, 'native', `franz.${platformTriple()}.node`);
  const shown = relative(process.cwd(), file) || file;
  const rebuild = 'run "npm run build:native"';
  if (!existsSync(file)) fail(`the native addon is not built (${shown} missing): ${rebuild}`);
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    fail(`the native addon failed to load (${shown}: ${why}): ${rebuild}`);
  }
  // A stale build from an older checkout would silently misread packed arrays or take other
  // arguments: it must have every export this file calls, and a well-formed batch layout.
  const required = [
    'batchLayout',
    'validateBatchesInto',
    'appendBatches',
    'scanSegment',
    'sendChunks',
    'setSocketBufferSize',
    'zstdDecompress',
    'snappyDecompress',
    'md5Keys',
  ] as const;
  if (required.some((f) => typeof addon[f] !== 'function') || !wellFormed(addon.batchLayout())) {
    fail(`the native addon is out of date (${shown}): ${rebuild}`);
  }
  return addon;
}

const LAYOUT_FIELDS = [
  'position',
  'size',
  'baseOffset',
  'lastOffsetDelta',
  'firstTimestamp',
  'maxTimestamp',
  'producerId',
  'producerEpoch',
  'baseSequence',
  'attributes',
  'recordCount',
] as const satisfies ReadonlyArray<Exclude<keyof BatchLayout, 'stride'>>;

/** Every fact has its own index below the stride. */
function wellFormed(layout: BatchLayout): boolean {
  const { stride } = layout;
  if (!Number.isInteger(stride) || stride < LAYOUT_FIELDS.length) return false;
  const seen = new Set<number>();
  for (const f of LAYOUT_FIELDS) {
    const i = layout[f];
    if (!Number.isInteger(i) || i < 0 || i >= stride || seen.has(i)) return false;
    seen.add(i);
  }
  return true;
}

const native = loadAddon();
const layout: BatchLayout = Object.freeze({ ...native.batchLayout() });

/** The packed-facts layout, as the addon defines it. */
export function batchLayout(): BatchLayout {
  return layout;
}

/** Packed per-batch facts: BATCH_STRIDE numbers per batch, at the B_* indices (from batchLayout). */
export const BATCH_STRIDE = layout.stride;
export const B_POSITION = layout.position;
export const B_SIZE = layout.size;
export const B_BASE_OFFSET = layout.baseOffset;
export const B_LAST_OFFSET_DELTA = layout.lastOffsetDelta;
export const B_FIRST_TIMESTAMP = layout.firstTimestamp;
export const B_MAX_TIMESTAMP = layout.maxTimestamp;
export const B_PRODUCER_ID = layout.producerId;
export const B_PRODUCER_EPOCH = layout.producerEpoch;
export const B_BASE_SEQUENCE = layout.baseSequence;
export const B_ATTRIBUTES = layout.attributes;
export const B_RECORD_COUNT = layout.recordCount;

/** The errno name an error from this module carries ('ENOSPC', 'EPIPE', ...), if any. */
export function errnoOf(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const m = /^(E[A-Z0-9]+): /.exec(err.message);
  return m ? m[1] : undefined;
}

/** Gives native errors a Node-style `code` (napi-rs sets it to 'GenericFailure'). */
function withErrno(err: unknown): unknown {
  const code = errnoOf(err);
  if (code) (err as NodeJS.ErrnoException).code = code;
  return err;
}

/**
 * napi converts JS numbers to Rust integers by truncation and NaN to 0, so a bad fd or
 * position would silently become fd 0 / offset 0. Checked here, on the way in.
 */
function int(name: string, v: number, min = 0, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw Object.assign(new Error(`EINVAL: ${name} must be an integer in [${min}, ${max}], got ${v}`), { code: 'EINVAL' });
  }
}
const INT32_MAX = 0x7fffffff;

/** CRC-32C (Castagnoli) of `buf`, as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array): number {
  return native.crc32c(buf);
}

/** One zstd frame of `data` at `level` (zstd's levels; 0 is its default, 3). */
export function zstdCompress(data: Uint8Array, level: number): Buffer {
  int('level', level, -131072, 22);
  return native.zstdCompress(data, level);
}

/**
 * The bytes of the zstd frames in `data`. Throws when they are malformed ("zstd: corrupt frame")
 * or would exceed `maxBytes` ("zstd: decompressed size exceeds the bound"), having produced at most
 * `maxBytes + 1` bytes: the frame's own size field is not trusted.
 */
export function zstdDecompress(data: Uint8Array, maxBytes: number): Buffer {
  int('maxBytes', maxBytes);
  return native.zstdDecompress(data, Math.min(maxBytes, 0xffffffff));
}

/**
 * MD5 of `count` keys of `data` into `out` (16 bytes each, in order): key i is at `spans[2i]` and
 * `spans[2i + 1]` bytes long. One call for all the keys of a batch (the log cleaner's key map).
 */
export function md5Keys(data: Uint8Array, spans: Uint32Array, count: number, out: Uint8Array): void {
  int('count', count, 0, Math.floor(spans.length / 2));
  native.md5Keys(data, new Uint8Array(spans.buffer, spans.byteOffset, count * 8), out);
}

/** One raw snappy block of `data` (Kafka's snappy batches add a framing around these: records layer). */
export function snappyCompress(data: Uint8Array): Buffer {
  return native.snappyCompress(data);
}

/**
 * The bytes of one raw snappy block. Throws when it is malformed ("snappy: corrupt block") or
 * announces more than `maxBytes` ("snappy: decompressed size exceeds the bound"), before
 * allocating for it.
 */
export function snappyBlockDecompress(data: Uint8Array, maxBytes: number): Buffer {
  int('maxBytes', maxBytes, 0, Number.MAX_SAFE_INTEGER);
  return native.snappyDecompress(data, Math.min(maxBytes, 0xffffffff));
}

/**
 * Validates every batch in `buf` (a partition's payload from a Produce request): whole
 * batches only, batchLength >= 49 and fits, magic == 2, CRC-32C correct, recordCount >= 0,
 * lastOffsetDelta >= 0, each batch size <= maxBatchBytes. Never throws for bad data.
 * The result is valid until the next call (see ValidatedBatches).
 */
export function validateBatches(buf: Uint8Array, maxBatchBytes: number): ValidatedBatches {
  int('maxBatchBytes', maxBatchBytes);
  const max = Math.min(maxBatchBytes, 0xffffffff);
  // Every call may overwrite the shared array, so every call starts a new generation.
  const generation = ++validations;
  let n = native.validateBatchesInto(buf, max, validated);
  if (n < 0) return { errorCode: -n, batches: NO_BATCHES, count: 0, generation };
  if (n * BATCH_STRIDE > validated.length) {
    // More batches than ever before in one payload: grow (doubling) and validate again.
    validated = new Float64Array(Math.max(n, (2 * validated.length) / BATCH_STRIDE) * BATCH_STRIDE);
    n = native.validateBatchesInto(buf, max, validated);
  }
  return { errorCode: 0, batches: validated.subarray(0, n * BATCH_STRIDE), count: n, generation };
}

/**
 * The array validateBatches packs into, kept across calls: a fresh typed array per partition
 * payload (each with its own ArrayBuffer) was most of the call's cost for a small batch, and
 * garbage for V8 to sweep at 10 000 partitions.
 */
let validated = new Float64Array(64 * BATCH_STRIDE);
const NO_BATCHES = new Float64Array(0);
/** validateBatches calls so far: the generation of the newest result. */
let validations = 0;

/** Whether `v` is still valid: no validateBatches call has reused its array since it was made. */
export function isCurrent(v: ValidatedBatches): boolean {
  return v.generation === validations;
}

/** Throws StaleBatchesError unless `v` is still valid (isCurrent). */
export function assertCurrent(v: ValidatedBatches): void {
  if (v.generation !== validations) throw new StaleBatchesError(v.generation, validations);
}

/**
 * Appends a validated payload to a segment file in one native pass and one pwrite():
 * - patches baseOffset (first batch gets firstOffset, each next one previous +
 *   lastOffsetDelta + 1) and partitionLeaderEpoch into each batch of `buf` IN PLACE (both sit
 *   before the CRC'd range, so CRCs stay valid);
 * - with `logAppendTime` >= 0 (message.timestamp.type=LogAppendTime), also sets each batch's
 *   timestamp-type attribute bit and maxTimestamp = logAppendTime and recomputes its CRC-32C;
 *   the rows of `validated` are updated to match (attributes, maxTimestamp). -1 leaves the
 *   producer's timestamps alone;
 * - pwrite()s the whole buffer at `filePosition` of `fd`.
 * Returns the next offset (last assigned + 1).
 *
 * `validated` is what validateBatches returned for this same buffer, and must still be current
 * (StaleBatchesError otherwise); its rows are re-checked natively against the buffer (EINVAL on
 * a mismatch). On an I/O error (message starts with the errno name) part of the buffer may
 * already be in the file: the caller keeps the logical end of the segment and must truncate back
 * to `filePosition` before appending again.
 */
export function appendBatches(
  fd: number,
  filePosition: number,
  buf: Uint8Array,
  validated: ValidatedBatches,
  firstOffset: number,
  leaderEpoch: number,
  logAppendTime: number,
): number {
  assertCurrent(validated);
  if (validated.errorCode !== 0) {
    throw Object.assign(new Error(`EINVAL: the payload failed validation (error ${validated.errorCode})`), { code: 'EINVAL' });
  }
  int('fd', fd, 0, INT32_MAX);
  int('filePosition', filePosition);
  int('firstOffset', firstOffset);
  int('leaderEpoch', leaderEpoch, -1, INT32_MAX);
  int('logAppendTime', logAppendTime, -1);
  try {
    return native.appendBatches(fd, filePosition, buf, validated.batches, firstOffset, leaderEpoch, logAppendTime);
  } catch (e) {
    throw withErrno(e);
  }
}

/**
 * Scans a segment file from `start` (a batch boundary) to `end` (the file size), reading
 * 1 MiB chunks (more for bigger batches, up to maxBatchBytes), and returns the facts of
 * each complete batch, stopping at the first one that is truncated, has a bad length,
 * wrong magic or (when verifyCrc) a bad CRC. With verifyCrc=false large batches are not
 * read beyond their header. Throws (errno-prefixed) only on I/O errors.
 */
export function scanSegment(fd: number, start: number, end: number, verifyCrc: boolean, maxBatchBytes: number): ScanResult {
  int('fd', fd, 0, INT32_MAX);
  int('start', start);
  int('end', end);
  int('maxBatchBytes', maxBatchBytes);
  try {
    const r = native.scanSegment(fd, start, end, verifyCrc, Math.min(maxBatchBytes, 0xffffffff));
    return { validEnd: r.validEnd, batches: r.batches, stopReason: (r.stopReason ?? null) as StopReason | null };
  } catch (e) {
    throw withErrno(e);
  }
}

/**
 * Writes the chunks in order to the (non-blocking) socket `socketFd`: Buffers with send(),
 * file regions with sendfile(2). Resolves with the total bytes written.
 *
 * Before this returns, the socket fd and every file fd are dup()ed (F_DUPFD_CLOEXEC) and
 * Buffers copied, so the caller may close its fds or reuse its Buffers immediately; the
 * writing runs on franz's sender thread (native/src/sender.rs) using only the duplicates,
 * which are closed when it ends, in every path. That one thread multiplexes every response in
 * flight with epoll, so a consumer that stops reading holds no thread: neither the libuv pool
 * (which runs the group-commit fdatasync) nor the sender waits for it.
 *
 * `timeoutMs` bounds each wait for the socket to become writable (an idle timeout, not a
 * deadline for the whole transfer). Rejects with 'ETIMEDOUT: ...', 'EPIPE: ...',
 * 'ECONNRESET: ...', 'EIO: ...' (file shorter than the region), etc.
 * The caller must not write to the same socket from JS until the promise settles.
 */
export function sendChunks(socketFd: number, chunks: readonly Chunk[], timeoutMs: number): Promise<number> {
  try {
    int('socketFd', socketFd, 0, INT32_MAX);
    int('timeoutMs', timeoutMs);
    for (const c of chunks) {
      if (!(c instanceof Uint8Array)) {
        int('region fd', c.fd, 0, INT32_MAX);
        int('region position', c.position);
        int('region length', c.length);
      }
    }
    return native.sendChunks(socketFd, chunks, Math.min(timeoutMs, 0xffffffff)).catch((e: unknown) => {
      throw withErrno(e);
    });
  } catch (e) {
    return Promise.reject(withErrno(e));
  }
}

/**
 * A new descriptor (close-on-exec) for the same open file or socket as `fd`; the caller owns it
 * and must close it. Throws with the errno ('EMFILE: ...', 'EBADF: ...').
 */
export function dupDescriptor(fd: number): number {
  int('fd', fd, 0, INT32_MAX);
  try {
    return native.dupDescriptor(fd);
  } catch (e) {
    throw withErrno(e);
  }
}

/**
 * Caps the TCP maximum segment size (TCP_MAXSEG) of the connections the listening socket `fd`
 * accepts from now on. Throws with the errno ('EBADF: ...', 'ENOTSOCK: ...', 'EINVAL: ...').
 */
export function setListenerMaxSegment(fd: number, bytes: number): void {
  int('fd', fd, 0, INT32_MAX);
  int('bytes', bytes, 1, INT32_MAX);
  try {
    native.setListenerMaxSegment(fd, bytes);
  } catch (e) {
    throw withErrno(e);
  }
}

/** The maximum segment size a connected TCP socket `fd` sends with (TCP_MAXSEG read back). */
export function maxSegment(fd: number): number {
  int('fd', fd, 0, INT32_MAX);
  try {
    return native.maxSegment(fd);
  } catch (e) {
    throw withErrno(e);
  }
}

/**
 * Fixes the kernel send (`send`) or receive buffer (SO_SNDBUF / SO_RCVBUF) of socket `fd`; on a
 * listening socket, of the connections it accepts from now on. Throws with the errno.
 */
export function setSocketBufferSize(fd: number, send: boolean, bytes: number): void {
  int('fd', fd, 0, INT32_MAX);
  int('bytes', bytes, 1, INT32_MAX);
  try {
    native.setSocketBufferSize(fd, send, bytes);
  } catch (e) {
    throw withErrno(e);
  }
}

/** The kernel send (`send`) or receive buffer size of socket `fd` as Linux reports it: twice the value set. */
export function socketBufferSize(fd: number, send: boolean): number {
  int('fd', fd, 0, INT32_MAX);
  try {
    return native.socketBufferSize(fd, send);
  } catch (e) {
    throw withErrno(e);
  }
}
