/**
 * The log cleaner on real segment files, with its piscina worker: the latest record of each key
 * stays at its offset, tombstones stay until delete.retention.ms has passed since their segment
 * was written, aborted transactions' records go while markers stay, compressed batches are
 * re-encoded in their codec, a full key map cleans in steps, and a crash at any point of the
 * swap (a `.cleaned` or a `.swap` file left behind) opens to either the old or the new segments.
 * Keyless records are refused for a compacted topic.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Log, type LogConfig } from '../../src/storage/log.js';
import { LogCleaner } from '../../src/storage/log-cleaner.js';
import { runClean } from '../../src/storage/cleaner-task.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  Compression,
  type CompressionCodec,
  ControlType,
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  type KafkaRecord,
} from '../../src/records/record-batch.js';
import { testLogConfig } from '../helpers/log-config.js';

let root: string;
let cleaner: LogCleaner;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-cleaner-'));
  cleaner = new LogCleaner(
    { enabled: true, threads: 1, dedupeBufferBytes: 1 << 20, backoffMs: 60_000 },
    () => [],
    () => undefined,
  );
});
after(async () => {
  await cleaner.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

let n = 0;
function config(over: Partial<LogConfig> = {}): LogConfig {
  return testLogConfig({ deleteRetention: false, compact: true, ...over });
}

function freshDir(): string {
  return path.join(root, `p-${n++}`);
}

function open(dir: string, over: Partial<LogConfig> = {}, firstDirtyOffset = 0): Log {
  return Log.open(dir, config(over), { recoveryPoint: 0, logStartOffset: 0, clean: true, firstDirtyOffset });
}

type Rec = { key: string | null; value: string | null };

/** Appends one batch as a client would; returns its base offset. */
function put(log: Log, recs: Rec[], compression: CompressionCodec = Compression.none): number {
  const batch = encodeRecordBatch(
    recs.map((r) => ({ key: r.key, value: r.value })),
    { compression },
  );
  const r = log.appendAsLeader(batch, { leaderEpoch: 0, apiVersion: 9 });
  assert.equal(r.errorCode, 0, r.errorMessage ?? '');
  return r.baseOffset;
}

/** Every record of the log from its start, with its offset. */
function readAll(log: Log): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  let at = log.logStartOffset;
  while (at < log.logEndOffset) {
    const bytes = log.readBytes(at, 1 << 20, true);
    if (bytes.length === 0) break;
    const { batches } = decodeRecordBatches(bytes);
    for (const b of batches) {
      if (!b.control) for (const r of b.records) if (r.offset >= at) out.push(r);
      at = b.baseOffset + b.lastOffsetDelta + 1;
    }
  }
  return out;
}

function view(records: KafkaRecord[]): string[] {
  return records.map((r) => `${r.offset}:${r.key?.toString() ?? '-'}=${r.value?.toString() ?? 'null'}`);
}

const entry = (log: Log) => ({ key: { topic: 't', partition: 0 }, log });

