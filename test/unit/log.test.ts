/**
 * The partition log: appends and reads, the index files' bytes, rolls, restarts, crash recovery
 * with the tail cut at every byte of the last batch and with flipped bits, idempotent-producer
 * state, LogValidator's policy and LogAppendTime, stale validation results.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as native from '../../src/native/index.js';
import { Log, type LogConfig } from '../../src/storage/log.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { pinFiles, unpinFiles, pinCount } from '../../src/storage/file-pins.js';
import { IndexWriter, OFFSET_INDEX, TIME_INDEX } from '../../src/storage/index-file.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { makeBatch, type BatchOpts } from '../helpers/batches.js';
import { testLogConfig } from '../helpers/log-config.js';

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-log-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

let dirCount = 0;
function freshDir(): string {
  return path.join(root, `t-${dirCount++}`);
}

function config(over: Partial<LogConfig> = {}): LogConfig {
  return testLogConfig({ segmentMs: Infinity, flushMessages: Infinity, flushMs: Infinity, ...over });
}

const plain: BatchOpts = { attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1 };

function open(dir: string, cfg = config(), clean = true, recoveryPoint = 0): Log {
  return Log.open(dir, cfg, { recoveryPoint, logStartOffset: 0, clean });
}

/** Validates and appends one payload the way the Produce handler does. */
function append(log: Log, payload: Buffer) {
  const r = log.appendAsLeader(payload, { apiVersion: 11, leaderEpoch: 0 });
  assert.equal(r.invalidRecords, false, `refused: ${r.errorCode} ${r.errorMessage}`);
  return r;
}

/** Reads every byte the log would send from `offset` and splits it into batches. */
function readBatches(log: Log, offset: number, maxBytes = 1 << 30): Array<{ baseOffset: number; count: number; body: Buffer }> {
  const r = log.read(offset, maxBytes, true);
  assert.equal(r.errorCode, 0);
  const out = [];
  for (const region of r.regions) {
    const buf = Buffer.alloc(region.length);
    fs.readSync(region.fd, buf, 0, region.length, region.position);
    let at = 0;
    while (at < buf.length) {
      const size = 12 + buf.readInt32BE(at + 8);
      const b = buf.subarray(at, at + size);
      out.push({ baseOffset: Number(b.readBigInt64BE(0)), count: b.readInt32BE(57), body: b.subarray(61) });
      at += size;
    }
  }
  return out;
}

function records(i: number): Buffer {
  return Buffer.from(`payload-${i}-`.padEnd(40 + (i % 7) * 13, 'x'));
}

describe('append and read', () => {
  test('offsets are assigned in order and reads return whole batches from any offset', async () => {
    const log = open(freshDir());
    for (let i = 0; i < 10; i++) {
      const r = append(log, makeBatch({ ...plain, recordCount: 3, records: records(i) }));
      assert.equal(r.baseOffset, i * 3);
      assert.equal(r.lastOffset, i * 3 + 2);
    }
    assert.equal(log.logEndOffset, 30);
    assert.equal(log.highWatermark, 30);
    const all = readBatches(log, 0);
    assert.deepEqual(
      all.map((b) => b.baseOffset),
      [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
    );
    assert.ok(all[4]!.body.equals(records(4)));
    // An offset inside a batch starts with that whole batch.
    assert.equal(readBatches(log, 13)[0]!.baseOffset, 12);
    // At the end: nothing, but no error. Past the end or before the start: out of range.
    assert.equal(log.read(30, 1000, true).bytes, 0);
    assert.equal(log.read(31, 1000, true).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(log.read(-1, 1000, true).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    await log.close();
  });

  test('max bytes stops at a batch boundary, but the first batch always comes whole', async () => {
    const log = open(freshDir());
    for (let i = 0; i < 5; i++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(100, i) }));
    const size = 61 + 100;
    assert.equal(readBatches(log, 0, size * 2 + 10).length, 2);
    assert.equal(readBatches(log, 0, 10).length, 1, 'KIP-74: one batch even when larger than max bytes');
    assert.equal(log.read(0, 10, false).bytes, 0, 'no batch when not the first partition of the response');
    await log.close();
  });

  test("a read whose budget ends before the next segment's first batch stops there, skipping no segment", async () => {
    const log = open(freshDir());
    append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(100, 1) }));
    log.roll();
    append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(2000, 2) }));
    log.roll();
    append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(100, 3) }));
    // Room for the first segment's batch but not the second's: the third's must not come instead.
    assert.deepEqual(
      readBatches(log, 0, 1000).map((b) => b.baseOffset),
      [0],
    );
    assert.deepEqual(
      readBatches(log, 0, 5000).map((b) => b.baseOffset),
      [0, 1, 2],
    );
    await log.close();
  });

  test('a multi-batch payload gets consecutive offsets', async () => {
    const log = open(freshDir());
    const payload = Buffer.concat([1, 2, 3].map((n) => makeBatch({ ...plain, recordCount: n })));
    const r = append(log, payload);
    assert.deepEqual([r.baseOffset, r.lastOffset], [0, 5]);
    assert.deepEqual(
      readBatches(log, 0).map((b) => b.baseOffset),
      [0, 1, 3],
    );
    await log.close();
  });
});

