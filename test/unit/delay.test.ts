/**
 * Delayed delivery's parts: the delay headers and delay batches (records/delayed-records.ts), and
 * the DelayScheduler over a real Log with a clock the test moves: records go to the minute, hour
 * or day bucket files by due time, only the next minutes are held in memory however many are
 * pending, and each is appended to its partition when due, once.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DelayScheduler } from '../../src/delay/delay-scheduler.js';
import type { PartitionLogs } from '../../src/metadata/ports.js';
import { DELAY_CONTROL_TYPE, decodeDelayedRecord, dueTimeOf, mayHoldDelayed, toDelayBatches } from '../../src/records/delayed-records.js';
import { Compression, controlRecordType, decodeRecordBatches, encodeRecordBatch } from '../../src/records/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { testLogConfig } from '../helpers/log-config.js';

const POLICY = { maxDelayMs: 40 * 86_400_000, topicDelayMs: 0 };
const MAX = 1 << 26;
const h = (key: string, value: string) => ({ key, value: Buffer.from(value) });

describe('delay headers and delay batches', () => {
  test('due times from franz-delay-ms, franz-deliver-at and the topic delay; bad values refused with a reason', () => {
    assert.equal(dueTimeOf([h('franz-delay-ms', '1500')], 1000, POLICY), 2500);
    assert.equal(dueTimeOf([h('x', 'y'), h('franz-deliver-at', '7777')], 1000, POLICY), 7777);
    assert.equal(dueTimeOf([h('x', 'y')], 1000, POLICY), null);
    assert.equal(dueTimeOf([], 1000, { ...POLICY, topicDelayMs: 50 }), 1050);
    for (const bad of ['', 'soon', '-5', '1.5', '99999999999999999']) {
      assert.throws(() => dueTimeOf([h('franz-delay-ms', bad)], 0, POLICY), /whole number/, bad);
    }
    assert.throws(() => dueTimeOf([h('franz-delay-ms', '11')], 0, { ...POLICY, maxDelayMs: 10 }), /franz.delay.max.ms/);
  });

  test('a batch with a delayed record becomes a control batch of the same sequence range; others stay as sent', () => {
    const plain = encodeRecordBatch([{ value: 'a' }, { value: 'b' }], { producerId: 7, producerEpoch: 1, baseSequence: 10 });
    const delayed = encodeRecordBatch(
      [
        { key: 'k', value: 'late', headers: [{ key: 'franz-delay-ms', value: '100' }], timestamp: 5 },
        { value: 'now', timestamp: 6 },
      ],
      { producerId: 7, producerEpoch: 1, baseSequence: 12 },
    );
    const payload = Buffer.concat([plain, delayed]);
    assert.equal(mayHoldDelayed(plain, POLICY, MAX), false);
    assert.equal(mayHoldDelayed(payload, POLICY, MAX), true);
    const lz4 = encodeRecordBatch([{ value: 'x', headers: [{ key: 'franz-deliver-at', value: '9' }] }], { compression: Compression.lz4 });
    assert.equal(mayHoldDelayed(lz4, POLICY, MAX), true, 'compressed batches are looked into');
    const out = toDelayBatches(payload, 1000, POLICY, MAX)!;
    assert.deepEqual(out.due, [
      { delta: 2, dueMs: 1100 },
      { delta: 3, dueMs: 1000 },
    ]);
    const [first, second] = decodeRecordBatches(out.payload).batches;
    assert.deepEqual(
      first!.records.map((r) => r.value?.toString()),
      ['a', 'b'],
      'the plain batch as sent',
    );
    assert.equal(second!.control, true);
    assert.deepEqual([second!.producerId, second!.producerEpoch, second!.baseSequence, second!.lastOffsetDelta], [7, 1, 12, 1]);
    assert.equal(controlRecordType(out.payload, first!.sizeInBytes), DELAY_CONTROL_TYPE);
    const back = second!.records.map((r) => decodeDelayedRecord(r)!);
    assert.deepEqual(
      back.map((r) => [r.dueMs, r.timestamp, r.key?.toString() ?? null, r.value?.toString(), r.headers.length]),
      [
        [1100, 5, 'k', 'late', 1],
        [1000, 6, null, 'now', 0],
      ],
    );
    assert.equal(toDelayBatches(plain, 1000, POLICY, MAX), null);
  });
});

/** A partition log with delayed delivery on, the scheduler over it, and a clock the test moves. */
function rig(dir: string, clustered = false) {
  let clock = Date.now();
  const log = Log.open(join(dir, 't-0'), testLogConfig({ delivery: POLICY }), { recoveryPoint: 0, logStartOffset: 0, clean: true });
  const logs = {
    partition: (topic: string, p: number) => (topic === 't' && p === 0 ? log : undefined),
    leaderEpochOf: () => 0,
  } as unknown as PartitionLogs;
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined } as never;
  // A new scheduler each start, as a broker that restarts makes one.
  let s = new DelayScheduler(join(dir, 'delay-index'), {
    logs,
    log: quiet,
    maxDelayMs: POLICY.maxDelayMs,
    clustered,
    now: () => clock,
  });
  log.onDelayed = (due) => s.scheduled('t', 0, due);
  const tick = (): void => (s as unknown as { tick(): void }).tick();
  const delivered = (): string[] =>
    decodeRecordBatches(log.readBytes(0, 1 << 24, true))
      .batches.filter((b) => !b.control)
      .flatMap((b) => b.records.map((r) => r.value!.toString()));
  return {
    log,
    get s() {
      return s;
    },
    async restart() {
      await s.stop();
      s = new DelayScheduler(join(dir, 'delay-index'), {
        logs,
        log: quiet,
        maxDelayMs: POLICY.maxDelayMs,
        clustered,
        now: () => clock,
      });
      s.start();
    },
    tick,
    delivered,
    advance(ms: number) {
      clock += ms;
      tick();
    },
    produce(value: string, delayMs: number, key: string | null = null) {
      const r = log.appendFromClient(encodeRecordBatch([{ key, value, headers: [{ key: 'franz-delay-ms', value: String(delayMs) }] }]), {
        leaderEpoch: 0,
      });
      assert.ok(!(r instanceof Promise) && r.errorCode === ErrorCode.NONE);
    },
    cancel(key: string) {
      const r = log.appendFromClient(encodeRecordBatch([{ key, value: null, headers: [{ key: 'franz-cancel', value: '1' }] }]), {
        leaderEpoch: 0,
      });
      assert.ok(!(r instanceof Promise) && r.errorCode === ErrorCode.NONE);
    },
    files: () => readdirSync(join(dir, 'delay-index')).filter((f) => /^[mhd]-/.test(f)),
  };
}

