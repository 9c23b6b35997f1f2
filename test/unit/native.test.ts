/**
 * Tests of the Rust data path through its TypeScript wrappers (src/native/index.ts):
 * the packed-facts layout, CRC, batch validation (and its results going stale), append with
 * offset patching and LogAppendTime stamping, segment scans, sendfile to a socket.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { makeBatch, refCrc32c } from '../helpers/batches.js';

import {
  BATCH_STRIDE,
  B_POSITION,
  B_SIZE,
  B_BASE_OFFSET,
  B_LAST_OFFSET_DELTA,
  B_FIRST_TIMESTAMP,
  B_MAX_TIMESTAMP,
  B_PRODUCER_ID,
  B_PRODUCER_EPOCH,
  B_BASE_SEQUENCE,
  B_ATTRIBUTES,
  B_RECORD_COUNT,
  batchLayout,
  crc32c,
  validateBatches,
  appendBatches,
  scanSegment,
  sendChunks,
  errnoOf,
  isCurrent,
  StaleBatchesError,
} from '../../src/native/index.js';

const MAX = 1 << 20;
let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-native-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('batchLayout', () => {
  test('the addon defines the packed layout and the B_* indices are its fields', () => {
    const layout = batchLayout();
    assert.deepEqual(
      [
        BATCH_STRIDE,
        B_POSITION,
        B_SIZE,
        B_BASE_OFFSET,
        B_LAST_OFFSET_DELTA,
        B_FIRST_TIMESTAMP,
        B_MAX_TIMESTAMP,
        B_PRODUCER_ID,
        B_PRODUCER_EPOCH,
        B_BASE_SEQUENCE,
        B_ATTRIBUTES,
        B_RECORD_COUNT,
      ],
      [
        layout.stride,
        layout.position,
        layout.size,
        layout.baseOffset,
        layout.lastOffsetDelta,
        layout.firstTimestamp,
        layout.maxTimestamp,
        layout.producerId,
        layout.producerEpoch,
        layout.baseSequence,
        layout.attributes,
        layout.recordCount,
      ],
    );
    const indices = Object.entries(layout)
      .filter(([k]) => k !== 'stride')
      .map(([, v]) => v);
    assert.equal(indices.length, 11);
    assert.equal(new Set(indices).size, indices.length, 'one index per fact');
    assert.ok(indices.every((i) => Number.isInteger(i) && i >= 0 && i < layout.stride));
  });
});

describe('crc32c', () => {
  test('standard check value', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });
  test('agrees with a reference implementation, including on views with an offset', () => {
    const data = Buffer.alloc(10_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    assert.equal(crc32c(data), refCrc32c(data));
    assert.equal(crc32c(data.subarray(13, 4000)), refCrc32c(data.subarray(13, 4000)));
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });
});

describe('validateBatches', () => {
  test('a valid batch yields its packed facts', () => {
    const b = makeBatch({ recordCount: 5 });
    const { errorCode, batches } = validateBatches(b, MAX);
    assert.equal(errorCode, 0);
    assert.equal(batches.length, BATCH_STRIDE);
    assert.equal(batches[B_POSITION], 0);
    assert.equal(batches[B_SIZE], b.length);
    assert.equal(batches[B_BASE_OFFSET], 0);
    assert.equal(batches[B_LAST_OFFSET_DELTA], 4);
    assert.equal(batches[B_FIRST_TIMESTAMP], 1_700_000_000_000);
    assert.equal(batches[B_MAX_TIMESTAMP], 1_700_000_000_999);
    assert.equal(batches[B_PRODUCER_ID], 9001);
    assert.equal(batches[B_PRODUCER_EPOCH], 4);
    assert.equal(batches[B_BASE_SEQUENCE], 17);
    assert.equal(batches[B_ATTRIBUTES], 0x10);
    assert.equal(batches[B_RECORD_COUNT], 5);
  });

  test('several batches, in a Buffer that is a view into a larger one', () => {
    const a = makeBatch({ recordCount: 1 });
    const b = makeBatch({ recordCount: 2, producerId: -1n, baseSequence: -1 });
    const backing = Buffer.concat([Buffer.from('garbage!'), a, b, Buffer.from('tail')]);
    const view = backing.subarray(8, 8 + a.length + b.length);
    const { errorCode, batches } = validateBatches(view, MAX);
    assert.equal(errorCode, 0);
    assert.equal(batches.length, 2 * BATCH_STRIDE);
    assert.equal(batches[BATCH_STRIDE + B_POSITION], a.length);
    assert.equal(batches[BATCH_STRIDE + B_PRODUCER_ID], -1);
    assert.equal(batches[BATCH_STRIDE + B_BASE_SEQUENCE], -1);
  });

  test('a payload of more batches than the reused result array holds grows it; the next call sees only its own', () => {
    // The results live in one array reused by every call (64 batches to start): 300 batches
    // make it grow, and a later one-batch payload must not show the 299 others.
    const many = Buffer.concat(Array.from({ length: 300 }, (_, i) => makeBatch({ recordCount: 1 + (i % 7) })));
    const big = validateBatches(many, MAX);
    assert.equal(big.errorCode, 0);
    assert.equal(big.batches.length, 300 * BATCH_STRIDE);
    let position = 0;
    for (let i = 0; i < 300; i++) {
      assert.equal(big.batches[i * BATCH_STRIDE + B_RECORD_COUNT], 1 + (i % 7), `batch ${i}`);
      assert.equal(big.batches[i * BATCH_STRIDE + B_POSITION], position, `batch ${i}`);
      position += big.batches[i * BATCH_STRIDE + B_SIZE]!;
    }
    assert.equal(position, many.length);
    const one = validateBatches(makeBatch({ recordCount: 3 }), MAX);
    assert.equal(one.batches.length, BATCH_STRIDE);
    assert.equal(one.batches[B_RECORD_COUNT], 3);
    // A failed validation reports no batches, whatever the array held before.
    const bad = makeBatch();
    bad[bad.length - 1]! ^= 0xff;
    const failed = validateBatches(bad, MAX);
    assert.equal(failed.errorCode, 2);
    assert.equal(failed.batches.length, 0);
  });

  test('bad CRC -> CORRUPT_MESSAGE (2)', () => {
    const b = makeBatch();
    b[70]! ^= 0x01;
    assert.equal(validateBatches(b, MAX).errorCode, 2);
  });

  test('truncated batch, trailing partial batch, empty buffer -> 2', () => {
    const b = makeBatch();
    assert.equal(validateBatches(b.subarray(0, b.length - 1), MAX).errorCode, 2);
    assert.equal(validateBatches(b.subarray(0, 30), MAX).errorCode, 2);
    assert.equal(validateBatches(Buffer.concat([b, b.subarray(0, 20)]), MAX).errorCode, 2);
    assert.equal(validateBatches(Buffer.alloc(0), MAX).errorCode, 2);
  });

  test('batchLength below 49 -> 2', () => {
    const b = makeBatch();
    b.writeInt32BE(40, 8);
    assert.equal(validateBatches(b, MAX).errorCode, 2);
  });

  test('magic 1 -> UNSUPPORTED_FOR_MESSAGE_FORMAT (43)', () => {
    assert.equal(validateBatches(makeBatch({ magic: 1 }), MAX).errorCode, 43);
  });

  test('batch larger than maxBatchBytes -> MESSAGE_TOO_LARGE (10)', () => {
    const b = makeBatch({ records: Buffer.alloc(1000, 1) });
    assert.equal(validateBatches(b, b.length).errorCode, 0);
    const r = validateBatches(b, b.length - 1);
    assert.equal(r.errorCode, 10);
    assert.equal(r.batches.length, 0);
  });
});

function readFile(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const out = Buffer.alloc(size);
  fs.readSync(fd, out, 0, size, 0);
  return out;
}

describe('appendBatches', () => {
  test('patches offsets and epoch in place, writes at the position, CRCs stay valid', () => {
    const fd = fs.openSync(path.join(dir, 'append.log'), 'w+');
    try {
      const payload = Buffer.concat([makeBatch({ recordCount: 3 }), makeBatch({ recordCount: 1 }), makeBatch({ recordCount: 10 })]);
      const v = validateBatches(payload, MAX);
      assert.equal(v.errorCode, 0);
      const sent = Buffer.from(payload);
      const next = appendBatches(fd, 0, payload, v, 100, 7, -1);
      assert.equal(next, 114);
      // The caller's buffer was patched in place too.
      assert.equal(payload.readBigInt64BE(0), 100n);
      // Without a LogAppendTime nothing from the magic byte on changes (CRC, attributes, timestamps).
      for (let k = 0; k < v.count; k++) {
        const at = v.batches[k * BATCH_STRIDE + B_POSITION]!;
        const end = at + v.batches[k * BATCH_STRIDE + B_SIZE]!;
        assert.ok(payload.subarray(at + 16, end).equals(sent.subarray(at + 16, end)), `batch ${k}`);
      }

      // A second append at the end, from a Buffer view with a non-zero byteOffset.
      const second = makeBatch({ recordCount: 2 });
      const backing = Buffer.concat([Buffer.alloc(5, 0xee), second]);
      const view = backing.subarray(5);
      const v2 = validateBatches(view, MAX);
      assert.equal(appendBatches(fd, payload.length, view, v2, next, 8, -1), 116);
      assert.equal(backing[0], 0xee); // nothing written outside the view

      const file = readFile(fd);
      assert.equal(file.length, payload.length + second.length);
      const check = validateBatches(file, MAX);
      assert.equal(check.errorCode, 0, 'CRCs still valid after patching');
      const bases = [],
        epochs = [];
      for (let i = 0; i < check.batches.length; i += BATCH_STRIDE) {
        bases.push(check.batches[i + B_BASE_OFFSET]);
        epochs.push(file.readInt32BE(check.batches[i + B_POSITION]! + 12));
      }
      assert.deepEqual(bases, [100, 103, 104, 114]);
      assert.deepEqual(epochs, [7, 7, 7, 8]);
    } finally {
      fs.closeSync(fd);
    }
  });

  test('with a LogAppendTime every batch gets the time, the timestamp-type bit and a new CRC, in the same call', () => {
    const fd = fs.openSync(path.join(dir, 'append-lat.log'), 'w+');
    try {
      const T = 1_800_000_000_123;
      const lz4 = makeBatch({ recordCount: 2, attributes: 0x03 });
      const payload = Buffer.concat([makeBatch({ recordCount: 3 }), lz4, makeBatch({ recordCount: 1, attributes: 0x08 })]);
      const sent = Buffer.from(payload);
      const v = validateBatches(payload, MAX);
      assert.equal(v.errorCode, 0);
      assert.equal(appendBatches(fd, 0, payload, v, 40, 2, T), 46);
      // The packed rows describe what was stored.
      for (let k = 0; k < v.count; k++) {
        assert.equal(v.batches[k * BATCH_STRIDE + B_MAX_TIMESTAMP], T);
        assert.equal(v.batches[k * BATCH_STRIDE + B_ATTRIBUTES]! & 0x08, 0x08);
      }
      const file = readFile(fd);
      assert.ok(file.equals(payload), 'the file holds the stamped buffer');
      const check = validateBatches(file, MAX);
      assert.equal(check.errorCode, 0, 'every CRC is valid for the stamped bytes');
      const attrs = [],
        maxTs = [],
        firstTs = [];
      for (let k = 0; k < check.count; k++) {
        attrs.push(check.batches[k * BATCH_STRIDE + B_ATTRIBUTES]);
        maxTs.push(check.batches[k * BATCH_STRIDE + B_MAX_TIMESTAMP]);
        firstTs.push(check.batches[k * BATCH_STRIDE + B_FIRST_TIMESTAMP]);
      }
      assert.deepEqual(attrs, [0x18, 0x0b, 0x08], 'the bit joins the compression and transactional bits');
      assert.deepEqual(maxTs, [T, T, T]);
      assert.deepEqual(firstTs, [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_000], 'baseTimestamp as sent');
      // The records themselves are untouched.
      const at = makeBatch({ recordCount: 3 }).length;
      assert.ok(file.subarray(at + 43, at + lz4.length).equals(sent.subarray(at + 43, at + lz4.length)));
      assert.throws(() => appendBatches(fd, file.length, payload, validateBatches(payload, MAX), 0, 0, -2), /EINVAL/);
    } finally {
      fs.closeSync(fd);
    }
  });

  test('a validation result is refused once a later validateBatches call has reused its array', () => {
    const fd = fs.openSync(path.join(dir, 'stale.log'), 'w+');
    try {
      const first = makeBatch({ recordCount: 3 });
      const other = Buffer.concat([makeBatch({ recordCount: 1 }), makeBatch({ recordCount: 1 })]);
      const v1 = validateBatches(first, MAX);
      assert.equal(isCurrent(v1), true);
      // As if an await had let another partition's payload be validated in between.
      const v2 = validateBatches(other, MAX);
      assert.equal(isCurrent(v1), false);
      assert.equal(isCurrent(v2), true);
      const before = Buffer.from(first);
      assert.throws(
        () => appendBatches(fd, 0, first, v1, 0, 0, -1),
        (e: Error) => {
          assert.ok(e instanceof StaleBatchesError);
          assert.equal((e as StaleBatchesError).code, 'ERR_FRANZ_STALE_BATCHES');
          assert.match(e.message, /stale batch facts/);
          return true;
        },
      );
      assert.ok(first.equals(before), 'nothing patched');
      assert.equal(fs.fstatSync(fd).size, 0, 'nothing written');
      // A failed validation reuses the array too.
      const bad = makeBatch();
      bad[bad.length - 1]! ^= 0xff;
      assert.equal(validateBatches(bad, MAX).errorCode, 2);
      assert.throws(() => appendBatches(fd, 0, other, v2, 0, 0, -1), StaleBatchesError);
      // The current one appends.
      assert.equal(appendBatches(fd, 0, first, validateBatches(first, MAX), 0, 0, -1), 3);
    } finally {
      fs.closeSync(fd);
    }
  });

  test('I/O errors throw with the errno name; mismatched packed arrays and failed validations throw EINVAL', () => {
    const payload = makeBatch();
    const v = validateBatches(payload, MAX);
    const ro = fs.openSync(path.join(dir, 'append.log'), 'r');
    try {
      assert.throws(
        () => appendBatches(ro, 0, payload, v, 0, 0, -1),
        (e: Error) => {
          assert.match(e.message, /^EBADF: /);
          assert.equal(errnoOf(e), 'EBADF');
          assert.equal((e as NodeJS.ErrnoException).code, 'EBADF');
          return true;
        },
      );
      const wrong = Float64Array.from(v.batches);
      wrong[B_SIZE] = payload.length + 1;
      assert.throws(() => appendBatches(ro, 0, payload, { ...v, batches: wrong }, 0, 0, -1), /^Error: EINVAL: /);
      assert.throws(() => appendBatches(Number.NaN, 0, payload, v, 0, 0, -1), /EINVAL/);
      // Facts and bytes in the same memory would alias inside the addon.
      const shared = new Float64Array(payload.length);
      shared.set(v.batches);
      const alias = Buffer.from(shared.buffer);
      assert.throws(
        () => appendBatches(ro, 0, alias, { ...v, batches: shared.subarray(0, BATCH_STRIDE) }, 0, 0, -1),
        /EINVAL: buf and batches/,
      );
      const failed = validateBatches(payload.subarray(0, 30), MAX);
      assert.throws(() => appendBatches(ro, 0, payload, failed, 0, 0, -1), /^Error: EINVAL: the payload failed validation/);
    } finally {
      fs.closeSync(ro);
    }
  });
});

describe('scanSegment', () => {
  function writeSegment(name: string, n: number): { fd: number; file: Buffer; starts: number[] } {
    const parts: Buffer[] = [];
    const starts: number[] = [];
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const b = makeBatch({ recordCount: 2, records: Buffer.alloc(100 + i, i) });
      b.writeBigInt64BE(BigInt(i * 2), 0);
      starts.push(pos);
      pos += b.length;
      parts.push(b);
    }
    const file = Buffer.concat(parts);
    const p = path.join(dir, name);
    fs.writeFileSync(p, file);
    return { fd: fs.openSync(p, 'r+'), file, starts };
  }

  test('a clean segment is read to the end', () => {
    const { fd, file, starts } = writeSegment('clean.log', 20);
    try {
      for (const verify of [true, false]) {
        const r = scanSegment(fd, 0, file.length, verify, MAX);
        assert.equal(r.stopReason, null);
        assert.equal(r.validEnd, file.length);
        assert.equal(r.batches.length, 20 * BATCH_STRIDE);
        assert.equal(r.batches[19 * BATCH_STRIDE + B_POSITION], starts[19]);
        assert.equal(r.batches[19 * BATCH_STRIDE + B_BASE_OFFSET], 38);
      }
      const mid = scanSegment(fd, starts[5]!, file.length, true, MAX);
      assert.equal(mid.batches.length, 15 * BATCH_STRIDE);
      assert.equal(mid.batches[B_POSITION], starts[5]);
    } finally {
      fs.closeSync(fd);
    }
  });

  test('stops at a torn tail', () => {
    const { fd, file, starts } = writeSegment('torn.log', 6);
    try {
      fs.ftruncateSync(fd, file.length - 10);
      const r = scanSegment(fd, 0, file.length - 10, true, MAX);
      assert.equal(r.stopReason, 'truncated');
      assert.equal(r.validEnd, starts[5]);
      assert.equal(r.batches.length, 5 * BATCH_STRIDE);
    } finally {
      fs.closeSync(fd);
    }
  });

  test('stops at a flipped bit when verifying CRCs', () => {
    const { fd, file, starts } = writeSegment('flip.log', 6);
    try {
      const at = starts[3]! + 90;
      fs.writeSync(fd, Buffer.from([file[at]! ^ 0x20]), 0, 1, at);
      const r = scanSegment(fd, 0, file.length, true, MAX);
      assert.equal(r.stopReason, 'bad-crc');
      assert.equal(r.validEnd, starts[3]);
      assert.equal(r.batches.length, 3 * BATCH_STRIDE);
      // Header-only scans do not see a flip inside the records.
      assert.equal(scanSegment(fd, 0, file.length, false, MAX).stopReason, null);
    } finally {
      fs.closeSync(fd);
    }
  });

  test('stops at a bad length or magic in a header', () => {
    const { fd, file, starts } = writeSegment('hdr.log', 4);
    try {
      fs.writeSync(fd, Buffer.from([0, 0, 0, 3]), 0, 4, starts[2]! + 8);
      let r = scanSegment(fd, 0, file.length, false, MAX);
      assert.equal(r.stopReason, 'bad-length');
      assert.equal(r.validEnd, starts[2]);
      fs.writeSync(fd, Buffer.from([1]), 0, 1, starts[1]! + 16);
      r = scanSegment(fd, 0, file.length, false, MAX);
      assert.equal(r.stopReason, 'bad-magic');
      assert.equal(r.validEnd, starts[1]);
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('sendChunks', () => {
  /** A loopback connection: `client` is the socket we write to natively, `received` collects what the server reads. */
  async function connect(): Promise<{ server: net.Server; client: net.Socket; peer: net.Socket; received: Buffer[] }> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const accepted = once(server, 'connection');
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {
      /* asserted through sendChunks */
    });
    await once(client, 'connect');
    const [peer] = (await accepted) as [net.Socket];
    peer.on('error', () => {});
    const received: Buffer[] = [];
    peer.on('data', (d: Buffer) => received.push(d));
    return { server, client, peer, received };
  }

  function fdOf(socket: net.Socket): number {
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    assert.ok(Number.isInteger(fd) && fd > 2, `socket fd ${fd}`);
    return fd;
  }

  function bigFile(name: string, size: number): { p: string; content: Buffer } {
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) content.writeUInt32LE((i * 2654435761) >>> 0, i);
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return { p, content };
  }

  test('delivers header Buffer + 8 MiB file region + trailer exactly (EAGAIN/poll path)', async () => {
    const { server, client, peer, received } = await connect();
    const { p, content } = bigFile('region.bin', 8 << 20);
    const fileFd = fs.openSync(p, 'r');
    const header = Buffer.from('HEADER:');
    const trailer = Buffer.from(':TRAILER');
    const regionLen = content.length - 1000;
    const sending = sendChunks(fdOf(client), [header, { fd: fileFd, position: 1000, length: regionLen }, trailer], 10_000);
    // The native side works on duplicates: closing our fd and scribbling on the header
    // Buffer right away must not affect what is sent.
    fs.closeSync(fileFd);
    header.fill(0);
    const total = await sending;
    assert.equal(total, 7 + regionLen + 8);
    client.end();
    await once(peer, 'end');
    const got = Buffer.concat(received);
    assert.equal(got.length, total);
    assert.equal(got.subarray(0, 7).toString(), 'HEADER:');
    assert.ok(got.subarray(7, 7 + regionLen).equals(content.subarray(1000)), 'region bytes differ');
    assert.equal(got.subarray(7 + regionLen).toString(), ':TRAILER');
    client.destroy();
    peer.destroy();
    server.close();
  });

  test('rejects (does not crash) when the peer has closed', async () => {
    const { server, client, peer } = await connect();
    client.pause(); // keep Node from noticing the close and tearing down the socket first
    peer.destroy();
    await once(peer, 'close');
    await new Promise((r) => setTimeout(r, 50));
    const { p } = bigFile('closed.bin', 8 << 20);
    const fileFd = fs.openSync(p, 'r');
    try {
      const chunks = [Buffer.from('x'), { fd: fileFd, position: 0, length: 8 << 20 }, { fd: fileFd, position: 0, length: 8 << 20 }];
      await assert.rejects(sendChunks(fdOf(client), chunks, 5_000), (e: Error) => {
        assert.match(e.message, /^(EPIPE|ECONNRESET): /);
        assert.ok(errnoOf(e) === 'EPIPE' || errnoOf(e) === 'ECONNRESET');
        return true;
      });
    } finally {
      fs.closeSync(fileFd);
      client.destroy();
      server.close();
    }
  });

  test('rejects with ETIMEDOUT when the peer stops reading', async () => {
    const { server, client, peer } = await connect();
    peer.pause();
    const { p } = bigFile('stalled.bin', 8 << 20);
    const fileFd = fs.openSync(p, 'r');
    try {
      const region = { fd: fileFd, position: 0, length: 8 << 20 };
      await assert.rejects(sendChunks(fdOf(client), [region, region, region, region], 300), /^Error: ETIMEDOUT: /);
    } finally {
      fs.closeSync(fileFd);
      client.destroy();
      peer.destroy();
      server.close();
    }
  });

  test('bad descriptors reject instead of throwing', async () => {
    await assert.rejects(sendChunks(1_000_000, [Buffer.from('a')], 100), /^Error: EBADF: /);
    await assert.rejects(sendChunks(-1, [Buffer.from('a')], 100), /EINVAL/);
  });
});