describe('indexes', () => {
  /** The entries of an index file: [key, value] pairs as Kafka's tools would read them. */
  function entriesOf(file: string, format: 'index' | 'timeindex'): Array<[number, number]> {
    const buf = fs.readFileSync(file);
    const size = format === 'index' ? 8 : 12;
    assert.equal(buf.length % size, 0, `${file}: whole entries only`);
    const out: Array<[number, number]> = [];
    for (let at = 0; at < buf.length; at += size) {
      out.push(
        format === 'index' ? [buf.readInt32BE(at), buf.readInt32BE(at + 4)] : [Number(buf.readBigInt64BE(at)), buf.readInt32BE(at + 8)],
      );
    }
    return out;
  }

  /**
   * The entries Kafka's rules give for a segment file's batches: an offset entry (last offset
   * relative to the base, position) for the first batch and then once index.interval.bytes have
   * passed since the last one; a time entry (max timestamp, relative last offset) whenever the
   * segment's largest timestamp grows.
   */
  function expectedEntries(
    logFile: string,
    base: number,
    interval: number,
  ): { index: Array<[number, number]>; timeindex: Array<[number, number]> } {
    const bytes = fs.readFileSync(logFile);
    const index: Array<[number, number]> = [];
    const timeindex: Array<[number, number]> = [];
    let since = 0;
    let maxTs = -Infinity;
    for (let at = 0; at < bytes.length; ) {
      const size = 12 + bytes.readInt32BE(at + 8);
      const last = Number(bytes.readBigInt64BE(at)) + bytes.readInt32BE(at + 23) - base;
      const ts = Number(bytes.readBigInt64BE(at + 35));
      if (index.length === 0 || since >= interval) {
        index.push([last, at]);
        since = 0;
      }
      since += size;
      if (ts > maxTs) {
        timeindex.push([ts, last]);
        maxTs = ts;
      }
      at += size;
    }
    return { index, timeindex };
  }

  test("IndexWriter writes entries in Kafka's formats as given: only when flushed, only growing keys, after the file's own", () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, '00000000000000000100.index');
    const idx = new IndexWriter(file, OFFSET_INDEX);
    idx.append(0, 0);
    idx.append(50, 4096);
    idx.append(120, 9000);
    idx.append(50, 9999); // not increasing: ignored
    assert.equal(idx.entries, 3);
    assert.equal(fs.existsSync(file), false, 'entries reach the file only when flushed');
    idx.flush();
    assert.equal(fs.statSync(file).size, 3 * 8, 'Kafka format: 8 bytes per entry');
    assert.deepEqual(entriesOf(file, 'index'), [
      [0, 0],
      [50, 4096],
      [120, 9000],
    ]);
    const firstBytes = fs.readFileSync(file);
    idx.append(200, 12_000);
    idx.flush();
    assert.equal(fs.statSync(file).size, 4 * 8, 'a second flush appends only the new entry');
    assert.ok(fs.readFileSync(file).subarray(0, 24).equals(firstBytes), 'the entries written stay as they were');

    // Reopened (a segment after a clean restart): new entries go after the file's, above its last key.
    const again = new IndexWriter(file, OFFSET_INDEX);
    assert.equal(again.entries, 4);
    again.resumeAfter(200);
    again.append(150, 1); // below what the file holds: ignored
    again.append(300, 15_000);
    again.flush();
    assert.deepEqual(entriesOf(file, 'index'), [
      [0, 0],
      [50, 4096],
      [120, 9000],
      [200, 12_000],
      [300, 15_000],
    ]);
    again.reset();
    assert.equal(fs.statSync(file).size, 0, 'a reset empties the file');

    // The time index: int64 timestamps (beyond 2^32, and -1 for "none"), then the relative offset.
    const tfile = path.join(dir, '00000000000000000000.timeindex');
    const t = new IndexWriter(tfile, TIME_INDEX);
    t.append(-1, 0);
    t.append(1_700_000_000_999, 3);
    t.append(900, 5); // older: ignored
    t.append(1_700_000_001_000, 10);
    t.flush();
    assert.equal(fs.statSync(tfile).size, 3 * 12, 'Kafka format: 12 bytes per entry');
    assert.deepEqual(entriesOf(tfile, 'timeindex'), [
      [-1, 0],
      [1_700_000_000_999, 3],
      [1_700_000_001_000, 10],
    ]);
  });

  test("the .index and .timeindex files hold Kafka's entries for the batches written, survive a clean restart and are rebuilt after a crash", async () => {
    const dir = freshDir();
    const cfg = config({ indexIntervalBytes: 1000 });
    const log = open(dir, cfg);
    // 461-byte batches, timestamps growing except the 4th and 7th (a time entry only when the max grows).
    const times = [1000, 2000, 3000, 2500, 4000, 5000, 100, 6000, 7000, 8000];
    for (const [i, t] of times.entries()) {
      append(log, makeBatch({ ...plain, recordCount: 1 + (i % 3), records: Buffer.alloc(400, i), maxTimestamp: 1_700_000_000_000 + t }));
    }
    await log.close();
    const logFile = path.join(dir, '00000000000000000000.log');
    const indexFile = path.join(dir, '00000000000000000000.index');
    const timeFile = path.join(dir, '00000000000000000000.timeindex');
    const expected = expectedEntries(logFile, 0, 1000);
    assert.ok(expected.index.length >= 3 && expected.timeindex.length === 8);
    assert.deepEqual(entriesOf(indexFile, 'index'), expected.index);
    assert.deepEqual(entriesOf(timeFile, 'timeindex'), expected.timeindex);
    const written = { index: fs.readFileSync(indexFile), timeindex: fs.readFileSync(timeFile) };

    // A clean restart leaves them as they are, and later appends add entries after them.
    const again = open(dir, cfg);
    await again.close();
    assert.ok(fs.readFileSync(indexFile).equals(written.index));
    assert.ok(fs.readFileSync(timeFile).equals(written.timeindex));
    const more = open(dir, cfg);
    for (let i = 0; i < 4; i++)
      append(more, makeBatch({ ...plain, recordCount: 2, records: Buffer.alloc(400), maxTimestamp: 1_700_000_000_000 + 9000 + i }));
    append(more, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(400), maxTimestamp: 1_700_000_000_000 })); // older
    await more.close();
    const grown = { index: entriesOf(indexFile, 'index'), timeindex: entriesOf(timeFile, 'timeindex') };
    assert.deepEqual(grown.index.slice(0, expected.index.length), expected.index);
    assert.deepEqual(grown.timeindex.slice(0, expected.timeindex.length), expected.timeindex);
    assert.ok(grown.index.length > expected.index.length, 'new offset entries after the old ones');
    assert.equal(grown.timeindex.length, expected.timeindex.length + 4, 'a time entry per growing timestamp, none for the older one');
    for (const entries of [grown.index, grown.timeindex]) {
      for (let i = 1; i < entries.length; i++) assert.ok(entries[i]![0] > entries[i - 1]![0], 'keys keep growing');
    }

    // A crash: the index files are not trusted but rebuilt from the log, whatever they held.
    fs.writeFileSync(indexFile, Buffer.alloc(13, 0xff));
    fs.rmSync(timeFile);
    const recovered = open(dir, cfg, false);
    await recovered.close();
    const rebuilt = expectedEntries(logFile, 0, 1000);
    assert.deepEqual(entriesOf(indexFile, 'index'), rebuilt.index);
    assert.deepEqual(entriesOf(timeFile, 'timeindex'), rebuilt.timeindex);
  });

  test('an open segment holds one descriptor (its .log), none for its indexes', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const logs = [];
    for (let i = 0; i < 40; i++) {
      const log = open(freshDir(), config({ indexIntervalBytes: 100 }));
      for (let j = 0; j < 3; j++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(200) }));
      logs.push(log);
    }
    assert.ok(fds() - before <= 40 + 2, `${fds() - before} descriptors for 40 one-segment logs`);
    for (const log of logs) await log.close();
  });

  test('the log writes sparse index entries every index.interval.bytes', async () => {
    const dir = freshDir();
    const log = open(dir, config({ indexIntervalBytes: 1000 }));
    for (let i = 0; i < 20; i++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(400) }));
    await log.close();
    const entries = fs.statSync(path.join(dir, '00000000000000000000.index')).size / 8;
    // 461-byte batches, an entry once 1000 bytes have passed: about every third batch.
    assert.ok(entries >= 6 && entries <= 8, `entries ${entries}`);
  });

  test('a new partition has no index files until its first entries are flushed', async () => {
    const dir = freshDir();
    const log = open(dir);
    const files = () =>
      fs
        .readdirSync(dir)
        .filter((f) => /\.(index|timeindex)$/.test(f))
        .sort();
    assert.deepEqual(files(), []);
    // A recovery-style restart of the empty log must not create them either.
    await log.close();
    const again = open(dir, config(), false);
    assert.deepEqual(files(), []);
    append(again, makeBatch({ ...plain, recordCount: 3 }));
    again.flushIndexes();
    assert.deepEqual(files(), ['00000000000000000000.index', '00000000000000000000.timeindex']);
    assert.equal(fs.statSync(path.join(dir, '00000000000000000000.index')).size, 8);
    await again.close();
    const third = open(dir);
    assert.deepEqual(
      readBatches(third, 0).map((b) => b.count),
      [3],
    );
    await third.close();
  });

  test('ListOffsets by timestamp finds the first batch at or after the time', async () => {
    const log = open(freshDir());
    for (let i = 0; i < 5; i++) append(log, makeBatch({ ...plain, recordCount: 2, maxTimestamp: 10_000 * (i + 1) }));
    assert.deepEqual(log.offsetForTimestamp(25_000), { offset: 4, timestamp: 30_000 });
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 0, timestamp: 10_000 });
    assert.equal(log.offsetForTimestamp(60_000), null);
    assert.deepEqual(log.maxTimestampOffset(), { offset: 9, timestamp: 50_000 });
    await log.close();
  });

  test('the periodic pass writes only index entries past their age, a budget at a time, resuming where it stopped', async () => {
    const dir = freshDir();
    const logs = new LogManager(dir, () => undefined);
    const parts = [0, 1, 2].map((p) => logs.open('ix', p, config()));
    for (const log of parts) append(log, makeBatch({ ...plain, recordCount: 2 }));
    const indexFiles = (p: number) => fs.readdirSync(path.join(dir, `ix-${p}`)).filter((f) => /\.(index|timeindex)$/.test(f)).length;
    const now = Date.now();
    // Younger than the age: nothing is written, however large the budget.
    assert.equal(logs.flushDueIndexes(now, 60_000, 1000), 0);
    assert.deepEqual([0, 1, 2].map(indexFiles), [0, 0, 0]);
    // A zero budget lets one log through per call; each call goes on with the next log.
    assert.equal(logs.flushDueIndexes(now + 60_000, 60_000, 0), 1);
    assert.equal(logs.flushDueIndexes(now + 60_000, 60_000, 0), 1);
    assert.deepEqual([0, 1, 2].map(indexFiles).sort(), [0, 2, 2]);
    assert.equal(logs.flushDueIndexes(now + 60_000, 60_000, 0), 1);
    assert.deepEqual([0, 1, 2].map(indexFiles), [2, 2, 2]);
    // Flushed entries are no longer due; a new append makes its log due again only after the age.
    assert.equal(logs.flushDueIndexes(now + 60_000, 60_000, 1000), 0);
    append(parts[1]!, makeBatch({ ...plain, recordCount: 1 }));
    assert.equal(logs.flushDueIndexes(Date.now(), 60_000, 1000), 0);
    assert.equal(logs.flushDueIndexes(Date.now() + 60_000, 60_000, 1000), 1);
    assert.equal(logs.flushDueIndexes(Date.now() + 60_000, 60_000, 1000), 0);
    await logs.close();
  });
});

