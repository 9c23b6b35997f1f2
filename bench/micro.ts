/**
 * Micro-benchmarks of franz's data path (tinybench). Every benchmark first checks that the code
 * under test gives the right answer on its input, and only then times it; a wrong answer makes
 * the row an error instead of a number.
 *
 *  - CRC-32C: the native addon against a table-driven JavaScript implementation (slicing-by-8).
 *  - validateBatches: MB/s over a 1 MiB produce payload of 16 KiB batches.
 *  - Segment append: native appendBatches (offset patching + pwrite) into a temp file, with and
 *    without an fdatasync after each append.
 *  - Fetch: native sendChunks (sendfile on a pool thread) against pread + socket.write, over
 *    loopback to a sink running in a worker thread.
 *  - Codecs: franz's compress/decompress for gzip, snappy (xerial framing), lz4 (frame), inline on
 *    the main thread and through a piscina pool; zstd is not available on Node 20.
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Bench, type Task } from 'tinybench';
import { Piscina } from 'piscina';
import * as native from '../src/native/index.js';
import { Compression, compress, decompress } from '../src/records/record-batch.js';
import type { CompressTask } from './compress-worker.js';
import { prng, recordText, type Progress } from './util.js';

export interface MicroRow {
  group: string;
  name: string;
  /** Bytes processed per operation (for MB/s), 0 when not meaningful. */
  bytesPerOp: number;
  opsPerSec: number | null;
  mbPerSec: number | null;
  meanUs: number | null;
  p99Us: number | null;
  samples: number | null;
  note?: string;
  error?: string;
}

export interface MicroOptions {
  quick: boolean;
  progress: Progress;
}

/** How many progress units micro() reports (one per group). */
export const MICRO_UNITS = 5;

// ---------------------------------------------------------------------------------------------
// A JavaScript CRC-32C (Castagnoli, reflected 0x82F63B78), slicing-by-8.

const CRC_TABLES = ((): Uint32Array[] => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k]![n] = (t[0]![t[k - 1]![n]! & 0xff]! ^ (t[k - 1]![n]! >>> 8)) >>> 0;
  }
  return t;
})();

