/**
 * The live-broker fuzz: mutated frames sent to a franz process on several connections.
 *
 * Each frame is first decoded in process with the broker's own codec, which says what the broker
 * must do with it: close the connection (a malformed frame, an API or version it does not serve),
 * send no answer (Produce with acks=0), or answer with a response that decodes cleanly and carries
 * the request's correlation id. A worker sends one frame at a time and checks that.
 *
 * Every couple of seconds a probe opens fresh connections and checks that the broker is alive and
 * well: a good ApiVersions, and a Produce (acks=all) whose record a Fetch then reads back. It also
 * reads the broker's stderr for "handler failed" or an uncaught error, and samples its RSS and
 * open descriptors. At the end the broker must still run, its log hold no such line, its RSS not
 * have ballooned and its descriptors be back near where they started.
 */
import { performance } from 'node:perf_hooks';
import { Client } from '../src/client/client.js';
import { codecForKey } from '../src/protocol/codecs.js';
import { API_VERSIONS_KEY, readResponseHeader, responseHeaderFlexible } from '../src/protocol/header.js';
import { Reader } from '../src/protocol/primitives.js';
import { type RunningBroker, removeDir } from '../test/helpers/broker.js';
import { RawConnection } from '../test/helpers/raw.js';
import { startToolBroker } from './brokers.js';
import { type Seed, generatedSeeds, goldenSeeds, makeSeed } from './fuzz-corpus.js';
import { type Finding, type RequestOutcome, decodeRequestFrame } from './fuzz-inproc.js';
import { mutate } from './fuzz-mutate.js';
import { median, openFds, percentile, rssKiB } from './proc-stats.js';
import type { Rng } from './rng.js';

export interface LiveOptions {
  readonly rng: Rng;
  readonly seconds: number;
  /** Connections sending frames at once (default 4). */
  readonly connections?: number;
  /** How often the probe runs (default 2000 ms). */
  readonly probeEveryMs?: number;
  /** Stop at the first finding (default true). */
  readonly stopOnFinding?: boolean;
  readonly log?: (line: string) => void;
}

export interface LiveResult {
  readonly frames: number;
  readonly seconds: number;
  readonly framesPerSecond: number;
  /** Frames by what happened: closed as expected, answered, no answer (acks=0), timed out, skipped... */
  readonly outcomes: Record<string, number>;
  readonly connects: number;
  readonly probes: number;
  readonly probeMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly rssKiB: { readonly baseline: number; readonly peak: number; readonly end: number };
  readonly fds: { readonly start: number; readonly end: number };
  readonly findings: Finding[];
  /** The broker's stderr, kept when there was a finding. */
  readonly brokerLog: string | null;
}

/** Worst cases the run accepts; the RSS ceiling is max(2x, +256 MiB) over the RSS after warm-up. */
export const LIVE_LIMITS = {
  rssFactor: 2,
  rssSlackKiB: 256 * 1024,
  /** Descriptors at the end over those at the start, once the fuzz topics are deleted. */
  fdSlack: 32,
  /** A probe slower than this means the broker is wedged. */
  probeTimeoutMs: 15_000,
  /** How long a worker waits for an answer (a long poll or a rebalance is not a finding). */
  answerTimeoutMs: 2_000,
  /** How long a malformed frame may stay unrefused. */
  closeTimeoutMs: 10_000,
} as const;

const PROBE_TOPIC = 'franz-fuzz-probe';
const BAD_LOG = /handler failed|uncaught|unhandled|FATAL|panicked|RangeError|TypeError/i;

type Expect = 'close' | 'answer' | 'none' | 'any';

/** A worker's connection, and its local port (which names it in the broker's log). */
interface ConnState {
  conn: RawConnection | null;
  localPort: number;
}

interface Sent {
  readonly frame: Buffer;
  readonly how: string;
  readonly origin: string;
  readonly outcome: RequestOutcome;
  readonly at: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The next response frame, 'closed', or 'timeout'. */
async function nextEvent(c: RawConnection, ms: number): Promise<Buffer | 'closed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  const got = await Promise.race([c.nextFrame().then((f) => f ?? ('closed' as const)), t]);
  clearTimeout(timer);
  return got;
}