describe('rolls and restarts', () => {
  test('segments roll on segment.bytes, are named by base offset, and reads cross them', async () => {
    const dir = freshDir();
    const log = open(dir, config({ segmentBytes: 1000 }));
    for (let i = 0; i < 12; i++) append(log, makeBatch({ ...plain, recordCount: 2, records: Buffer.alloc(300, i) }));
    assert.ok(log.segmentCount >= 4);
    const logs = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .sort();
    assert.equal(logs[0], '00000000000000000000.log');
    assert.ok(logs.every((f) => /^\d{20}\.log$/.test(f)));
    const all = readBatches(log, 0);
    assert.equal(all.length, 12);
    assert.deepEqual(
      all.map((b) => b.baseOffset),
      Array.from({ length: 12 }, (_, i) => i * 2),
    );
    await log.close();
    const again = open(dir, config({ segmentBytes: 1000 }));
    assert.equal(again.logEndOffset, 24);
    assert.deepEqual(
      readBatches(again, 7).map((b) => b.baseOffset),
      [6, 8, 10, 12, 14, 16, 18, 20, 22],
    );
    assert.equal(append(again, makeBatch({ ...plain, recordCount: 1 })).baseOffset, 24);
    await again.close();
  });

  test('segments roll on segment.ms', async () => {
    const log = open(freshDir(), config({ segmentMs: 0 }));
    append(log, makeBatch({ ...plain }));
    append(log, makeBatch({ ...plain }));
    assert.equal(log.segmentCount, 2);
    await log.close();
  });

  test('DeleteRecords moves the log start offset and drops whole segments below it', async () => {
    const log = open(freshDir(), config({ segmentBytes: 500 }));
    for (let i = 0; i < 10; i++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(300) }));
    const before = log.segmentCount;
    assert.equal(log.deleteRecordsBefore(5), ErrorCode.NONE);
    assert.equal(log.logStartOffset, 5);
    assert.ok(log.segmentCount < before);
    assert.equal(log.read(4, 1000, true).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(readBatches(log, 5)[0]!.baseOffset, 5);
    assert.equal(log.deleteRecordsBefore(11), ErrorCode.OFFSET_OUT_OF_RANGE);
    await log.close();
  });

  test('retention.bytes removes the oldest closed segments', async () => {
    const log = open(freshDir(), config({ segmentBytes: 500, retentionBytes: 1000 }));
    for (let i = 0; i < 10; i++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(300) }));
    assert.ok(log.enforceRetention(Date.now()) > 0);
    assert.ok(log.sizeBytes <= 1000 + 500);
    assert.ok(log.logStartOffset > 0);
    assert.equal(readBatches(log, log.logStartOffset)[0]!.baseOffset, log.logStartOffset);
    await log.close();
  });
});