export function jsCrc32c(buf: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = 0xffffffff;
  let i = 0;
  const n8 = buf.length - (buf.length % 8);
  for (; i < n8; i += 8) {
    const a = (c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[buf[i + 4]!]! ^
      t2[buf[i + 5]!]! ^
      t1[buf[i + 6]!]! ^
      t0[buf[i + 7]!]!;
  }
  for (; i < buf.length; i++) c = t0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** A record-batch payload: `count` v2 batches with `recordsBytes` of opaque records each (CRC by jsCrc32c). */
function batchPayload(count: number, recordsBytes: number, recordsPerBatch: number): Buffer {
  const rand = prng(42);
  const size = 61 + recordsBytes;
  const out = Buffer.alloc(count * size);
  for (let i = 0; i < count; i++) {
    const b = out.subarray(i * size, (i + 1) * size);
    b.writeBigInt64BE(0n, 0);
    b.writeInt32BE(49 + recordsBytes, 8);
    b.writeInt32BE(-1, 12);
    b.writeInt8(2, 16);
    b.writeInt16BE(0, 21);
    b.writeInt32BE(recordsPerBatch - 1, 23);
    b.writeBigInt64BE(1_700_000_000_000n, 27);
    b.writeBigInt64BE(1_700_000_000_999n, 35);
    b.writeBigInt64BE(-1n, 43);
    b.writeInt16BE(-1, 51);
    b.writeInt32BE(-1, 53);
    b.writeInt32BE(recordsPerBatch, 57);
    b.write(recordText(rand, recordsBytes), 61, 'latin1');
    b.writeUInt32BE(jsCrc32c(b.subarray(21)), 17);
  }
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Running and collecting

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`wrong result before timing: ${what}`);
}

function rowOf(group: string, task: Task, bytesPerOp: number, note?: string): MicroRow {
  const r = task.result as unknown as {
    state: string;
    latency?: { mean: number; p99: number; samplesCount?: number };
    period?: number;
    error?: unknown;
  };
  if (r.state === 'errored' || r.latency === undefined) {
    return {
      group,
      name: task.name,
      bytesPerOp,
      opsPerSec: null,
      mbPerSec: null,
      meanUs: null,
      p99Us: null,
      samples: null,
      error: String((r as { error?: unknown }).error ?? r.state),
    };
  }
  const meanMs = r.period ?? r.latency.mean;
  const ops = meanMs > 0 ? 1000 / meanMs : null;
  return {
    group,
    name: task.name,
    bytesPerOp,
    opsPerSec: ops,
    mbPerSec: ops !== null && bytesPerOp > 0 ? (ops * bytesPerOp) / 1e6 : null,
    meanUs: meanMs * 1000,
    p99Us: r.latency.p99 * 1000,
    samples: r.latency.samplesCount ?? null,
    note,
  };
}

function errorRow(group: string, name: string, err: unknown): MicroRow {
  return {
    group,
    name,
    bytesPerOp: 0,
    opsPerSec: null,
    mbPerSec: null,
    meanUs: null,
    p99Us: null,
    samples: null,
    error: err instanceof Error ? err.message : String(err),
  };
}

function newBench(quick: boolean): Bench {
  return new Bench({ time: quick ? 250 : 1000, warmupTime: quick ? 50 : 200, iterations: 5, warmupIterations: 2 });
}

// ---------------------------------------------------------------------------------------------
// The groups

async function crcGroup(quick: boolean): Promise<MicroRow[]> {
  const group = 'CRC-32C';
  const buf = batchPayload(1, 1024 * 1024 - 61, 1000);
  // Known answer (RFC 3720 test vector) and agreement on the benchmark input.
  check(native.crc32c(Buffer.from('123456789')) === 0xe3069283, 'native crc32c("123456789")');
  check(jsCrc32c(Buffer.from('123456789')) === 0xe3069283, 'js crc32c("123456789")');
  check(native.crc32c(buf) === jsCrc32c(buf), 'native and JS CRC-32C agree on 1 MiB');
  const bench = newBench(quick);
  let sink = 0;
  bench.add(
    'native crc32c, 1 MiB',
    () => {
      sink ^= native.crc32c(buf);
    },
    { async: false },
  );
  bench.add(
    'JavaScript crc32c (slicing-by-8), 1 MiB',
    () => {
      sink ^= jsCrc32c(buf);
    },
    { async: false },
  );
  await bench.run();
  void sink;
  return bench.tasks.map((t) => rowOf(group, t, buf.length));
}

async function validateGroup(quick: boolean): Promise<MicroRow[]> {
  const group = 'Batch validation';
  const payload = batchPayload(64, 16 * 1024 - 61, 16); // 64 x 16 KiB = 1 MiB
  const ok = native.validateBatches(payload, 1048588);
  check(ok.errorCode === 0 && ok.batches.length === 64 * native.BATCH_STRIDE, 'validateBatches accepts 64 good batches');
  const bad = Buffer.from(payload);
  bad[bad.length - 1]! ^= 1;
  check(native.validateBatches(bad, 1048588).errorCode === 2, 'validateBatches reports a flipped bit as CORRUPT_MESSAGE');
  const small = batchPayload(1, 1024 - 61, 1);
  const bench = newBench(quick);
  bench.add(
    'validateBatches, 1 MiB (64 x 16 KiB batches)',
    () => {
      native.validateBatches(payload, 1048588);
    },
    { async: false },
  );
  bench.add(
    'validateBatches, one 1 KiB batch (per-call cost)',
    () => {
      native.validateBatches(small, 1048588);
    },
    { async: false },
  );
  await bench.run();
  return [rowOf(group, bench.tasks[0]!, payload.length), rowOf(group, bench.tasks[1]!, small.length)];
}

async function appendGroup(quick: boolean, dir: string): Promise<MicroRow[]> {
  const group = 'Segment append';
  const payload = batchPayload(4, 16 * 1024 - 61, 16); // 64 KiB: 4 batches of 16 records
  let facts = native.validateBatches(payload, 1048588);
  check(facts.errorCode === 0, 'append input validates');
  const path = join(dir, '00000000000000000000.log');
  const fd = openSync(path, 'w+');
  try {
    // Correctness: offsets patched, bytes written where asked, CRCs still valid.
    const next = native.appendBatches(fd, 0, payload, facts, 1000, 7, -1);
    check(next === 1000 + 4 * 16, `appendBatches returns the next offset (got ${next})`);
    const back = Buffer.alloc(payload.length);
    readSync(fd, back, 0, back.length, 0);
    check(back.readBigInt64BE(0) === 1000n && back.readInt32BE(12) === 7, 'base offset and leader epoch patched');
    check(back.readBigInt64BE(16 * 1024) === 1016n, 'second batch gets the next base offset');
    check(native.validateBatches(back, 1048588).errorCode === 0, 'appended batches keep valid CRCs');
    check(fstatSync(fd).size === payload.length, 'file holds exactly the payload');
    // The CRC check above reused the validation array: validate the payload again for the loop.
    facts = native.validateBatches(payload, 1048588);

    const LIMIT = 64 * 1024 * 1024;
    let pos = 0;
    let offset = 0;
    const appendOnce = (): void => {
      if (pos + payload.length > LIMIT) {
        ftruncateSync(fd, 0);
        pos = 0;
      }
      offset = native.appendBatches(fd, pos, payload, facts, offset, 0, -1);
      pos += payload.length;
    };
    const bench = newBench(quick);
    bench.add('appendBatches 64 KiB, no fsync (page cache)', appendOnce, { async: false });
    bench.add(
      'appendBatches 64 KiB + fdatasync',
      () => {
        appendOnce();
        fdatasyncSync(fd);
      },
      { async: false },
    );
    bench.add(
      'fdatasync alone after a 1 KiB append',
      () => {
        if (pos + 1024 > LIMIT) {
          ftruncateSync(fd, 0);
          pos = 0;
        }
        writeSync(fd, payload, 0, 1024, pos);
        pos += 1024;
        fdatasyncSync(fd);
      },
      { async: false },
    );
    await bench.run();
    return [
      rowOf(group, bench.tasks[0]!, payload.length),
      rowOf(group, bench.tasks[1]!, payload.length),
      rowOf(group, bench.tasks[2]!, 1024, 'the cost group commit amortises'),
    ];
  } finally {
    closeSync(fd);
  }
}

/** A TCP sink in a worker thread: discards bytes, or hashes the next N bytes when asked. */
const SINK_SOURCE = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const crypto = require('node:crypto');
let hash = null, want = 0, got = 0;
const server = net.createServer((s) => {
  s.on('data', (d) => {
    if (hash) {
      const take = Math.min(d.length, want - got);
      hash.update(d.subarray(0, take));
    }
    got += d.length;
    if (hash && got >= want) { parentPort.postMessage({ digest: hash.digest('hex') }); hash = null; }
  });
  s.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m.verify) { hash = crypto.createHash('sha256'); want = got + m.verify; parentPort.postMessage({ armed: true }); }
  if (m.close) { server.close(); parentPort.close(); process.exit(0); }
});
`;

function nextMessage<T>(w: Worker, key: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sink: no ${key} within ${timeoutMs} ms`)), timeoutMs);
    const on = (m: Record<string, unknown>): void => {
      if (key in m) {
        clearTimeout(timer);
        w.off('message', on);
        resolve(m[key] as T);
      }
    };
    w.on('message', on);
  });
}

