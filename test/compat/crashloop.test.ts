/**
 * A short crash loop (tools/crashloop.ts): five cycles of kill -9 during acks=all produce from
 * three kafkajs producers (records of 100 B to 20 KiB), each followed by a restart on the same data
 * directory and a full read: every acknowledged record is there exactly once, at its offset, intact;
 * unacknowledged ones at most once. `npm run crashloop -- --cycles 200` is the long run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomSeed } from '../../tools/args.js';
import { runCrashloop } from '../../tools/crashloop.js';

test('crash loop, 5 cycles: every acknowledged record survives kill -9 exactly once', async (t) => {
  const seed = process.env.FRANZ_CRASHLOOP_SEED === undefined ? randomSeed() : Number(process.env.FRANZ_CRASHLOOP_SEED) >>> 0;
  const r = await runCrashloop({
    cycles: 5,
    seed,
    partitions: 3,
    producers: 3,
    senders: 3,
    killMinMs: 100,
    killMaxMs: 1200,
    log: (line) => t.diagnostic(line),
  });
  assert.equal(r.failure, null, `seed ${seed}: ${r.failure} (data dir kept: ${r.dataDir})`);
  assert.equal(r.cycles.length, 5);
  assert.ok(r.totalAcked > 0, 'nothing was acknowledged');
  assert.ok(
    r.cycles.slice(1).every((c) => c.recovered),
    'every restart after a kill ran recovery',
  );
});