describe('crash recovery', () => {
  /** Writes `n` batches and "crashes": the files stay as written, no clean close. */
  function crashedLog(n: number): { dir: string; lastStart: number; size: number } {
    const dir = freshDir();
    const log = open(dir);
    for (let i = 0; i < n; i++) append(log, makeBatch({ ...plain, recordCount: 2, records: records(i) }));
    const size = log.sizeBytes;
    const lastStart = size - makeBatch({ ...plain, recordCount: 2, records: records(n - 1) }).length;
    return { dir, lastStart, size };
  }

  test('a tail cut at every byte of the last batch is truncated to the previous batch', async () => {
    const { dir, lastStart, size } = crashedLog(4);
    const file = path.join(dir, '00000000000000000000.log');
    const original = fs.readFileSync(file);
    for (let cut = lastStart; cut < size; cut++) {
      const copy = freshDir();
      fs.cpSync(dir, copy, { recursive: true });
      fs.truncateSync(path.join(copy, '00000000000000000000.log'), cut);
      const log = open(copy, config(), false);
      assert.equal(log.logEndOffset, 6, `cut at ${cut}`);
      assert.equal(log.sizeBytes, lastStart, `cut at ${cut}`);
      assert.equal(readBatches(log, 0).length, 3);
      // The log goes on from the cut as if the torn batch had never been written.
      assert.equal(append(log, makeBatch({ ...plain, recordCount: 2 })).baseOffset, 6);
      await log.close();
      fs.rmSync(copy, { recursive: true });
    }
    assert.ok(fs.readFileSync(file).equals(original));
  });

  test('a flipped bit anywhere in the checksummed part of a batch cuts the log there', async () => {
    const { dir, lastStart, size } = crashedLog(3);
    // Byte 16 (magic) onwards is covered by the magic check and CRC-32C.
    for (let at = lastStart + 16; at < size; at += 3) {
      const copy = freshDir();
      fs.cpSync(dir, copy, { recursive: true });
      const file = path.join(copy, '00000000000000000000.log');
      const bytes = fs.readFileSync(file);
      bytes[at] = bytes[at]! ^ (1 << (at % 8));
      fs.writeFileSync(file, bytes);
      const log = open(copy, config(), false);
      assert.equal(log.logEndOffset, 4, `flip at ${at}`);
      assert.equal(log.sizeBytes, lastStart);
      await log.close();
      fs.rmSync(copy, { recursive: true });
    }
  });

  test('a corrupt batch in the middle drops it and everything after it, never serving it', async () => {
    const { dir } = crashedLog(5);
    const file = path.join(dir, '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    const second = makeBatch({ ...plain, recordCount: 2, records: records(0) }).length;
    bytes[second + 40] = bytes[second + 40]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const log = open(dir, config(), false);
    assert.equal(log.logEndOffset, 2);
    assert.equal(readBatches(log, 0).length, 1);
    await log.close();
  });

  test('a clean restart reports no recovery; an unclean one reports what it cut', async () => {
    const dir = freshDir();
    const log = open(dir);
    append(log, makeBatch({ ...plain, recordCount: 2 }));
    await log.close();
    const messages: string[] = [];
    const opts = (clean: boolean) => ({ recoveryPoint: 0, logStartOffset: 0, clean, log: (m: string) => messages.push(m) });
    const again = Log.open(dir, config(), opts(true));
    assert.equal(again.logEndOffset, 2);
    await again.close();
    assert.deepEqual(messages, []);
    fs.appendFileSync(path.join(dir, '00000000000000000000.log'), Buffer.alloc(30, 7));
    const recovered = Log.open(dir, config(), opts(false));
    assert.equal(recovered.logEndOffset, 2);
    assert.deepEqual(messages, ['recovery cut the log tail']);
    await recovered.close();
  });
});

describe('checkpoints', () => {
  const startFile = (dir: string) => path.join(dir, 'log-start-offset-checkpoint');

  test('they are written off the event loop, in call order, only when changed, and reopen the logs', async () => {
    const dir = freshDir();
    const logs = new LogManager(dir, () => undefined);
    const log = logs.open('cp', 0, config({ segmentBytes: 500 }));
    for (let i = 0; i < 6; i++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(300) }));
    const first = logs.writeCheckpoints();
    // The fsync must not run on the caller's thread: nothing is on disk when the call returns.
    assert.equal(fs.existsSync(startFile(dir)), false);
    assert.equal(log.deleteRecordsBefore(3), ErrorCode.NONE);
    const second = logs.writeCheckpoints();
    await Promise.all([first, second]);
    // The later call's state is what the file holds, however the two writes interleaved.
    assert.equal(fs.readFileSync(startFile(dir), 'utf8'), '0\n1\ncp 0 3\n');
    const written = fs.statSync(startFile(dir)).ino;
    await logs.writeCheckpoints();
    assert.equal(fs.statSync(startFile(dir)).ino, written, 'an unchanged checkpoint is not rewritten');
    await logs.close();
    assert.ok(fs.existsSync(path.join(dir, '.kafka_cleanshutdown')));

    const again = new LogManager(dir, () => undefined);
    assert.equal(again.cleanStart, true);
    const reopened = again.open('cp', 0, config({ segmentBytes: 500 }));
    assert.equal(reopened.logStartOffset, 3);
    assert.equal(reopened.logEndOffset, 6);
    await again.close();
  });

  test('a failed write rejects its caller and does not stop later writes', async () => {
    const dir = freshDir();
    const logs = new LogManager(dir, () => undefined);
    const log = logs.open('cp', 0, config());
    append(log, makeBatch({ ...plain, recordCount: 2 }));
    // A directory where the temp file should go makes the open fail.
    fs.mkdirSync(startFile(dir) + '.tmp');
    await assert.rejects(logs.writeCheckpoints());
    fs.rmdirSync(startFile(dir) + '.tmp');
    assert.equal(log.deleteRecordsBefore(1), ErrorCode.NONE);
    await logs.writeCheckpoints();
    assert.equal(fs.readFileSync(startFile(dir), 'utf8'), '0\n1\ncp 0 1\n');
    await logs.close();
  });
});