/** Checks a response to a request the codec decoded cleanly; returns what is wrong, or null. */
function checkResponse(frame: Buffer, request: Buffer, apiKey: number, version: number): string | null {
  const codec = codecForKey(apiKey)!;
  // KIP-511: an ApiVersions version the broker does not serve is answered with a v0 body.
  const v = apiKey === API_VERSIONS_KEY && !codec.supports(version) ? 0 : version;
  const served = codec.supports(v) ? codec.at(v) : null;
  if (served === null) return `a response to api ${apiKey} v${version}, which franz does not describe`;
  const r = new Reader(frame);
  const correlationId = readResponseHeader(r, responseHeaderFlexible(apiKey, served.flexible));
  if (correlationId !== request.readInt32BE(4)) return `correlation id ${correlationId}, the request had ${request.readInt32BE(4)}`;
  served.decodeResponse(r);
  if (r.bad) return 'the response does not decode';
  if (r.pos !== frame.length) return `the response has ${frame.length - r.pos} bytes after its body`;
  return null;
}

/** Requests a live run does not send: they would make many partitions (legitimately, and slowly). */
function tooBig(o: RequestOutcome): boolean {
  if (o.kind !== 'clean') return false;
  const topics = (o.body.topics ?? []) as Array<Record<string, unknown>>;
  if (o.apiKey === 19) {
    return topics.some((t) => Number(t.numPartitions) > 16 || ((t.assignments as unknown[] | undefined)?.length ?? 0) > 16);
  }
  if (o.apiKey === 37) return topics.some((t) => Number(t.count) > 16);
  return false;
}

/** The ranges the broker serves, from its ApiVersions answer. */
async function servedRanges(port: number): Promise<Map<number, readonly [number, number]>> {
  const c = await RawConnection.open(port);
  try {
    const res = await withTimeout(
      c.request(API_VERSIONS_KEY, 3, { clientSoftwareName: 'franz-fuzz', clientSoftwareVersion: '1' }),
      10_000,
      'ApiVersions',
    );
    return new Map(
      (res.apiKeys as Array<{ apiKey: number; minVersion: number; maxVersion: number }>).map((k) => [
        k.apiKey,
        [k.minVersion, k.maxVersion] as const,
      ]),
    );
  } finally {
    c.close();
  }
}