describe('retention and waiting records', () => {
  test('a segment holding a delayed record stays until the record is due, whatever retention says', async () => {
    const dir = tempDir('franz-delay-unit-');
    try {
      const log = Log.open(join(dir, 't-0'), testLogConfig({ delivery: POLICY, retentionMs: 1000, retentionBytes: 1 }), {
        recoveryPoint: 0,
        logStartOffset: 0,
        clean: true,
      });
      const append = (records: Buffer): void => {
        const r = log.appendFromClient(records, { leaderEpoch: 0 });
        assert.ok(!(r instanceof Promise) && r.errorCode === ErrorCode.NONE);
        log.rollPast(0);
      };
      const at = Date.now();
      append(encodeRecordBatch([{ value: 'plain', timestamp: at - 120_000 }]));
      append(encodeRecordBatch([{ value: 'later', headers: [{ key: 'franz-delay-ms', value: '600000' }], timestamp: at - 120_000 }]));
      append(encodeRecordBatch([{ value: 'plain again', timestamp: at - 120_000 }]));
      // The first segment goes (old, and over retention.bytes); the delayed record's stays.
      assert.equal(log.enforceRetention(at), 1);
      assert.equal(log.logStartOffset, 1);
      assert.equal(log.enforceRetention(at + 600_000), 0, 'due, but maybe not delivered yet');
      assert.equal(log.enforceRetention(at + 600_000 + 61_000 + 1000), 2, 'due a minute ago and past retention.ms: it goes, and the next');
      await log.close();
    } finally {
      removeDir(dir);
    }
  });
});