describe('deleting partitions', () => {
  test('a dropped partition frees its name at once, its files go in the background, and leftovers are removed at the next start', async () => {
    const dir = freshDir();
    const logs = new LogManager(dir, () => undefined);
    const log = logs.open('dl', 0, config({ segmentBytes: 500 }));
    for (let i = 0; i < 4; i++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(300) }));
    logs.drop('dl', 0);
    assert.equal(fs.existsSync(path.join(dir, 'dl-0')), false);
    // The name is free: a new partition of that name starts empty, whatever the removal is doing.
    const again = logs.open('dl', 0, config());
    assert.equal(again.logEndOffset, 0);
    await logs.removalsDone();
    assert.deepEqual(
      fs.readdirSync(dir).filter((e) => e.endsWith('-delete')),
      [],
    );
    // A directory moved aside but not removed before a crash.
    fs.mkdirSync(path.join(dir, 'old-3.00ff-delete'));
    fs.writeFileSync(path.join(dir, 'old-3.00ff-delete', '00000000000000000000.log'), 'x');
    await logs.close();
    const next = new LogManager(dir, () => undefined);
    await next.removalsDone();
    assert.equal(fs.existsSync(path.join(dir, 'old-3.00ff-delete')), false);
    assert.ok(fs.existsSync(path.join(dir, 'dl-0')), 'a live partition directory is left alone');
    await next.close();
  });
});