export function runLive(opts: LiveOptions): Promise<LiveResult> {
  return new LiveRun(opts).run();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One live run: a broker (a new one after a crash, with --keep-going), workers, probes, checks. */
class LiveRun {
  private readonly log: (line: string) => void;
  private readonly rng: Rng;
  private readonly connections: number;
  private readonly stopOnFinding: boolean;
  private broker!: RunningBroker;
  private readonly brokers: RunningBroker[] = [];
  private ranges = new Map<number, readonly [number, number]>();
  private seeds: Seed[] = [];
  private readonly byApi = new Map<number, Seed[]>();
  /** Mutants that decode cleanly, kept as seeds: one pool per worker, so a worker's frames depend only on its seed. */
  private readonly evolved: Seed[][];
  private readonly recent: Sent[][];
  private readonly findings: Finding[] = [];
  /** First of each kind, API and message: with --keep-going the same one comes back again and again. */
  private readonly seen = new Map<string, number>();
  private readonly outcomes: Record<string, number> = {};
  private stopping = false;
  /** Workers wait while paused (a replay is under way); `busy` counts those mid-frame. */
  private paused = false;
  private busy = 0;
  private frames = 0;
  private connects = 0;
  private logSeen = 0;
  /** Log lines already reported with the frame that caused them. */
  private readonly attributed = new Set<string>();
  private probeNo = 0;
  private readonly probeMs: number[] = [];
  /** (ms since the current broker started, RSS KiB) */
  private rssSamples: Array<[number, number]> = [];
  private brokerStarted = 0;
  private startFds = 0;
  /** The current broker's exit has been reported. */
  private brokerCrashReported = false;

  constructor(private readonly opts: LiveOptions) {
    this.log = opts.log ?? (() => undefined);
    this.rng = opts.rng;
    this.connections = opts.connections ?? 4;
    this.stopOnFinding = opts.stopOnFinding ?? true;
    this.recent = Array.from({ length: this.connections }, () => []);
    this.evolved = Array.from({ length: this.connections }, () => []);
  }

  private count(k: string): void {
    this.outcomes[k] = (this.outcomes[k] ?? 0) + 1;
  }

  private report(f: Finding): void {
    const key = `${f.kind} ${f.apiKey} ${f.message.split('\n')[0]!.replace(/\d+/g, 'N')}`;
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    if (this.seen.get(key)! > 1) return;
    this.findings.push(f);
    this.log(`FINDING ${f.kind}: ${f.message.split('\n')[0]}`);
    if (this.stopOnFinding) this.stopping = true;
  }

  private findingOf(kind: string, message: string, s: Sent | undefined): Finding {
    const api = s === undefined || s.outcome.kind === 'bad-header' ? null : s.outcome;
    return {
      kind,
      message,
      frame: s?.frame ?? Buffer.alloc(0),
      target: 'request',
      apiKey: api?.apiKey ?? -1,
      version: api?.version ?? -1,
      origin: s?.origin ?? '',
      how: s?.how ?? '',
    };
  }

  private alive(): boolean {
    return this.broker.process.exitCode === null && this.broker.process.signalCode === null;
  }

  private async startBroker(): Promise<void> {
    this.broker = await startToolBroker({ sets: ['group.initial.rebalance.delay.ms=0'] });
    this.brokers.push(this.broker);
    const setup = new Client({ brokers: [this.broker.address], clientId: 'franz-fuzz' });
    try {
      await setup.createTopics([{ name: PROBE_TOPIC, numPartitions: 1, replicationFactor: 1 }]);
      // The broker makes __transaction_state (50 partitions, a descriptor each) at the first
      // FindCoordinator for a transactional id; made now, before the descriptor baseline, it is
      // not counted as a leak when a fuzzed frame asks for one.
      await setup.transactions.describe('franz-fuzz-warm-up').catch(() => undefined);
    } finally {
      await setup.close();
    }
    this.logSeen = 0;
    this.rssSamples = [];
    this.brokerStarted = performance.now();
    this.startFds = openFds(this.broker.process.pid!) ?? 0;
  }

  private async pause(): Promise<void> {
    this.paused = true;
    while (this.busy > 0) await sleep(10);
  }

  async run(): Promise<LiveResult> {
    await this.startBroker();
    try {
      return await this.fuzz();
    } finally {
      for (const b of this.brokers) {
        if (b.process.exitCode === null && b.process.signalCode === null) await b.stop();
        if (this.findings.length === 0) removeDir(b.dataDir);
        else this.log(`broker data dir kept: ${b.dataDir}`);
      }
    }
  }

  private async fuzz(): Promise<LiveResult> {
    const { rng } = this;
    this.ranges = await servedRanges(this.broker.port);
    // Seeds: the golden frames, and frames over every version the broker serves, plus one version
    // either side of each range (they must be refused).
    const wide = new Map([...this.ranges].map(([k, [lo, hi]]) => [k, [lo - 1, hi + 1] as const]));
    this.seeds = [...goldenSeeds(), ...generatedSeeds(rng, wide, 4, ['request'], { live: true }).seeds];
    for (const s of this.seeds) this.byApi.set(s.apiKey, [...(this.byApi.get(s.apiKey) ?? []), s]);
    this.log(
      `live: broker pid ${this.broker.process.pid} on ${this.broker.address}; ${this.seeds.length} seeds over ${this.ranges.size} served APIs; ${this.connections} connections`,
    );

    const started = performance.now();
    const deadline = started + this.opts.seconds * 1000;
    const workers = Array.from({ length: this.connections }, (_, w) => this.worker(w, rng.fork()));
    const probeEvery = this.opts.probeEveryMs ?? 2000;
    let nextLog = started + 10_000;
    let lastCleanup = started;
    while (!this.stopping && performance.now() < deadline) {
      await sleep(probeEvery);
      if (!this.alive()) {
        await this.crashed();
        if (this.stopping) break;
        continue;
      }
      try {
        await this.probe();
      } catch (e) {
        if (this.alive()) {
          this.report(this.findingOf('probe-failed', `probe: ${(e as Error).message}`, newest(this.recent)));
          break;
        }
        continue; // crashed meanwhile: handled on the next round
      }
      await this.checkLog();
      const rss = rssKiB(this.broker.process.pid!);
      if (rss !== null) this.rssSamples.push([performance.now() - this.brokerStarted, rss]);
      if (performance.now() - lastCleanup > 15_000) {
        lastCleanup = performance.now();
        await this.cleanup().catch(() => undefined);
      }
      const now = performance.now();
      if (now >= nextLog) {
        nextLog = now + 10_000;
        this.log(
          `live: ${this.frames} frames, ${Math.round(this.frames / ((now - started) / 1000))}/s, ${this.connects} connections made, RSS ${Math.round((rss ?? 0) / 1024)} MiB, probe p50 ${median(this.probeMs).toFixed(1)} ms`,
        );
      }
    }
    this.stopping = true;
    this.paused = false;
    await Promise.all(workers);
    if (!this.alive() && !this.brokerCrashReported) await this.crashed();
    const seconds = (performance.now() - started) / 1000;

    // The end: alive, log clean, RSS bounded, descriptors back where they started.
    let endFds = 0;
    let endRss = 0;
    if ((this.findings.length === 0 || !this.stopOnFinding) && this.alive()) {
      await this.cleanup().catch(() => undefined);
      await sleep(1500);
      try {
        await this.probe();
      } catch (e) {
        this.report(this.findingOf('probe-failed', `final probe: ${(e as Error).message}`, newest(this.recent)));
      }
      await this.checkLog();
      endFds = openFds(this.broker.process.pid!) ?? 0;
      endRss = rssKiB(this.broker.process.pid!) ?? 0;
      if (endFds > this.startFds + LIVE_LIMITS.fdSlack) {
        this.report(
          this.findingOf(
            'fd-leak',
            `${endFds} descriptors open at the end, ${this.startFds} at the start (fuzz topics deleted, connections closed)`,
            newest(this.recent),
          ),
        );
      }
    }
    // Baseline: the first sample after a tenth of the broker's run (at least 5 s in).
    const lifeMs = performance.now() - this.brokerStarted;
    const warm = this.rssSamples.find(([t]) => t >= Math.max(5000, lifeMs / 10))?.[1] ?? this.rssSamples[0]?.[1] ?? endRss;
    const peak = Math.max(endRss, ...this.rssSamples.map(([, r]) => r));
    const ceiling = Math.max(warm * LIVE_LIMITS.rssFactor, warm + LIVE_LIMITS.rssSlackKiB);
    if (peak > ceiling) {
      this.report(
        this.findingOf(
          'rss',
          `broker RSS peaked at ${Math.round(peak / 1024)} MiB, over max(2x, +256 MiB) of ${Math.round(warm / 1024)} MiB after warm-up`,
          newest(this.recent),
        ),
      );
    }
    return {
      frames: this.frames,
      seconds,
      framesPerSecond: this.frames / seconds,
      outcomes: this.outcomes,
      connects: this.connects,
      probes: this.probeMs.length,
      probeMs: { p50: median(this.probeMs), p99: percentile(this.probeMs, 99), max: Math.max(0, ...this.probeMs) },
      rssKiB: { baseline: warm, peak, end: endRss },
      fds: { start: this.startFds, end: endFds },
      findings: this.findings,
      brokerLog:
        this.findings.length > 0
          ? this.brokers.map((b) => `--- broker on ${b.address}, data dir ${b.dataDir}\n${b.stderr()}`).join('\n')
          : null,
    };
  }

  /** The broker died: find the frame with a replay, report it, and with --keep-going start another. */
  private async crashed(): Promise<void> {
    await this.pause();
    const b = this.broker;
    const tail = b
      .stderr()
      .split('\n')
      .filter((l) => !l.includes('"closing connection"'))
      .slice(-30)
      .join('\n');
    const culprit = await replayToFresh(
      this.recent,
      this.log,
      'exits',
      (x) => x.process.exitCode !== null || x.process.signalCode !== null,
    );
    const why =
      culprit === undefined
        ? 'no frame of the last ones sent crashed a fresh broker when replayed; the last frame sent'
        : 'this frame, replayed to a fresh broker after the ones sent before it, crashed that broker too';
    this.report(
      this.findingOf(
        'crash',
        `the broker exited (${b.process.exitCode ?? b.process.signalCode}); ${why}. Its stderr ends:\n${tail}`,
        culprit ?? newest(this.recent),
      ),
    );
    this.brokerCrashReported = true;
    if (!this.stopping) {
      for (const r of this.recent) r.length = 0;
      await this.startBroker();
      this.brokerCrashReported = false;
      this.log(`live: a new broker, pid ${this.broker.process.pid} on ${this.broker.address}`);
    }
    this.paused = false;
  }

  private async worker(w: number, wrng: Rng): Promise<void> {
    const state: ConnState = { conn: null, localPort: 0 };
    while (!this.stopping) {
      if (this.paused) {
        await sleep(20);
        continue;
      }
      this.busy++;
      try {
        await this.step(w, wrng, state);
      } finally {
        this.busy--;
      }
    }
    state.conn?.close();
  }

  private served(apiKey: number, version: number): boolean {
    const r = this.ranges.get(apiKey);
    // Produce v0-2 are advertised (as Kafka 4 does) and refused.
    const lo = apiKey === 0 ? 3 : (r?.[0] ?? 1);
    return r !== undefined && version >= lo && version <= r[1];
  }

  private expectFor(o: RequestOutcome, sizeLie: boolean): Expect {
    if (sizeLie) return 'any';
    if (o.kind === 'bad-header') return 'close';
    // The broker routes on the header before it decodes the body: ApiVersions at a version it
    // does not serve is answered (KIP-511); any other unserved API or version is refused.
    if (o.apiKey === API_VERSIONS_KEY && !this.served(o.apiKey, o.version)) return 'answer';
    if (!this.served(o.apiKey, o.version) || o.kind !== 'clean') return 'close';
    if (o.apiKey === 0 && o.body.acks === 0) return 'none';
    return 'answer';
  }

  /** One frame on worker `w`'s connection (a new one when the broker closed the last). */
  private async step(w: number, wrng: Rng, state: ConnState): Promise<void> {
    if (state.conn === null || state.conn.closed) {
      state.conn?.close();
      try {
        state.conn = await RawConnection.open(this.broker.port);
        // Read now: a closed socket no longer knows its port.
        state.localPort = state.conn.socket.localPort ?? 0;
        this.connects++;
      } catch {
        state.conn = null;
        await sleep(100);
        return;
      }
    }
    const conn = state.conn;
    // A connection we close is never used again (its 'close' event comes later).
    const drop = (): void => {
      conn.close();
      state.conn = null;
    };
    const evolved = this.evolved[w]!;
    const pool = evolved.length > 0 && wrng.chance(0.3) ? evolved : this.seeds;
    const seed = wrng.pick(pool);
    const peers = this.byApi.get(seed.apiKey);
    const m = wrng.chance(0.05)
      ? { frame: seed.frame, how: 'unmutated' }
      : mutate(wrng, seed, peers && wrng.pick(peers), this.ranges.get(seed.apiKey));
    let outcome: RequestOutcome;
    try {
      outcome = decodeRequestFrame(m.frame);
    } catch (e) {
      const kind = (e as { kind?: string }).kind ?? 'decoder';
      this.report(
        this.findingOf(kind, String((e as Error).message), { ...m, origin: seed.origin, outcome: { kind: 'bad-header' }, at: 0 }),
      );
      return;
    }
    if (tooBig(outcome)) {
      this.count('skipped (many partitions)');
      return;
    }
    if (outcome.kind === 'clean' && this.served(outcome.apiKey, outcome.version) && !m.frame.equals(seed.frame)) {
      const s = makeSeed(m.frame, 'request', outcome.apiKey, outcome.version, 'evolved');
      if (s !== null) {
        if (evolved.length < 500) evolved.push(s);
        else evolved[wrng.int(500)] = s;
      }
    }
    const sizeLie = wrng.chance(0.01);
    const expect = this.expectFor(outcome, sizeLie);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(sizeLie ? m.frame.length + wrng.pick([-3, -1, 1, 7]) : m.frame.length, 0);
    const sent: Sent = { frame: m.frame, how: m.how, origin: seed.origin, outcome, at: performance.now() };
    const logAt = this.broker.stderr().length;
    const ring = this.recent[w]!;
    ring.push(sent);
    if (ring.length > 64) ring.shift();
    conn.sendBytes(Buffer.concat([prefix, m.frame]));
    this.frames++;
    if (expect === 'none') {
      this.count('no answer (acks=0)');
      return;
    }
    const waitMs = expect === 'close' ? LIVE_LIMITS.closeTimeoutMs : expect === 'any' ? 50 : LIVE_LIMITS.answerTimeoutMs;
    const got = await nextEvent(conn, waitMs);
    if (expect === 'any') {
      this.count('size prefix lie');
      drop();
      return;
    }
    if (got === 'closed') {
      if (expect === 'close') {
        this.count(`closed (${outcome.kind === 'clean' ? 'unserved' : outcome.kind})`);
        return;
      }
      // A request the codec decodes was refused: the broker's log says why. "internal error" is a
      // handler that threw: a finding, and this frame is the one (the log names our port).
      const reason = await this.closeReason(state.localPort, logAt);
      this.count(
        `closed after a clean request (api ${outcome.kind === 'bad-header' ? '?' : outcome.apiKey}: ${reason ?? 'no reason logged'})`,
      );
      if (reason === 'internal error') {
        const failed = this.broker
          .stderr()
          .split('\n')
          .reverse()
          .find((l) => l.includes('"handler failed"'));
        if (failed !== undefined) this.attributed.add(failed);
        this.report(this.findingOf('handler-failed', `the broker logged: ${(failed ?? 'handler failed').slice(0, 3000)}`, sent));
      }
      return;
    }
    if (got === 'timeout') {
      if (expect === 'close' && this.alive() && !this.paused) {
        this.report(this.findingOf('not-refused', `a malformed frame (${outcome.kind}) left the connection open for ${waitMs} ms`, sent));
      } else this.count(`no answer in ${waitMs} ms (long poll or rebalance)`);
      drop();
      return;
    }
    if (expect === 'close') {
      this.report(this.findingOf('answered-malformed', `the broker answered a frame its codec refuses (${outcome.kind})`, sent));
      drop();
      return;
    }
    const api = outcome.kind === 'bad-header' ? null : outcome;
    const wrong = api === null ? 'no API' : checkResponse(got, m.frame, api.apiKey, api.version);
    if (wrong !== null) {
      this.report(this.findingOf('bad-response', wrong, sent));
      drop();
      return;
    }
    this.count('answered');
  }

  /** The reason the broker logged (after `logAt`) for closing this connection (it names the peer), if any. */
  private async closeReason(localPort: number, logAt: number): Promise<string | null> {
    const peer = `"peer":"127.0.0.1:${localPort}"`;
    for (let i = 0; i < 10; i++) {
      const text = this.broker.stderr();
      const at = text.indexOf(peer, logAt);
      if (at >= 0) {
        const m = /"reason":"([^"]*)"/.exec(text.slice(at, text.indexOf('\n', at)));
        if (m !== null) return m[1]!;
      }
      if (!this.alive()) return 'the broker exited';
      await sleep(20);
    }
    return null;
  }

  /** Reads the broker's stderr written since the last look; a bad line is a finding. */
  private async checkLog(): Promise<void> {
    const text = this.broker.stderr();
    const fresh = text.slice(this.logSeen);
    this.logSeen = text.length;
    const bad = fresh.split('\n').find((l) => BAD_LOG.test(l) && !this.attributed.has(l));
    if (bad === undefined) return;
    await this.pause();
    try {
      this.report(this.findingOf('broker-log', `the broker logged: ${bad.slice(0, 3000)}`, await this.pinpoint(bad)));
    } finally {
      this.paused = false;
    }
  }

  /**
   * Replays the frames sent lately, oldest first, to a fresh broker, to find the one after which
   * that broker logs such a line too; otherwise the newest frame of the API the line names.
   */
  private async pinpoint(line: string): Promise<Sent | undefined> {
    const found = await replayToFresh(this.recent, this.log, 'logs it too', (b, before) => BAD_LOG.test(b.stderr().slice(before)));
    if (found !== undefined)
      return { ...found, how: `${found.how} (replayed after the frames sent before it, a fresh broker logged the same)` };
    const key = /"apiKey":(-?\d+)/.exec(line)?.[1];
    const c = this.recent
      .flat()
      .filter((s) => s.outcome.kind === 'clean' && (key === undefined || s.outcome.apiKey === Number(key)))
      .sort((x, y) => y.at - x.at)[0];
    return c === undefined
      ? undefined
      : { ...c, how: `${c.how} (not reproduced by a replay: the newest frame of that API sent before the line)` };
  }

  /** ApiVersions, then a Produce (acks=all) read back by a Fetch, each on a fresh connection. */
  private async probe(): Promise<void> {
    this.probeNo++;
    const t0 = performance.now();
    const c = await RawConnection.open(this.broker.port);
    try {
      const av = await withTimeout(
        c.request(API_VERSIONS_KEY, 3, { clientSoftwareName: 'franz-fuzz-probe', clientSoftwareVersion: '1' }),
        LIVE_LIMITS.probeTimeoutMs,
        'ApiVersions',
      );
      if (av.errorCode !== 0) throw new Error(`ApiVersions answered error ${av.errorCode}`);
    } finally {
      c.close();
    }
    const client = new Client({
      brokers: [this.broker.address],
      clientId: 'franz-fuzz-probe',
      requestTimeoutMs: LIVE_LIMITS.probeTimeoutMs,
    });
    try {
      const value = `probe-${this.probeNo}`;
      const produced = await withTimeout(client.produce(PROBE_TOPIC, new Map([[0, [{ value }]]])), LIVE_LIMITS.probeTimeoutMs, 'Produce');
      const offset = produced.get(0)!;
      const [p] = await withTimeout(
        client.fetch(PROBE_TOPIC, new Map([[0, offset]]), { maxWaitMs: 0 }),
        LIVE_LIMITS.probeTimeoutMs,
        'Fetch',
      );
      const got = p?.records[0]?.value?.toString();
      if (got !== value) throw new Error(`fetched ${JSON.stringify(got)} at offset ${offset}, produced ${value}`);
    } finally {
      await client.close();
    }
    this.probeMs.push(performance.now() - t0);
  }

  /** Deletes the topics the fuzz made, so that a long run does not pile them up. */
  private async cleanup(): Promise<void> {
    const client = new Client({
      brokers: [this.broker.address],
      clientId: 'franz-fuzz-cleanup',
      requestTimeoutMs: LIVE_LIMITS.probeTimeoutMs,
    });
    try {
      const md = await client.metadata(null, { allowAutoCreate: false });
      const names = md.topics.map((t) => t.name).filter((n) => n !== PROBE_TOPIC && !n.startsWith('__'));
      if (names.length > 0) await client.deleteTopics(names).catch(() => undefined);
    } finally {
      await client.close();
    }
  }
}

