/**
 * The live-broker protocol fuzz (tools/fuzz-live.ts) for a bounded time: mutated frames on four
 * connections to one franz process, each checked against what the broker's own codec says (refused,
 * answered with a response that decodes, or no answer for acks=0); every 2 s a probe on fresh
 * connections (ApiVersions, then a Produce read back by a Fetch) and a look at the broker's log.
 * At the end the broker must be running, its log free of handler failures and uncaught errors, its
 * RSS bounded and its descriptors back where they started. The seed is random unless
 * FRANZ_FUZZ_SEED is set; findings are saved under /tmp with the frame that caused them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomSeed } from '../../tools/args.js';
import { runLive } from '../../tools/fuzz-live.js';
import { saveFindings } from '../../tools/fuzz-report.js';
import { Rng } from '../../tools/rng.js';

const SECONDS = 40;

test(`live-broker fuzz, ${SECONDS} s: the broker survives, answers well-formed requests correctly, and logs no failure`, async (t) => {
  const seed = process.env.FRANZ_FUZZ_SEED === undefined ? randomSeed() : Number(process.env.FRANZ_FUZZ_SEED) >>> 0;
  const r = await runLive({ rng: new Rng(seed), seconds: SECONDS, connections: 4, log: (line) => t.diagnostic(line) });
  t.diagnostic(
    `seed ${seed}: ${r.frames} frames, ${Math.round(r.framesPerSecond)}/s, ${r.probes} probes (p99 ${r.probeMs.p99.toFixed(1)} ms), RSS peak ${Math.round(r.rssKiB.peak / 1024)} MiB, fds ${r.fds.start} -> ${r.fds.end}`,
  );
  t.diagnostic(`outcomes: ${JSON.stringify(r.outcomes)}`);
  assert.equal(r.findings.length, 0, `seed ${seed}:\n${saveFindings(r.findings, seed, r.brokerLog)}`);
  assert.ok(r.frames > 1000, `only ${r.frames} frames in ${SECONDS} s`);
  assert.ok(r.probes >= 5, `only ${r.probes} probes`);
  assert.ok((r.outcomes.answered ?? 0) > 0, 'no request was answered');
});