describe('descriptors of deleted segments', () => {
  const isOpen = (fd: number): boolean => {
    try {
      fs.fstatSync(fd);
      return true;
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'EBADF');
      return false;
    }
  };

  test('a segment nothing is sending from closes its descriptor as it is deleted; a pinned one when the last pin goes', async () => {
    const dir = freshDir();
    const log = open(dir, config({ segmentBytes: 500 }));
    for (let i = 0; i < 6; i++) append(log, makeBatch({ ...plain, recordCount: 1, records: Buffer.alloc(300) }));
    const fdAt = (offset: number): number => log.read(offset, 1 << 20, true).regions[0]!.fd;
    const first = fdAt(0);
    const second = fdAt(1);
    assert.notEqual(first, second);
    // Offset 0's segment: no response names it. It closes in the next turn of the event loop,
    // when responses built in this one have pinned their files.
    assert.equal(log.deleteRecordsBefore(1), ErrorCode.NONE);
    assert.equal(isOpen(first), true);
    await new Promise((r) => setImmediate(r));
    assert.equal(isOpen(first), false);
    // Offset 1's segment: two responses name it, as two Fetch answers waiting to be written would.
    pinFiles([second]);
    pinFiles([second]);
    assert.equal(log.deleteRecordsBefore(2), ErrorCode.NONE);
    await new Promise((r) => setImmediate(r));
    assert.equal(isOpen(second), true);
    unpinFiles([second]);
    assert.equal(isOpen(second), true, 'one response still names it');
    unpinFiles([second]);
    assert.equal(isOpen(second), false);
    assert.equal(pinCount(second), 0);
    await log.close();
  });

  test('a dropped partition closes the descriptors no response names', async () => {
    const dir = freshDir();
    const logs = new LogManager(dir, () => undefined);
    const log = logs.open('fd', 0, config());
    append(log, makeBatch({ ...plain, recordCount: 2 }));
    const fd = log.read(0, 1 << 20, true).regions[0]!.fd;
    logs.drop('fd', 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(isOpen(fd), false);
    await logs.close();
  });
});

