/**
 * FrameReader cuts a byte stream into request frames, deciding where each read lands. These tests
 * drive it the way a socket with `onread` does: ask buffer(), write at most its length, report it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameReader, INITIAL_FRAME, SCRATCH_BYTES, SMALL_FRAME } from '../../src/server/frame-reader.js';
import { FramePool, MIN_POOLED_BYTES } from '../../src/server/frame-pool.js';

function frameOf(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

interface Fed {
  frames: Buffer[];
  bad: number[];
  /** Length of every buffer the reader offered. */
  offered: number[];
  reader: FrameReader;
  /** Feeds `bytes`, each read taking at most `chunk` bytes (and at most what buffer() offers). */
  feed(bytes: Buffer, chunk?: number): void;
}

function reader(max = 100 * 1024 * 1024, keepGoing: (n: number) => boolean = () => true, pool = new FramePool()): Fed {
  const fed: Fed = {
    frames: [],
    bad: [],
    offered: [],
    reader: new FrameReader(
      max,
      (f) => {
        fed.frames.push(f);
        return keepGoing(fed.frames.length);
      },
      (s) => fed.bad.push(s),
      pool,
    ),
    feed(bytes, chunk = Infinity) {
      let at = 0;
      while (at < bytes.length) {
        const b = fed.reader.buffer();
        fed.offered.push(b.length);
        assert.ok(b.length > 0, 'a read buffer is never empty');
        const n = Math.min(b.length, chunk, bytes.length - at);
        bytes.copy(b, 0, at, at + n);
        at += n;
        fed.reader.wrote(n);
      }
    },
  };
  return fed;
}

test('many small requests in one read come out whole and in order', () => {
  const payloads = Array.from({ length: 50 }, (_, i) => randomBytes(i * 7));
  const r = reader();
  r.feed(Buffer.concat(payloads.map(frameOf)));
  assert.equal(r.frames.length, payloads.length);
  for (const [i, p] of payloads.entries()) assert.deepEqual(r.frames[i], p);
});

test('a size prefix split across reads, one byte at a time', () => {
  const payloads = [randomBytes(10), randomBytes(0), randomBytes(SMALL_FRAME + 100), randomBytes(3)];
  const r = reader();
  r.feed(Buffer.concat(payloads.map(frameOf)), 1);
  assert.equal(r.frames.length, payloads.length);
  for (const [i, p] of payloads.entries()) assert.deepEqual(r.frames[i], p);
});

test('each frame owns its memory: later reads do not overwrite it', () => {
  const a = Buffer.alloc(100, 0xaa);
  const b = Buffer.alloc(100, 0xbb);
  const r = reader();
  r.feed(frameOf(a));
  // Enough further traffic to wrap the scratch buffer several times.
  for (let i = 0; i < 4 * (SCRATCH_BYTES / 104); i++) r.feed(frameOf(b));
  assert.deepEqual(r.frames[0], a);
});

test('a large request is read into its own buffer: every read after the first goes to its tail', () => {
  const big = randomBytes(1024 * 1024);
  const small = randomBytes(20);
  const r = reader();
  r.feed(Buffer.concat([frameOf(small), frameOf(big), frameOf(small)]), 64 * 1024);
  assert.equal(r.frames.length, 3);
  assert.deepEqual(r.frames[0], small);
  assert.deepEqual(r.frames[1], big);
  assert.deepEqual(r.frames[2], small);
  // After the first read, buffers offered for the big frame are its unfilled tail, larger than
  // the scratch: the read is not capped at 64 KiB, so the rest of it could arrive in one read.
  assert.ok(
    r.offered.some((n) => n > SCRATCH_BYTES),
    `offered ${r.offered.slice(0, 5).join(',')}...`,
  );
});

test('a request larger than the initial buffer grows it and arrives intact', () => {
  const big = randomBytes(INITIAL_FRAME * 3 + 12345);
  const r = reader();
  r.feed(frameOf(big), 300 * 1024);
  assert.equal(r.frames.length, 1);
  assert.deepEqual(r.frames[0], big);
});

test('a peer announcing a huge request and sending little makes the reader hold little', () => {
  const r = reader(1024 * 1024 * 1024);
  const head = Buffer.alloc(4 + 1000);
  head.writeInt32BE(1000 * 1024 * 1024);
  r.feed(head);
  const b = r.reader.buffer();
  assert.ok(b.length <= INITIAL_FRAME, `offered ${b.length} bytes`);
  assert.equal(r.frames.length, 0);
});

test('a negative or oversized size is reported and nothing more is cut', () => {
  for (const size of [-1, -2147483648, 1001]) {
    const r = reader(1000);
    const head = Buffer.alloc(4);
    head.writeInt32BE(size);
    r.feed(Buffer.concat([frameOf(randomBytes(5)), head, frameOf(randomBytes(5))]));
    assert.deepEqual(r.bad, [size]);
    assert.equal(r.frames.length, 1, 'the frame before the bad size only');
    // Within the limit is fine.
  }
  const ok = reader(1000);
  ok.feed(frameOf(randomBytes(1000)));
  assert.equal(ok.frames.length, 1);
  assert.deepEqual(ok.bad, []);
});