describe('the delay scheduler', () => {
  test('minute, hour and day buckets; each record delivered once when due', async () => {
    const dir = tempDir('franz-delay-unit-');
    try {
      const r = rig(dir);
      r.s.start();
      r.produce('soon', 500);
      r.produce('hours', 2 * 3_600_000);
      r.produce('days', 3 * 86_400_000);
      await r.restart();
      // The stop wrote every queued entry: one file per level.
      assert.deepEqual(
        r
          .files()
          .map((f) => f[0])
          .sort(),
        ['d', 'h', 'm'],
      );
      r.tick();
      assert.deepEqual(r.delivered(), [], 'nothing due yet');
      r.advance(600);
      assert.deepEqual(r.delivered(), ['soon']);
      r.advance(2 * 3_600_000);
      assert.deepEqual(r.delivered(), ['soon', 'hours']);
      r.advance(3 * 86_400_000);
      assert.deepEqual(r.delivered(), ['soon', 'hours', 'days']);
      r.advance(2 * 60_000);
      assert.deepEqual(r.delivered(), ['soon', 'hours', 'days'], 'once each');
      assert.deepEqual(r.files(), [], 'every bucket file gone once delivered');
      await r.s.stop();
    } finally {
      removeDir(dir);
    }
  });

  test('franz-cancel drops the waiting records of its key written before it, also across a restart', async () => {
    const dir = tempDir('franz-delay-unit-');
    try {
      const r = rig(dir);
      r.s.start();
      r.produce('a-first', 500, 'a');
      r.produce('b-first', 500, 'b');
      r.produce('a-long', 3_600_000, 'a');
      r.cancel('a');
      r.produce('a-after', 500, 'a');
      await r.restart();
      r.advance(600);
      r.advance(2 * 3_600_000);
      assert.deepEqual(r.delivered(), ['b-first', 'a-after'], "only the cancel's earlier records of its key go");
      await r.s.stop();
    } finally {
      removeDir(dir);
    }
  });

  test('cluster: only the leader delivers; a new leadership finds what waits in the log, delivered ones left out', async () => {
    const dir = tempDir('franz-delay-unit-');
    try {
      const r = rig(dir, true);
      r.s.start();
      for (const v of ['a', 'b', 'c']) r.produce(v, 500);
      r.advance(600);
      assert.deepEqual(r.delivered(), ['a', 'b', 'c']);
      r.produce('d', 500);
      r.produce('e', 500);
      r.s.release('t', 0);
      r.advance(600);
      assert.deepEqual(r.delivered(), ['a', 'b', 'c'], 'not the leader: nothing delivered');
      assert.equal(r.log.hasDelayBatches, true);
      r.s.lead('t', 0);
      r.advance(10);
      assert.deepEqual(r.delivered(), ['a', 'b', 'c', 'd', 'e'], 'the new leadership delivers what waited, once');
      r.advance(120_000);
      assert.deepEqual(r.delivered(), ['a', 'b', 'c', 'd', 'e']);
      await r.s.stop();
    } finally {
      removeDir(dir);
    }
  });

  test('memory holds only what is due within the next minutes, however many are pending', async () => {
    const dir = tempDir('franz-delay-unit-');
    try {
      const r = rig(dir);
      r.s.start();
      const N = 20_000;
      // Due evenly over ten days: about 3 a minute.
      for (let i = 0; i < N; i++) r.produce(`r${i}`, 1000 + Math.floor((i * 10 * 86_400_000) / N));
      r.tick();
      assert.ok(r.s.stats().loaded <= 10, `${r.s.stats().loaded} records in memory`);
      await r.s.stop();
      assert.ok(existsSync(join(dir, 'delay-index', 'checkpoint')));
    } finally {
      removeDir(dir);
    }
  });
});
