/**
 * `npm run fuzz -- [--minutes N | --seconds N] [--seed S] [--target both|inproc|live]
 *                  [--connections N] [--keep-going] [--replay FILE]`
 *
 * Structure-aware fuzzing of franz's protocol handling (issue 26): mutated golden and generated
 * frames against the decoders in process (a third of the time by default) and against a live
 * broker process (the rest). Deterministic from --seed (printed when not given): the in-process
 * sequence is the same on every run; a live worker's frames are too, whatever the timing.
 *
 * Prints frames per second and a summary. On a finding it saves the offending frame as hex to
 * /tmp/franz-fuzz-<seed>-<n>-<kind>.hex, prints it, and exits 1. `--replay FILE` sends such a frame
 * to the decoder and to a fresh broker and prints what each did.
 */
import { readFileSync } from 'node:fs';
import { removeDir } from '../test/helpers/broker.js';
import { RawConnection } from '../test/helpers/raw.js';
import { Args, randomSeed, runAsProgram } from './args.js';
import { startToolBroker } from './brokers.js';
import { type Finding, decodeRequestFrame, runInProcess } from './fuzz-inproc.js';
import { runLive } from './fuzz-live.js';
import { saveFindings } from './fuzz-report.js';
import { mib } from './proc-stats.js';
import { Rng } from './rng.js';

const USAGE =
  'usage: npm run fuzz -- [--minutes N | --seconds N] [--seed S] [--target both|inproc|live] [--connections N] [--keep-going] [--replay FILE]';

async function replay(file: string): Promise<number> {
  const frame = Buffer.from(readFileSync(file, 'utf8').trim().split('\n')[0]!, 'hex');
  console.log(`replaying ${frame.length} bytes from ${file}`);
  try {
    const o = decodeRequestFrame(frame);
    console.log(`in process: ${o.kind}${o.kind === 'bad-header' ? '' : ` (api ${o.apiKey} v${o.version})`}`);
  } catch (e) {
    console.log(`in process: ${(e as Error).message}`);
  }
  const b = await startToolBroker();
  try {
    const c = await RawConnection.open(b.port);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(frame.length, 0);
    c.sendBytes(Buffer.concat([prefix, frame]));
    const got = await Promise.race([c.nextFrame(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000))]);
    console.log(
      `broker: ${got === null ? 'closed the connection' : got === 'timeout' ? 'no answer in 3 s' : `answered ${got.length} bytes: ${got.toString('hex').slice(0, 400)}`}`,
    );
    c.close();
    await new Promise((r) => setTimeout(r, 200));
    const lines = b
      .stderr()
      .split('\n')
      .filter((l) => /warn|error|fail/i.test(l));
    console.log(
      `broker alive: ${b.process.exitCode === null && b.process.signalCode === null}; log lines: ${lines.length > 0 ? `\n  ${lines.join('\n  ')}` : 'none'}`,
    );
  } finally {
    if (b.process.exitCode === null) await b.stop();
    removeDir(b.dataDir);
  }
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = new Args(argv, ['keep-going']);
  const unknown = args.unknown(['minutes', 'seconds', 'seed', 'target', 'connections', 'keep-going', 'replay']);
  if (unknown.length > 0) {
    console.error(`unknown option --${unknown[0]}\n${USAGE}`);
    return 2;
  }
  const replayFile = args.string('replay');
  if (replayFile !== undefined) return replay(replayFile);
  const seconds = args.has('seconds') ? args.number('seconds', 60) : args.number('minutes', 1) * 60;
  const seed = args.number('seed', randomSeed()) >>> 0;
  const target = args.string('target', 'both');
  if (!['both', 'inproc', 'live'].includes(target) || seconds <= 0) {
    console.error(USAGE);
    return 2;
  }
  const stopOnFinding = !args.flag('keep-going');
  const rng = new Rng(seed);
  const inprocSeconds = target === 'both' ? seconds / 3 : target === 'inproc' ? seconds : 0;
  const liveSeconds = seconds - inprocSeconds;
  console.log(`franz fuzz: seed ${seed}, ${Math.round(inprocSeconds)} s in process, ${Math.round(liveSeconds)} s against a live broker`);
  const log = (line: string): void => console.log(`  ${line}`);
  const findings: Finding[] = [];
  let brokerLog: string | null = null;

  if (inprocSeconds > 0) {
    const r = runInProcess({ seed, rng: rng.fork(), seconds: inprocSeconds, stopOnFinding, log });
    console.log(
      `in process: ${r.frames} frames in ${r.seconds.toFixed(0)} s, ${Math.round(r.framesPerSecond)} frames/s; seeds: ${r.seeds.golden} golden, ${r.seeds.generated} generated, ${r.seeds.evolved} evolved`,
    );
    console.log(
      `  outcomes: ${Object.entries(r.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    for (const n of r.notes) console.log(`  note: ${n.slice(0, 400)}`);
    console.log(`  findings: ${r.findings.length}`);
    findings.push(...r.findings);
  }
  if (liveSeconds > 0 && (findings.length === 0 || !stopOnFinding)) {
    const r = await runLive({ rng: rng.fork(), seconds: liveSeconds, connections: args.number('connections', 4), stopOnFinding, log });
    console.log(
      `live broker: ${r.frames} frames in ${r.seconds.toFixed(0)} s, ${Math.round(r.framesPerSecond)} frames/s over ${r.connects} connections`,
    );
    console.log(
      `  outcomes: ${Object.entries(r.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    console.log(
      `  probes: ${r.probes} (ApiVersions + Produce + Fetch on fresh connections), p50 ${r.probeMs.p50.toFixed(1)} ms, p99 ${r.probeMs.p99.toFixed(1)} ms`,
    );
    console.log(
      `  broker RSS: ${mib(r.rssKiB.baseline)} MiB after warm-up, peak ${mib(r.rssKiB.peak)} MiB, end ${mib(r.rssKiB.end)} MiB; descriptors ${r.fds.start} at start, ${r.fds.end} at end`,
    );
    console.log(`  findings: ${r.findings.length}`);
    findings.push(...r.findings);
    brokerLog = r.brokerLog;
  }
  if (findings.length > 0) {
    console.log(`\n${saveFindings(findings, seed, brokerLog)}`);
    console.log(`\n${findings.length} finding(s); repeat with --seed ${seed}`);
    return 1;
  }
  console.log(`no findings (seed ${seed})`);
  return 0;
}

runAsProgram('fuzz.js', main);
