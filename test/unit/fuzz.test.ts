/**
 * The in-process protocol fuzz (tools/fuzz-inproc.ts) for a bounded time: structure-aware
 * mutations of the golden frames and of frames generated over every API description, into the
 * request decoder (as the broker reads), the response decoder (as franz's client reads) and the
 * record-batch decoder. Nothing may throw, read past the end, or decode into more values than the
 * bytes carry. The seed is random unless FRANZ_FUZZ_SEED is set; a finding prints it, and the
 * offending frame is saved under /tmp (`npm run fuzz -- --replay FILE` replays it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomSeed } from '../../tools/args.js';
import { runInProcess } from '../../tools/fuzz-inproc.js';
import { saveFindings } from '../../tools/fuzz-report.js';
import { Rng } from '../../tools/rng.js';

const SECONDS = 20;

test(`in-process decoder fuzz, ${SECONDS} s: no exception, no read past the end, no blow-up`, (t) => {
  const seed = process.env.FRANZ_FUZZ_SEED === undefined ? randomSeed() : Number(process.env.FRANZ_FUZZ_SEED) >>> 0;
  const r = runInProcess({ seed, rng: new Rng(seed), seconds: SECONDS });
  t.diagnostic(`seed ${seed}: ${r.frames} frames, ${Math.round(r.framesPerSecond)}/s; ${JSON.stringify(r.outcomes)}`);
  for (const n of r.notes) t.diagnostic(`note: ${n.slice(0, 300)}`);
  assert.equal(r.findings.length, 0, `seed ${seed}:\n${saveFindings(r.findings, seed, null)}`);
  // The run reached every kind of outcome: mutants that decode, and mutants that are refused.
  for (const k of ['request clean', 'request bad', 'response clean', 'response bad', 'records ok', 'records refused']) {
    assert.ok((r.outcomes[k] ?? 0) > 0, `no "${k}" outcome`);
  }
  assert.ok(r.frames > 10_000, `only ${r.frames} frames in ${SECONDS} s`);
});
