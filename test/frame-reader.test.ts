/**
 * FrameReader cuts a byte stream into request frames, deciding where each read lands. These tests
 * drive it the way a socket with `onread` does: ask buffer(), write at most its length, report it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameReader, INITIAL_FRAME, SCRATCH_BYTES, SMALL_FRAME } from '../src/server/frame-reader.js';

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

function reader(max = 100 * 1024 * 1024, keepGoing: (n: number) => boolean = () => true): Fed {
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
  payloads.forEach((p, i) => assert.deepEqual(r.frames[i], p));
});

test('a size prefix split across reads, one byte at a time', () => {
  const payloads = [randomBytes(10), randomBytes(0), randomBytes(SMALL_FRAME + 100), randomBytes(3)];
  const r = reader();
  r.feed(Buffer.concat(payloads.map(frameOf)), 1);
  assert.equal(r.frames.length, payloads.length);
  payloads.forEach((p, i) => assert.deepEqual(r.frames[i], p));
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
  assert.ok(r.offered.some((n) => n > SCRATCH_BYTES), `offered ${r.offered.slice(0, 5).join(',')}...`);
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