/**
 * Replays the frames sent lately, oldest first, each on a fresh connection, to a fresh broker,
 * and returns the first after which `happened` holds (given the broker and the length of its
 * stderr before the frame). Frames before it are replayed too, so what needs earlier state (a
 * topic made, a record produced) is found as well.
 */
async function replayToFresh(
  recent: Sent[][],
  log: (line: string) => void,
  what: string,
  happened: (b: RunningBroker, stderrBefore: number) => boolean,
): Promise<Sent | undefined> {
  const frames = recent.flat().sort((a, b) => a.at - b.at);
  log(`replaying the last ${frames.length} frames to a fresh broker to find the one after which it ${what}`);
  const b = await startToolBroker({ sets: ['group.initial.rebalance.delay.ms=0'] });
  try {
    // An effect may show a little late (the exit event, a log line through the pipe): before each
    // frame, look again for the previous one's.
    let prev: { s: Sent; before: number } | undefined;
    for (const s of frames) {
      if (prev !== undefined && happened(b, prev.before)) return prev.s;
      const before = b.stderr().length;
      const c = await RawConnection.open(b.port).catch(() => null);
      if (c === null) break;
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(s.frame.length, 0);
      c.sendBytes(Buffer.concat([prefix, s.frame]));
      await nextEvent(c, 300);
      c.close();
      await sleep(20);
      if (happened(b, before)) return s;
      prev = { s, before };
    }
    await sleep(300);
    return prev !== undefined && happened(b, prev.before) ? prev.s : undefined;
  } finally {
    if (b.process.exitCode === null && b.process.signalCode === null) await b.stop();
    removeDir(b.dataDir);
  }
}

function newest(recent: Sent[][]): Sent | undefined {
  let best: Sent | undefined;
  for (const ring of recent) {
    const s = ring[ring.length - 1];
    if (s !== undefined && (best === undefined || s.at > best.at)) best = s;
  }
  return best;
}
