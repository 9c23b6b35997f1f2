/**
 * The journal of durable appends (write-ahead-log.ts): acknowledgement follows the journal's
 * fdatasync, not the segment's; after a crash that lost segment bytes the journal puts them back;
 * recovery stops at a zero-filled (preallocated) tail, a torn entry and an older pass's entries;
 * truncations and deleted partitions are respected; the ring of files wraps behind checkpoints.
 *
 * A crash that loses the page cache cannot be made in a test, so each test makes the state such a
 * crash leaves: the LogManager is abandoned without close (no clean-shutdown marker, no final
 * checkpoint), and the bytes the disk would not have are cut from the segment files.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Log, LogConfig } from '../../src/storage/log.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { scanJournal, WAL_DIR, HEADER_BYTES, type WalOptions } from '../../src/storage/write-ahead-log.js';
import { makeBatch, type BatchOpts } from '../helpers/batches.js';

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-wal-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

let dirCount = 0;
function freshDir(): string {
  const dir = path.join(root, `d-${dirCount++}`);
  fs.mkdirSync(dir);
  return dir;
}

function config(over: Partial<LogConfig> = {}): LogConfig {
  return {
    segmentBytes: 1 << 30,
    segmentMs: Number.MAX_SAFE_INTEGER,
    indexIntervalBytes: 4096,
    maxMessageBytes: 1 << 20,
    retentionMs: -1,
    retentionBytes: -1,
    durable: true,
    flushMessages: Number.MAX_SAFE_INTEGER,
    flushMs: Number.MAX_SAFE_INTEGER,
    logAppendTime: false,
    deleteRetention: true,
    ...over,
  };
}

const plain: BatchOpts = { attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1 };
const SMALL: Partial<WalOptions> = { fileBytes: 64 << 10, files: 3, checkpointIntervalMs: 60_000 };

/** A partition directory with its partition.metadata, as topic creation makes it. */
function makePartition(dataDir: string, topic: string, partition: number, topicId: string): void {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'partition.metadata'), `version: 0\ntopic_id: ${topicId}\n`);
}

/** 16 bytes, base64url, as Kafka writes topic ids. */
function topicId(n: number): string {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(n + 1, 12);
  return b.toString('base64url');
}

/** Appends one batch of `count` records with values of `size` bytes; returns the next offset. */
function append(log: Log, count: number, size = 100, fill = 0x61): number {
  const r = log.appendAsLeader(makeBatch({ ...plain, recordCount: count, records: Buffer.alloc(count * size, fill) }), {
    apiVersion: 11,
    leaderEpoch: 0,
  });
  assert.equal(r.errorCode, 0, `refused: ${r.errorMessage}`);
  return r.lastOffset + 1;
}

/**
 * A power cut: the segment loses what was not fsynced, from the middle of the first batch past
 * the log's recovery point (a torn write) on. Returns how many bytes it lost.
 */
function crash(log: Log): number {
  if (log.recoveryPoint >= log.logEndOffset) return 0;
  const from = log.read(log.recoveryPoint, 1, true, true).regions[0]!;
  const file = path.join(log.dir, '00000000000000000000.log');
  const size = fs.statSync(file).size;
  fs.truncateSync(file, from.position + 7);
  return size - from.position - 7;
}