test('onFrame returning false stops cutting frames', () => {
  const r = reader(1000, (n) => n < 2);
  r.feed(Buffer.concat([1, 2, 3, 4].map(() => frameOf(randomBytes(8)))));
  assert.equal(r.frames.length, 2);
});

test('FramePool hands out the smallest kept buffer that fits, and each only once', () => {
  const pool = new FramePool();
  const small = Buffer.allocUnsafe(MIN_POOLED_BYTES);
  const big = Buffer.allocUnsafe(4 * MIN_POOLED_BYTES);
  pool.give(big);
  pool.give(small);
  assert.equal(pool.pooledBytes, 5 * MIN_POOLED_BYTES);
  assert.equal(pool.take(8 * MIN_POOLED_BYTES), null);
  assert.equal(pool.take(MIN_POOLED_BYTES - 1)!.buffer, small.buffer);
  assert.equal(pool.take(100)!.buffer, big.buffer);
  assert.equal(pool.take(100), null);
  assert.equal(pool.pooledBytes, 0);
});

test('FramePool keeps only whole buffers of its own, within its bounds', () => {
  const pool = new FramePool(4 * MIN_POOLED_BYTES, 3);
  // A view into the middle of a buffer, a slice of Node's shared 8 KiB pool, one below the minimum.
  pool.give(Buffer.allocUnsafe(2 * MIN_POOLED_BYTES).subarray(MIN_POOLED_BYTES));
  pool.give(Buffer.allocUnsafe(100));
  pool.give(Buffer.allocUnsafe(MIN_POOLED_BYTES - 1));
  assert.equal(pool.pooledBytes, 0);
  // Bytes bound: the third buffer would pass it and is no larger than any kept one.
  pool.give(Buffer.allocUnsafe(2 * MIN_POOLED_BYTES));
  pool.give(Buffer.allocUnsafe(2 * MIN_POOLED_BYTES));
  pool.give(Buffer.allocUnsafe(MIN_POOLED_BYTES));
  assert.equal(pool.pooledBytes, 4 * MIN_POOLED_BYTES);
  // Count bound.
  const many = new FramePool(100 * MIN_POOLED_BYTES, 3);
  for (let i = 0; i < 5; i++) many.give(Buffer.allocUnsafe(MIN_POOLED_BYTES));
  assert.equal(many.pooledBytes, 3 * MIN_POOLED_BYTES);
  // A larger buffer displaces the smallest ones it needs room from, never a larger one.
  const big = Buffer.allocUnsafe(2 * MIN_POOLED_BYTES);
  many.give(big);
  assert.equal(many.pooledBytes, 4 * MIN_POOLED_BYTES);
  assert.equal(many.take(2 * MIN_POOLED_BYTES)!.buffer, big.buffer);
  const full = new FramePool(4 * MIN_POOLED_BYTES, 8);
  for (let i = 0; i < 4; i++) full.give(Buffer.allocUnsafe(MIN_POOLED_BYTES));
  full.give(Buffer.allocUnsafe(3 * MIN_POOLED_BYTES));
  assert.equal(full.pooledBytes, 4 * MIN_POOLED_BYTES);
  assert.ok(full.take(3 * MIN_POOLED_BYTES) !== null);
  full.give(Buffer.allocUnsafe(4 * MIN_POOLED_BYTES));
  full.give(Buffer.allocUnsafe(2 * MIN_POOLED_BYTES));
  assert.equal(full.pooledBytes, 4 * MIN_POOLED_BYTES, 'the larger kept buffer stays');
  assert.equal(full.take(4 * MIN_POOLED_BYTES)!.length, 4 * MIN_POOLED_BYTES);
});

test('a large request is read into a kept buffer, whole, and holds exactly its own bytes', () => {
  const pool = new FramePool();
  const kept = Buffer.alloc(INITIAL_FRAME * 2, 0xee);
  pool.give(kept);
  const first = randomBytes(INITIAL_FRAME + 12345);
  const r = reader(100 * 1024 * 1024, () => true, pool);
  r.feed(frameOf(first), 50_000);
  assert.equal(r.frames.length, 1);
  assert.equal(r.frames[0]!.buffer, kept.buffer, 'the kept buffer, not a new one');
  assert.equal(r.frames[0]!.length, first.length);
  assert.deepEqual(r.frames[0], first);
  // No growth: every read of the request went into the one buffer.
  assert.equal(pool.take(1), null, 'taken, so no longer kept');
  // Given back after use, it serves the next request; nothing of the first shows through.
  pool.give(r.frames[0]!);
  const second = randomBytes(MIN_POOLED_BYTES + 7);
  r.feed(frameOf(second), 9_000);
  assert.equal(r.frames[1]!.buffer, kept.buffer);
  assert.deepEqual(r.frames[1], second);
});

test('with nothing kept that fits, a large request grows its own buffer as before', () => {
  const pool = new FramePool();
  pool.give(Buffer.allocUnsafe(MIN_POOLED_BYTES));
  const payload = randomBytes(3 * INITIAL_FRAME + 1);
  const r = reader(100 * 1024 * 1024, () => true, pool);
  r.feed(frameOf(payload), 1 << 20);
  assert.deepEqual(r.frames[0], payload);
  assert.equal(pool.pooledBytes, MIN_POOLED_BYTES, 'the small kept buffer was not used');
});