describe('log cleaner', () => {
  test('keeps the latest record of each key at its offset; the active segment is untouched', async () => {
    const log = open(freshDir());
    for (let round = 0; round < 4; round++) {
      put(log, [
        { key: 'a', value: `a${round}` },
        { key: 'b', value: `b${round}` },
        { key: `only-${round}`, value: 'x' },
      ]);
      log.roll();
    }
    put(log, [{ key: 'a', value: 'active' }]);
    const before = log.segmentCount;
    const outcome = await cleaner.clean(entry(log));
    assert.ok(outcome !== null && outcome.swappedGroups > 0);
    assert.deepEqual(view(readAll(log)), ['2:only-0=x', '5:only-1=x', '8:only-2=x', '9:a=a3', '10:b=b3', '11:only-3=x', '12:a=active']);
    assert.equal(log.firstDirtyOffset, 12);
    assert.ok(log.segmentCount < before, `segments were merged (${before} -> ${log.segmentCount})`);
    // Reads at removed offsets land on the next record; the log end is unchanged.
    assert.equal(log.logEndOffset, 13);
    assert.equal(decodeRecordBatches(log.readBytes(3, 1 << 20)).batches[0]!.records.find((r) => r.offset >= 3)!.offset, 5);
    // And it all survives a restart.
    const dir = log.dir;
    await log.close();
    const again = open(dir, {}, 12);
    assert.deepEqual(view(readAll(again)), ['2:only-0=x', '5:only-1=x', '8:only-2=x', '9:a=a3', '10:b=b3', '11:only-3=x', '12:a=active']);
    assert.equal(again.cleanPlan(Date.now())?.due, false, 'nothing dirty after the clean');
    await again.close();
  });

  test('tombstones stay until delete.retention.ms has passed since their segment was written', async () => {
    const log = open(freshDir(), { deleteRetentionMs: 60_000 });
    put(log, [
      { key: 'k', value: 'v1' },
      { key: 'gone', value: 'soon' },
    ]);
    log.roll();
    put(log, [{ key: 'gone', value: null }]);
    log.roll();
    put(log, [{ key: 'k', value: 'v2' }]);
    log.roll();
    put(log, [{ key: 'active', value: 'x' }]);
    await cleaner.clean(entry(log));
    assert.deepEqual(view(readAll(log)), ['2:gone=null', '3:k=v2', '4:active=x']);
    assert.ok(log.tombstoneExpiryMs > Date.now(), 'the kept tombstone has an expiry');
    // Age the cleaned segments past the horizon: the next clean removes the tombstone.
    const old = new Date(Date.now() - 120_000);
    for (const f of fs.readdirSync(log.dir)) if (f.endsWith('.log')) fs.utimesSync(path.join(log.dir, f), old, old);
    log.tombstoneExpiryMs = Date.now() - 1;
    assert.equal(log.cleanPlan(Date.now())?.due, true, 'an expired tombstone makes the log due');
    await cleaner.clean(entry(log));
    assert.deepEqual(view(readAll(log)), ['3:k=v2', '4:active=x']);
    await log.close();
  });

  test('compressed batches losing records are re-encoded in their codec; untouched ones are copied', async () => {
    for (const codec of [Compression.zstd, Compression.lz4, Compression.gzip, Compression.snappy]) {
      const log = open(freshDir());
      put(
        log,
        Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 10}`, value: `v${i}` })),
        codec,
      );
      log.roll();
      put(log, [{ key: 'z', value: 'active' }]);
      await cleaner.clean(entry(log));
      const bytes = log.readBytes(0, 1 << 20);
      const b = decodeRecordBatches(bytes).batches[0]!;
      assert.equal(b.compression, codec);
      assert.equal(b.baseOffset, 0);
      assert.equal(b.lastOffsetDelta, 49);
      assert.deepEqual(
        b.records.map((r) => r.offset),
        [40, 41, 42, 43, 44, 45, 46, 47, 48, 49],
      );
      await log.close();
    }
  });

  test('aborted transactional records go, committed ones and the markers stay', async () => {
    const log = open(freshDir());
    const txn = (pid: number, key: string, value: string, seq: number): void => {
      const batch = encodeRecordBatch([{ key, value }], {
        baseOffset: log.logEndOffset,
        partitionLeaderEpoch: 0,
        producerId: pid,
        producerEpoch: 0,
        baseSequence: seq,
        transactional: true,
      });
      assert.equal(log.appendAsFollower(batch).errorCode, 0);
    };
    const marker = (pid: number, type: 0 | 1): void => {
      const batch = encodeControlBatch(type, { producerId: pid, producerEpoch: 0, coordinatorEpoch: 1 });
      batch.writeBigInt64BE(BigInt(log.logEndOffset), 0);
      batch.writeInt32BE(0, 12);
      assert.equal(log.appendAsFollower(batch).errorCode, 0);
    };
    put(log, [{ key: 'k', value: 'committed-before' }]);
    txn(7, 'k', 'aborted', 0);
    marker(7, ControlType.abort);
    txn(8, 'j', 'committed', 0);
    marker(8, ControlType.commit);
    log.roll();
    put(log, [{ key: 'active', value: 'x' }]);
    await cleaner.clean(entry(log));
    // The aborted write does not hide the older committed value of its key.
    assert.deepEqual(view(readAll(log)), ['0:k=committed-before', '3:j=committed', '5:active=x']);
    const controls = decodeRecordBatches(log.readBytes(0, 1 << 20)).batches.filter((b) => b.control);
    assert.equal(controls.length, 2, 'both markers stay');
    await log.close();
  });

  test('a key map too small for the dirty section cleans it in steps', async () => {
    const log = open(freshDir());
    for (let r = 0; r < 3; r++) {
      for (let b = 0; b < 10; b++)
        put(
          log,
          Array.from({ length: 10 }, (_, i) => ({ key: `k${b * 10 + i}`, value: `r${r}` })),
        );
      log.roll();
    }
    put(log, [{ key: 'active', value: 'x' }]);
    const small = new LogCleaner(
      { enabled: true, threads: 1, dedupeBufferBytes: 24 * 64, backoffMs: 60_000 },
      () => [],
      () => undefined,
    );
    try {
      let steps = 0;
      while (log.firstDirtyOffset < 300 && steps < 20) {
        const o = await small.clean(entry(log));
        assert.ok(o !== null && o.result.endOffset > 0);
        steps++;
      }
      assert.ok(steps > 2, `took ${steps} steps`);
      const records = readAll(log);
      assert.equal(records.length, 101);
      assert.ok(records.slice(0, 100).every((r) => r.value!.toString() === 'r2'));
    } finally {
      await small.stop();
    }
    await log.close();
  });

  test('a crash before the swap leaves the old segments; one after .swap opens to the cleaned ones', async () => {
    const build = (): Log => {
      const log = open(freshDir());
      for (let r = 0; r < 3; r++) {
        put(log, [
          { key: 'a', value: `a${r}` },
          { key: 'b', value: `b${r}` },
        ]);
        log.roll();
      }
      put(log, [{ key: 'c', value: 'active' }]);
      return log;
    };
    const expected = ['0:a=a0', '1:b=b0', '2:a=a1', '3:b=b1', '4:a=a2', '5:b=b2', '6:c=active'];
    const cleaned = ['4:a=a2', '5:b=b2', '6:c=active'];

    // 1. Killed while writing: only a .cleaned file is there.
    let log = build();
    let result = runClean(log.cleanTask(6, 1 << 20, Date.now()));
    assert.ok(fs.existsSync(result.groups[0]!.file));
    let dir = log.dir;
    log.destroy();
    log = open(dir);
    assert.deepEqual(view(readAll(log)), expected);
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.cleaned')).length, 0);
    await log.close();

    // 2. Killed after .cleaned became .swap, before any source was deleted, and 3. after some were.
    for (const deleteSources of [0, 2]) {
      log = build();
      result = runClean(log.cleanTask(6, 1 << 20, Date.now()));
      const g = result.groups[0]!;
      assert.deepEqual(g.sources, [0, 2, 4]);
      fs.renameSync(g.file, g.file.replace(/\.cleaned$/, '.swap'));
      dir = log.dir;
      log.destroy();
      for (const base of g.sources.slice(0, deleteSources)) fs.rmSync(path.join(dir, `${String(base).padStart(20, '0')}.log`));
      log = open(dir);
      assert.deepEqual(view(readAll(log)), cleaned, `with ${deleteSources} sources deleted`);
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.endsWith('.log')),
        ['00000000000000000000.log', '00000000000000000006.log'],
      );
      assert.ok(fs.existsSync(path.join(dir, '00000000000000000000.index')), 'indexes rewritten');
      await log.close();
    }
  });

  test('a keyless record is refused for a compacted topic, nothing appended; accepted otherwise', async () => {
    const log = open(freshDir());
    const batch = encodeRecordBatch(
      [
        { key: 'k', value: 'v' },
        { key: null, value: 'no key' },
      ],
      { compression: Compression.lz4 },
    );
    const r = log.appendAsLeader(batch, { leaderEpoch: 0, apiVersion: 9 });
    assert.equal(r.errorCode, ErrorCode.INVALID_RECORD);
    assert.match(r.errorMessage ?? '', /Compacted topic cannot accept message without key/);
    assert.equal(log.logEndOffset, 0);
    log.config = { ...log.config, compact: false };
    assert.equal(log.appendAsLeader(batch, { leaderEpoch: 0, apiVersion: 9 }).errorCode, 0);
    await log.close();
  });
});