/** Every byte of the log's batches, as a fetch from offset 0 would send them. */
function readAll(log: Log): Buffer {
  const r = log.read(0, 1 << 30, true, true);
  const parts: Buffer[] = [];
  for (const region of r.regions) {
    const buf = Buffer.alloc(region.length);
    fs.readSync(region.fd, buf, 0, region.length, region.position);
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

describe('the journal', () => {
  test('an append is acknowledged after the journal fsync, and a crash that cut the segment loses nothing', async () => {
    const dir = freshDir();
    makePartition(dir, 't', 0, topicId(0));
    makePartition(dir, 't', 1, topicId(0));
    const logs = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const a = logs.open('t', 0, config());
    const b = logs.open('t', 1, config());
    let endA = 0;
    let endB = 0;
    for (let i = 0; i < 20; i++) {
      endA = append(a, 3, 200, 0x41 + (i % 20));
      endB = append(b, 2, 150, 0x61 + (i % 20));
    }
    assert.equal(a.highWatermark < endA, true, 'nothing is readable before the flush');
    await Promise.all([a.flushTo(endA), b.flushTo(endB)]);
    assert.equal(a.highWatermark, endA);
    assert.equal(b.highWatermark, endB);
    // The segments were not fsynced for this: the acknowledgement rests on the journal alone.
    assert.equal(a.recoveryPoint, 0);
    const bytesA = readAll(a);
    const bytesB = readAll(b);
    assert.ok(crash(a) > 0 && crash(b) > 0);

    const messages: string[] = [];
    const again = new LogManager(dir, (m) => messages.push(m), { durable: true, journal: SMALL });
    assert.equal(again.recoveryNeeded, true);
    assert.ok(messages.includes('journal recovery'), messages.join(', '));
    const a2 = again.open('t', 0, config());
    const b2 = again.open('t', 1, config());
    assert.equal(a2.logEndOffset, endA);
    assert.equal(b2.logEndOffset, endB);
    assert.deepEqual(readAll(a2), bytesA);
    assert.deepEqual(readAll(b2), bytesB);
    // Recovery fsynced what it put back: the recovery point is the end.
    assert.equal(a2.recoveryPoint, endA);
    await again.close();
  });

  test('recovery stops at the zero-filled tail of a preallocated file and at a torn entry', async () => {
    const dir = freshDir();
    makePartition(dir, 't', 0, topicId(1));
    const logs = new LogManager(dir, () => undefined, { durable: true, journal: { ...SMALL, fileBytes: 256 << 10 } });
    const log = logs.open('t', 0, config());
    let acked = 0;
    // Past half a file: the next file is zero-filled, and the writer moves into it.
    for (let i = 0; i < 40; i++) acked = append(log, 2, 2000);
    await log.flushTo(acked);
    await logs.journal!.settled();
    const gen = scanJournal(path.join(dir, WAL_DIR), 3).endGeneration;
    assert.equal(fs.statSync(path.join(dir, WAL_DIR, `${(gen + 1) % 3}.wal`)).size, 256 << 10, 'the next file was zero-filled');
    for (let i = 0; i < 60; i++) acked = append(log, 2, 2000);
    await log.flushTo(acked);
    const walDir = path.join(dir, WAL_DIR);
    const before = scanJournal(walDir, 3);
    assert.ok(before.endGeneration > 1, 'the writer moved on to a preallocated file');
    const zeros = fs.readFileSync(path.join(walDir, `${before.endGeneration % 3}.wal`));
    assert.equal(zeros.length, 256 << 10);
    assert.equal(
      zeros.subarray(zeros.length - 1024).every((b) => b === 0),
      true,
      'the file is preallocated with zeros',
    );

    // One more append, acknowledged; then a torn copy of an entry past it (a write cut short).
    const last = append(log, 1, 500);
    await log.flushTo(last);
    const entries = scanJournal(walDir, 3).entries;
    const e = entries[entries.length - 1]!;
    const file = path.join(walDir, `${e.file}.wal`);
    const fd = fs.openSync(file, 'r+');
    const copy = Buffer.alloc(HEADER_BYTES + e.payloadLength);
    fs.readSync(fd, copy, 0, copy.length, e.payloadPosition - HEADER_BYTES);
    fs.writeSync(fd, copy.subarray(0, copy.length - 10), 0, copy.length - 10, e.payloadPosition + e.payloadLength);
    fs.closeSync(fd);
    assert.equal(scanJournal(walDir, 3).entries.length, entries.length, 'the torn entry ends the scan');

    assert.ok(log.recoveryPoint < last, 'the last appends were not checkpointed');
    assert.ok(crash(log) > 0);
    const again = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const log2 = again.open('t', 0, config());
    // Every acknowledged record is back; nothing after the torn entry was invented.
    assert.equal(log2.logEndOffset, last);
    await again.close();
  });

  test('a truncation is replayed in order, so recovery does not bring back what it removed', async () => {
    const dir = freshDir();
    makePartition(dir, 't', 0, topicId(2));
    const logs = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const log = logs.open('t', 0, config());
    for (let i = 0; i < 10; i++) append(log, 1, 300, 0x41);
    await log.flushTo(10);
    const segment = path.join(log.dir, '00000000000000000000.log');
    const oldBytes = fs.readFileSync(segment);
    // A follower that diverged: offsets 5.. go, and different records take their place.
    log.truncateTo(5);
    let end = 0;
    for (let i = 0; i < 3; i++) end = append(log, 1, 300, 0x7a);
    await log.flushTo(end);
    assert.equal(end, 8);
    const expected = readAll(log);
    // The crash leaves the old segment on disk: neither the truncation nor the new records reached it.
    fs.writeFileSync(segment, oldBytes);

    const again = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const log2 = again.open('t', 0, config());
    assert.equal(log2.logEndOffset, 8);
    assert.deepEqual(readAll(log2), expected);
    await again.close();
  });

  test('entries of a deleted partition are not replayed into a new topic of the same name', async () => {
    const dir = freshDir();
    makePartition(dir, 't', 0, topicId(3));
    const logs = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const old = logs.open('t', 0, config());
    for (let i = 0; i < 5; i++) append(old, 1, 300, 0x41);
    await old.flushTo(5);
    logs.drop('t', 0);
    makePartition(dir, 't', 0, topicId(4));
    const fresh = logs.open('t', 0, config());
    append(fresh, 1, 300, 0x62);
    await fresh.flushTo(1);
    const expected = readAll(fresh);
    assert.ok(crash(fresh) > 0);

    const again = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const log2 = again.open('t', 0, config());
    assert.equal(log2.logEndOffset, 1);
    assert.deepEqual(readAll(log2), expected);
    await again.close();
  });

  test('the ring wraps behind checkpoints many times, and recovery still restores every record', async () => {
    const dir = freshDir();
    for (let p = 0; p < 4; p++) makePartition(dir, 'w', p, topicId(5));
    const logs = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const parts = [0, 1, 2, 3].map((p) => logs.open('w', p, config()));
    const ends = [0, 0, 0, 0];
    // 4 partitions x 200 appends x ~2.2 KiB: about 1.7 MiB through a ring of 3 x 64 KiB.
    for (let i = 0; i < 200; i++) {
      for (let p = 0; p < 4; p++) ends[p] = append(parts[p]!, 2, 1000, 0x41 + ((i + p) % 26));
      if (i % 10 === 9) await Promise.all(parts.map((l, p) => l.flushTo(ends[p]!)));
    }
    await Promise.all(parts.map((l, p) => l.flushTo(ends[p]!)));
    const walDir = path.join(dir, WAL_DIR);
    const scan = scanJournal(walDir, 3);
    assert.ok(scan.endGeneration >= 8, `the ring wrapped (generation ${scan.endGeneration})`);
    // Checkpoints freed files behind the writer: the 1.7 MiB did not pile up in the files.
    const sizes = [0, 1, 2].map((i) => fs.statSync(path.join(walDir, `${i}.wal`)).size);
    assert.ok(sizes[0]! + sizes[1]! + sizes[2]! < 1 << 20, `journal files ${sizes.join(', ')}`);
    const expected = parts.map(readAll);
    for (const log of parts) crash(log);

    const again = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    for (let p = 0; p < 4; p++) {
      const log = again.open('w', p, config());
      assert.equal(log.logEndOffset, ends[p]);
      assert.deepEqual(readAll(log), expected[p]);
    }
    await again.close();
  });

  test('a clean shutdown leaves nothing to replay, and the no-fsync mode removes the journal', async () => {
    const dir = freshDir();
    makePartition(dir, 't', 0, topicId(6));
    const logs = new LogManager(dir, () => undefined, { durable: true, journal: SMALL });
    const log = logs.open('t', 0, config());
    append(log, 4);
    await log.flushTo(4);
    await logs.close();
    assert.equal(scanJournal(path.join(dir, WAL_DIR), 3).entries.length, 0);
    const messages: string[] = [];
    const again = new LogManager(dir, (m) => messages.push(m), { durable: false });
    assert.equal(messages.includes('journal recovery'), false);
    assert.equal(fs.existsSync(path.join(dir, WAL_DIR)), false);
    assert.equal(again.open('t', 0, config({ durable: false })).logEndOffset, 4);
    await again.close();
  });
});