async function fetchGroup(quick: boolean, dir: string): Promise<MicroRow[]> {
  const group = 'Fetch path (loopback)';
  const FILE = 32 * 1024 * 1024;
  const path = join(dir, 'fetch.log');
  const fd = openSync(path, 'w+');
  const rand = prng(7);
  const block = Buffer.from(recordText(rand, 1024 * 1024), 'latin1');
  for (let at = 0; at < FILE; at += block.length) writeSync(fd, block, 0, block.length, at);
  const worker = new Worker(SINK_SOURCE, { eval: true });
  let socket: Socket | null = null;
  try {
    const port = await nextMessage<number>(worker, 'port');
    socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('connect timeout')), 10_000);
      socket!.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      socket!.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    socket.setNoDelay(true);
    const sockFd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    check(typeof sockFd === 'number' && sockFd >= 0, 'socket fd available');
    const s = socket;
    const header = Buffer.alloc(64, 1);
    const buf = Buffer.allocUnsafe(1024 * 1024);
    let pos = 0;
    const nextPos = (len: number): number => {
      if (pos + len > FILE) pos = 0;
      const p = pos;
      pos += len;
      return p;
    };
    const viaSendfile = (len: number) => async (): Promise<void> => {
      await native.sendChunks(sockFd!, [header, { fd, position: nextPos(len), length: len }], 10_000);
    };
    const viaPread = (len: number) => (): Promise<void> => {
      const p = nextPos(len);
      let at = 0;
      while (at < len) {
        const n = readSync(fd, buf, at, len - at, p + at);
        if (n <= 0) throw new Error('short read');
        at += n;
      }
      s.write(header);
      return new Promise<void>((resolve, reject) => s.write(buf.subarray(0, len), (e) => (e ? reject(e) : resolve())));
    };
    // Correctness: both paths deliver header + exactly the file bytes.
    for (const [name, fn] of [
      ['sendfile', viaSendfile],
      ['pread', viaPread],
    ] as const) {
      pos = 0;
      const len = 1024 * 1024;
      const expected = sha256(Buffer.concat([header, block.subarray(0, len)]));
      worker.postMessage({ verify: header.length + len });
      await nextMessage(worker, 'armed');
      const digest = nextMessage<string>(worker, 'digest');
      await fn(len)();
      check((await digest) === expected, `${name} path delivers the exact bytes`);
    }
    const bench = newBench(quick);
    for (const len of [64 * 1024, 1024 * 1024]) {
      const label = len >= 1024 * 1024 ? '1 MiB' : '64 KiB';
      bench.add(`sendChunks (sendfile), ${label} per response`, viaSendfile(len), { async: true });
      bench.add(`pread + socket.write, ${label} per response`, viaPread(len), { async: true });
    }
    await bench.run();
    return bench.tasks.map((t) => rowOf(group, t, t.name.includes('1 MiB') ? 1024 * 1024 + 64 : 64 * 1024 + 64));
  } finally {
    socket?.destroy();
    worker.postMessage({ close: true });
    await Promise.race([new Promise((r) => worker.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
    await worker.terminate();
    closeSync(fd);
  }
}

async function codecGroup(quick: boolean): Promise<MicroRow[]> {
  const group = 'Codecs';
  const BLOCK = 64 * 1024;
  const BLOCKS = 8;
  const rand = prng(99);
  const blocks: Buffer[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    let s = '';
    while (s.length < BLOCK) s += recordText(rand, 1024);
    blocks.push(Buffer.from(s.slice(0, BLOCK), 'latin1'));
  }
  const total = BLOCK * BLOCKS;
  const pool = new Piscina({
    filename: new URL('./compress-worker.js', import.meta.url).href,
    minThreads: 2,
    maxThreads: 2,
    idleTimeout: 5000,
  });
  const rows: MicroRow[] = [];
  try {
    const codecs: Array<[string, number]> = [
      ['gzip', Compression.gzip],
      ['snappy', Compression.snappy],
      ['lz4', Compression.lz4],
    ];
    const bench = newBench(quick);
    const ratios = new Map<string, number>();
    for (const [name, codec] of codecs) {
      const packed = blocks.map((b) => compress(codec, b));
      for (let i = 0; i < BLOCKS; i++) check(decompress(codec, packed[i]!).equals(blocks[i]!), `${name} inline round trip`);
      const viaPool = (await Promise.all(
        blocks.map((b) => pool.run({ op: 'compress', codec, data: b } satisfies CompressTask)),
      )) as Uint8Array[];
      for (let i = 0; i < BLOCKS; i++) {
        check(decompress(codec, Buffer.from(viaPool[i]!)).equals(blocks[i]!), `${name} piscina compress round trip`);
      }
      const back = (await Promise.all(
        packed.map((p) => pool.run({ op: 'decompress', codec, data: p } satisfies CompressTask)),
      )) as Uint8Array[];
      for (let i = 0; i < BLOCKS; i++) check(Buffer.from(back[i]!).equals(blocks[i]!), `${name} piscina decompress`);
      ratios.set(name, total / packed.reduce((a, p) => a + p.length, 0));
      bench.add(
        `${name} compress, inline`,
        () => {
          for (const b of blocks) compress(codec, b);
        },
        { async: false },
      );
      bench.add(
        `${name} compress, piscina (2 threads)`,
        async () => {
          await Promise.all(blocks.map((b) => pool.run({ op: 'compress', codec, data: b })));
        },
        { async: true },
      );
      bench.add(
        `${name} decompress, inline`,
        () => {
          for (const p of packed) decompress(codec, p);
        },
        { async: false },
      );
      bench.add(
        `${name} decompress, piscina (2 threads)`,
        async () => {
          await Promise.all(packed.map((p) => pool.run({ op: 'decompress', codec, data: p })));
        },
        { async: true },
      );
    }
    await bench.run();
    for (const t of bench.tasks) {
      const name = t.name.split(' ')[0]!;
      rows.push(rowOf(group, t, total, `ratio ${ratios.get(name)?.toFixed(2)}x on JSON-like records, 8 x 64 KiB per op`));
    }
    rows.push({
      group,
      name: 'zstd compress/decompress',
      bytesPerOp: 0,
      opsPerSec: null,
      mbPerSec: null,
      meanUs: null,
      p99Us: null,
      samples: null,
      note: 'not available on Node 20 (no zstd in node:zlib): the broker stores and serves zstd batches as they are, never decoding them; the franz CLI cannot write or read them',
    });
  } finally {
    await pool.destroy();
  }
  return rows;
}

/** Runs every micro-benchmark group; a failing group becomes an error row and the others still run. */
export async function micro(opts: MicroOptions): Promise<MicroRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'franz-bench-micro-'));
  const rows: MicroRow[] = [];
  const groups: Array<[string, () => Promise<MicroRow[]>]> = [
    ['CRC-32C', () => crcGroup(opts.quick)],
    ['Batch validation', () => validateGroup(opts.quick)],
    ['Segment append', () => appendGroup(opts.quick, dir)],
    ['Fetch path (loopback)', () => fetchGroup(opts.quick, dir)],
    ['Codecs', () => codecGroup(opts.quick)],
  ];
  try {
    for (const [name, fn] of groups) {
      opts.progress.step(`micro: ${name}`);
      try {
        rows.push(...(await fn()));
      } catch (e) {
        rows.push(errorRow(name, name, e));
        opts.progress.note(`micro ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      opts.progress.advance(1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