describe('idempotent producers', () => {
  const idem = (seq: number, count = 1, epoch = 0): Buffer =>
    makeBatch({ attributes: 0, producerId: 42n, producerEpoch: epoch, baseSequence: seq, recordCount: count });

  test('a retried batch gets its original offsets; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    const log = open(freshDir());
    assert.equal(append(log, idem(0, 2)).baseOffset, 0);
    assert.equal(append(log, idem(2, 3)).baseOffset, 2);
    const dup = append(log, idem(0, 2));
    assert.equal(dup.duplicate, true);
    assert.deepEqual([dup.baseOffset, dup.lastOffset], [0, 1]);
    assert.equal(log.logEndOffset, 5, 'the retry was not written again');
    assert.equal(append(log, idem(9)).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(append(log, idem(5)).baseOffset, 5);
    // A new epoch starts at 0; an old epoch is fenced.
    assert.equal(append(log, idem(3, 1, 1)).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(append(log, idem(0, 1, 1)).baseOffset, 6);
    assert.equal(append(log, idem(6, 1, 0)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    await log.close();
  });

  test('producer state survives a clean restart and a crash', async () => {
    const dir = freshDir();
    const log = open(dir);
    append(log, idem(0, 2));
    append(log, idem(2, 2));
    await log.close();
    const clean = open(dir);
    assert.equal(append(clean, idem(2, 2)).duplicate, true);
    assert.equal(append(clean, idem(7)).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(clean, idem(4));
    // No close: a crash. Recovery rebuilds the state from the snapshot and the log after it.
    const crashed = open(dir, config(), false);
    assert.equal(append(crashed, idem(4)).duplicate, true);
    assert.equal(append(crashed, idem(5)).baseOffset, 5);
    await crashed.close();
  });

  test('a clean close writes a snapshot only when the log moved past the newest one', async () => {
    const dir = freshDir();
    const snapshots = () => fs.readdirSync(dir).filter((f) => f.endsWith('.snapshot'));
    const empty = open(dir);
    await empty.close();
    assert.deepEqual(snapshots(), [], 'an empty log needs none');
    const log = open(dir);
    append(log, idem(0, 2));
    await log.close();
    const file = path.join(dir, '00000000000000000002.snapshot');
    assert.deepEqual(snapshots(), ['00000000000000000002.snapshot']);
    const ino = fs.statSync(file).ino;
    const idle = open(dir);
    await idle.close();
    assert.equal(fs.statSync(file).ino, ino, 'not rewritten by an idle open and close');
    const again = open(dir);
    assert.equal(append(again, idem(0, 2)).duplicate, true, 'the state is still there');
    append(again, idem(2));
    await again.close();
    assert.ok(snapshots().includes('00000000000000000003.snapshot'));
  });
});

describe('durable mode', () => {
  test('the high watermark only covers fsynced records, and one flush covers many appends', async () => {
    const log = open(freshDir(), config({ durable: true }));
    const a = append(log, makeBatch({ ...plain, recordCount: 1 }));
    const b = append(log, makeBatch({ ...plain, recordCount: 1 }));
    assert.equal(log.highWatermark, 0, 'nothing visible before the fsync');
    assert.equal(log.read(0, 1000, true).bytes, 0);
    const waits = [log.flushTo(a.lastOffset + 1), log.flushTo(b.lastOffset + 1)];
    await Promise.all(waits);
    assert.equal(log.recoveryPoint, 2);
    assert.equal(log.highWatermark, 2);
    await log.close();
  });

  test('a long poll is woken when the high watermark moves', async () => {
    const log = open(freshDir(), config({ durable: true }));
    const woken = new Promise<number>((resolve) => log.onHighWatermark(() => resolve(log.highWatermark)));
    const r = append(log, makeBatch({ ...plain, recordCount: 3 }));
    await log.flushTo(r.lastOffset + 1);
    assert.equal(await woken, 3);
    await log.close();
  });
});

describe('reads after close', () => {
  // A long-polling Fetch holds its logs; when its wait ended during a shutdown, after the logs
  // were closed, its read threw a TypeError that stopped the broker before the clean-shutdown mark.
  test('a closed or deleted log answers NOT_LEADER_OR_FOLLOWER instead of throwing', async () => {
    const closed = open(freshDir());
    append(closed, makeBatch({ ...plain, recordCount: 2 }));
    await closed.close();
    const deleted = open(freshDir());
    append(deleted, makeBatch({ ...plain, recordCount: 2 }));
    deleted.destroy();
    for (const log of [closed, deleted]) {
      const r = log.read(0, 1 << 20, true);
      assert.equal(r.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.equal(r.bytes, 0);
      assert.deepEqual(r.regions, []);
    }
  });
});

describe('LogValidator', () => {
  const produce = (log: Log, payload: Buffer, apiVersion = 11) => log.appendAsLeader(payload, { apiVersion, leaderEpoch: 0 });

  test('policy refuses zstd before Produce v7, unknown codecs and transactional batches without a transactional id, appending nothing', async () => {
    const log = open(freshDir());
    const zstd = makeBatch({ ...plain, attributes: 4 });
    const refusals: Array<[Buffer, number, number, string | null]> = [
      [zstd, 6, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, null],
      // The zstd rule is checked over every batch first.
      [Buffer.concat([makeBatch({ ...plain, attributes: 0x10 }), zstd]), 3, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, null],
      [makeBatch({ ...plain, attributes: 5 }), 11, ErrorCode.CORRUPT_MESSAGE, 'unknown compression codec'],
      [
        Buffer.concat([makeBatch({ ...plain }), makeBatch({ ...plain, attributes: 0x11 })]),
        11,
        ErrorCode.INVALID_TXN_STATE,
        'a transactional batch needs a transactional id in the request',
      ],
    ];
    for (const [payload, version, code, message] of refusals) {
      const r = produce(log, payload, version);
      assert.deepEqual([r.errorCode, r.errorMessage, r.invalidRecords, r.baseOffset], [code, message, true, -1]);
    }
    // Validation errors come with the addon's code and no message.
    const bad = makeBatch({ ...plain });
    bad[bad.length - 1]! ^= 1;
    assert.deepEqual([produce(log, bad).errorCode, produce(log, bad).errorMessage], [ErrorCode.CORRUPT_MESSAGE, null]);
    assert.equal(produce(log, makeBatch({ ...plain, magic: 1 })).errorCode, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    const tooBig = makeBatch({ ...plain, records: Buffer.alloc(2000) });
    assert.equal(
      open(freshDir(), config({ maxMessageBytes: 1000 })).appendAsLeader(tooBig, { apiVersion: 11, leaderEpoch: 0 }).errorCode,
      ErrorCode.MESSAGE_TOO_LARGE,
    );
    assert.equal(log.logEndOffset, 0, 'nothing was appended');
    // A request that names its transactional id may carry transactional batches.
    const txn = Buffer.concat([makeBatch({ ...plain }), makeBatch({ ...plain, attributes: 0x10 })]);
    assert.equal(log.appendAsLeader(txn, { apiVersion: 11, leaderEpoch: 0, transactional: true }).errorCode, ErrorCode.NONE);
    const end = log.logEndOffset;
    assert.ok(end > 0, 'the transactional payload was appended');
    // zstd from v7 on, and from the broker's own writes (no request version), is accepted.
    assert.equal(produce(log, zstd, 7).baseOffset, end);
    assert.equal(log.appendAsLeader(zstd, { leaderEpoch: 0 }).invalidRecords, false);
    await log.close();
  });

  test('LogAppendTime: the batches are stamped as they are written, and the log reads the stamped time', async () => {
    const dir = freshDir();
    const log = open(dir, config({ logAppendTime: true }));
    const before = Date.now();
    const payload = Buffer.concat([1, 2].map((n) => makeBatch({ ...plain, recordCount: n, attributes: 0x03, maxTimestamp: 1_000_000 })));
    const r = produce(log, payload);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.ok(r.logAppendTimeMs >= before && r.logAppendTimeMs <= Date.now(), `stamped ${r.logAppendTimeMs}`);
    const stored = log.readBytes(0, 1 << 20);
    const v = native.validateBatches(stored, 1 << 20);
    assert.equal(v.errorCode, ErrorCode.NONE, 'the stamped batches carry valid CRCs');
    for (let k = 0; k < v.count; k++) {
      const at = v.batches[k * native.BATCH_STRIDE + native.B_POSITION]!;
      assert.equal(stored.readInt16BE(at + 21), 0x0b, 'timestamp-type bit added to the codec bits');
      assert.equal(Number(stored.readBigInt64BE(at + 35)), r.logAppendTimeMs);
      assert.equal(Number(stored.readBigInt64BE(at + 27)), 1_000_000 - 999, 'baseTimestamp as sent');
    }
    // The segment's table and the time index hold the stamped time, not the producer's.
    assert.deepEqual(log.maxTimestampOffset(), { offset: 0, timestamp: r.logAppendTimeMs });
    assert.deepEqual(log.offsetForTimestamp(1_000_001), { offset: 0, timestamp: r.logAppendTimeMs });
    await log.close();
    const idx = fs.readFileSync(path.join(dir, '00000000000000000000.timeindex'));
    assert.equal(Number(idx.readBigInt64BE(0)), r.logAppendTimeMs);
    // CreateTime (the default) leaves the producer's bytes alone.
    const plainLog = open(freshDir());
    const sent = makeBatch({ ...plain, maxTimestamp: 1_000_000 });
    const copy = Buffer.from(sent);
    assert.equal(produce(plainLog, sent).logAppendTimeMs, -1);
    assert.ok(sent.subarray(16).equals(copy.subarray(16)));
    await plainLog.close();
  });

  test('a validation result made stale by another validation is refused by the append', async () => {
    const log = open(freshDir());
    const mine = makeBatch({ ...plain, recordCount: 3 });
    const v = native.validateBatches(mine, log.config.maxMessageBytes);
    // As if an await between validation and append had let another payload be validated.
    native.validateBatches(makeBatch({ ...plain, recordCount: 1 }), log.config.maxMessageBytes);
    assert.throws(() => log.appendValidated(mine, v, 0, -1), native.StaleBatchesError);
    assert.equal(log.logEndOffset, 0, 'nothing appended');
    assert.equal(log.appendValidated(mine, native.validateBatches(mine, log.config.maxMessageBytes), 0, -1).lastOffset, 2);
    await log.close();
  });
});

describe('leader epochs and truncation (a cluster follower)', () => {
  test('the epoch cache follows appends, answers endOffsetFor, and survives a reopen', () => {
    const dir = freshDir();
    const log = open(dir);
    for (let i = 0; i < 3; i++) log.appendAsLeader(makeBatch({ ...plain, recordCount: 2 }), { leaderEpoch: 0 });
    for (let i = 0; i < 2; i++) log.appendAsLeader(makeBatch({ ...plain, recordCount: 2 }), { leaderEpoch: 3 });
    assert.deepEqual(log.epochs.list(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 6 },
    ]);
    assert.deepEqual(log.epochs.endOffsetFor(0, log.logEndOffset), [0, 6]);
    assert.deepEqual(log.epochs.endOffsetFor(2, log.logEndOffset), [0, 6], 'an epoch this log never had: the one before it');
    assert.deepEqual(log.epochs.endOffsetFor(3, log.logEndOffset), [3, 10]);
    assert.deepEqual(log.epochs.endOffsetFor(-1, log.logEndOffset), [-1, -1]);
    log.close();
    const again = open(dir);
    assert.deepEqual(again.epochs.list(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 6 },
    ]);
    again.close();
  });

  test("a follower keeps its leader's offsets and epochs, and truncateTo cuts batches, epochs and producer state", () => {
    const leader = open(freshDir());
    for (let i = 0; i < 4; i++) leader.appendAsLeader(makeBatch({ ...plain, recordCount: 3 }), { leaderEpoch: i < 2 ? 1 : 2 });
    const copied = leader.readBytes(0, 1 << 20, true);
    const dir = freshDir();
    const follower = open(dir);
    const r = follower.appendAsFollower(copied);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(follower.logEndOffset, 12);
    assert.ok(follower.readBytes(0, 1 << 20, true).equals(copied), 'byte for byte');
    assert.deepEqual(follower.epochs.list().slice(-2), [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 6 },
    ]);
    // A batch that does not start at the follower's end is refused, nothing written.
    assert.equal(follower.appendAsFollower(copied).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(follower.logEndOffset, 12);

    follower.truncateTo(7); // inside the third batch (6-8): it goes whole
    assert.equal(follower.logEndOffset, 6);
    assert.deepEqual(follower.epochs.list().slice(-1), [{ epoch: 1, startOffset: 0 }]);
    assert.ok(follower.readBytes(0, 1 << 20, true).equals(copied.subarray(0, follower.readBytes(0, 1 << 20, true).length)));
    assert.equal(follower.readBytes(0, 1 << 20, true).length, copied.length / 2);
    // Appending after the cut continues from there, and the log reopens the same.
    const more = leader.readBytes(6, 1 << 20, true);
    assert.equal(follower.appendAsFollower(more).errorCode, ErrorCode.NONE);
    assert.equal(follower.logEndOffset, 12);
    follower.close();
    const reopened = open(dir, config(), false);
    assert.equal(reopened.logEndOffset, 12);
    assert.ok(reopened.readBytes(0, 1 << 20, true).equals(copied));
    reopened.close();
    leader.close();
  });

  test('an acks=all wait of a leadership that ended fails, even when the new leader hands over a high watermark past it', async () => {
    // A leader frozen and replaced appends a record at offset 3 that nobody copied; as a follower it
    // then learns the new leader's high watermark (4, for the new leader's own record at 3) before it
    // truncates. Its wait for offset 4 must not read that as its record being committed.
    const log = open(freshDir());
    log.setReplicaHighWatermark(0);
    append(log, makeBatch({ ...plain, recordCount: 3 }));
    log.setReplicaHighWatermark(3);
    const r = append(log, makeBatch({ ...plain, recordCount: 1 }));
    const wait = log.waitForHighWatermark(r.lastOffset + 1, 10_000);
    log.endLeadership();
    log.setReplicaHighWatermark(4);
    assert.equal(await wait, 'not-leader');
    // A wait of the current leadership still completes, and one that nobody completes times out.
    const next = append(log, makeBatch({ ...plain, recordCount: 1 }));
    const ok = log.waitForHighWatermark(next.lastOffset + 1, 10_000);
    log.setReplicaHighWatermark(5);
    assert.equal(await ok, 'reached');
    assert.equal(await log.waitForHighWatermark(6, 10), 'timed-out');
    log.close();
  });
});
