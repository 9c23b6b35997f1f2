/**
 * `npm run soak -- --minutes N [--seed S] [--out FILE] [--rate R] [--retention-ms R] [--sample-s S] [--rebalance-s S]
 *                  [--churn-s S] [--max-rss-growth F] [--fd-slack N]`
 *
 * A soak run (issue 26): one broker process under steady produce and consume for N minutes, with
 * a consumer group whose members join and leave every --rebalance-s seconds (1, 2, 3, 2, 1, ...
 * members: a rebalance each time) and a topic made, written, read and deleted every --churn-s
 * seconds. Every --sample-s seconds it samples the broker's RSS (VmRSS) and open descriptors and
 * the produce, fetch and end-to-end latencies of that interval, and appends a row to the CSV.
 * The soak topic keeps --retention-ms of data (default 2 min, segments rolled every quarter of it,
 * retention checked every 10 s): memory that follows the data (each segment's batch table, the
 * page cache) then stays bounded, and growth that remains is a leak. --retention-ms 0 keeps all.
 *
 * After the warm-up (20% of the run, at least a minute) it fails when:
 * - RSS grows by more than --max-rss-growth (default 0.10): the peak RSS of the run's last window
 *   against the peak of the warm-up's second half, windows of half the warm-up each (the heap's
 *   collections make RSS saw by tens of MiB; a leak lifts the peaks);
 * - open descriptors exceed those at the end of the warm-up by more than --fd-slack (default 64;
 *   consumers' connections and the churn topic's partitions come and go within that);
 * and at the end when an acknowledged record was never consumed, the broker logged a handler
 * failure or an uncaught error, or the broker is gone.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import { Client } from '../src/client/client.js';
import { removeDir } from '../test/helpers/broker.js';
import { Args, randomSeed, runAsProgram } from './args.js';
import { startToolBroker } from './brokers.js';
import { median, mib, openFds, percentile, rssKiB } from './proc-stats.js';
import { Rng } from './rng.js';

const { Kafka, logLevel } = kafkajs;

const USAGE =
  'usage: npm run soak -- --minutes N [--seed S] [--out FILE] [--rate R] [--retention-ms R] [--sample-s S] [--rebalance-s S] [--churn-s S] [--max-rss-growth F] [--fd-slack N]';
const TOPIC = 'soak';
const PARTITIONS = 6;
const GROUP = 'soak-group';
const BAD_LOG = /handler failed|uncaught|unhandled|FATAL|panicked/i;

export interface SoakOptions {
  readonly seconds: number;
  readonly seed: number;
  readonly out: string;
  /** Records per second produced. */
  readonly rate: number;
  /** retention.ms of the soak topic (0: unbounded): with it the data stays bounded, so memory that grows is a leak. */
  readonly retentionMs: number;
  readonly sampleSeconds: number;
  readonly rebalanceSeconds: number;
  readonly churnSeconds: number;
  readonly maxRssGrowth: number;
  readonly fdSlack: number;
  readonly log: (line: string) => void;
}

export interface Sample {
  readonly t: number;
  readonly rssKiB: number;
  readonly fds: number;
  readonly produceP50: number;
  readonly produceP99: number;
  readonly fetchMs: number;
  readonly e2eP50: number;
  readonly e2eP99: number;
  readonly produced: number;
  readonly consumed: number;
  readonly members: number;
  readonly rebalances: number;
  readonly churned: number;
}

export interface SoakResult {
  readonly samples: Sample[];
  readonly warmupSeconds: number;
  readonly rssBaselineKiB: number;
  readonly rssEndKiB: number;
  readonly rssGrowth: number;
  readonly fdBaseline: number;
  readonly fdMax: number;
  readonly produced: number;
  readonly consumedDistinct: number;
  readonly duplicates: number;
  readonly failures: string[];
}

const CSV_HEADER =
  't_s,rss_kib,fds,produce_p50_ms,produce_p99_ms,fetch_ms,e2e_p50_ms,e2e_p99_ms,produced,consumed,members,rebalances,churn_topics';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Acknowledged and consumed records by sequence number: 1 acknowledged, 2 consumed, 3 both. */
class Ledger {
  private marks = new Uint8Array(1 << 16);
  acked = 0;
  consumedDistinct = 0;
  duplicates = 0;

  private grow(seq: number): void {
    if (seq < this.marks.length) return;
    let n = this.marks.length;
    while (n <= seq) n *= 2;
    const next = new Uint8Array(n);
    next.set(this.marks);
    this.marks = next;
  }

  ack(seq: number): void {
    this.grow(seq);
    if ((this.marks[seq]! & 1) === 0) this.acked++;
    this.marks[seq] = this.marks[seq]! | 1;
  }

  consume(seq: number): void {
    this.grow(seq);
    if ((this.marks[seq]! & 2) !== 0) this.duplicates++;
    else this.consumedDistinct++;
    this.marks[seq] = this.marks[seq]! | 2;
  }

  /** Acknowledged records not consumed (yet). */
  missing(upTo: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < Math.min(upTo, this.marks.length); i++) if (this.marks[i] === 1) out.push(i);
    return out;
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const rng = new Rng(o.seed);
  // Retention checked every 10 s (Kafka's default is 5 min) so that a bounded topic stays bounded.
  const broker = await startToolBroker({ sets: ['log.retention.check.interval.ms=10000'] });
  const pid = broker.process.pid!;
  const kafka = new Kafka({ clientId: 'franz-soak', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const admin = new Client({ brokers: [broker.address], clientId: 'franz-soak-admin' });
  const ledger = new Ledger();
  const failures: string[] = [];
  const samples: Sample[] = [];
  const produceMs: number[] = [];
  const e2eMs: number[] = [];
  let seq = 0;
  let rebalances = 0;
  let churned = 0;
  let stopping = false;
  const members: kafkajs.Consumer[] = [];
  writeFileSync(o.out, `${CSV_HEADER}\n`);

  try {
    const bounded: Record<string, string> =
      o.retentionMs > 0
        ? { 'retention.ms': String(o.retentionMs), 'segment.ms': String(Math.max(1000, Math.floor(o.retentionMs / 4))) }
        : {};
    await admin.createTopics([{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, configs: bounded }]);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();

    const join = async (): Promise<void> => {
      const c = kafka.consumer({
        groupId: GROUP,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
        rebalanceTimeout: 20_000,
        maxWaitTimeInMs: 200,
      });
      c.on(c.events.GROUP_JOIN, () => {
        rebalances++;
      });
      await c.connect();
      await c.subscribe({ topic: TOPIC, fromBeginning: true });
      await c.run({
        eachMessage: async ({ message }) => {
          const v = message.value?.toString('latin1') ?? '';
          const bar = v.indexOf('|');
          const s = Number(v.slice(0, bar));
          const sentAt = Number(v.slice(bar + 1, v.indexOf('|', bar + 1)));
          ledger.consume(s);
          e2eMs.push(Date.now() - sentAt);
        },
      });
      members.push(c);
    };
    const leave = async (): Promise<void> => {
      const c = members.shift();
      if (c !== undefined) await c.disconnect();
    };
    await join();

    // Steady produce: every 50 ms a send of rate/20 records over the partitions.
    const perTick = Math.max(1, Math.round(o.rate / 20));
    const produceLoop = async (): Promise<void> => {
      let next = performance.now();
      while (!stopping) {
        next += 50;
        const messages = Array.from({ length: perTick }, () => {
          const s = seq++;
          const size = 100 + rng.int(900);
          const head = `${s}|${Date.now()}|`;
          return { key: String(s % 97), value: head + 'x'.repeat(Math.max(0, size - head.length)), seqNo: s };
        });
        const t0 = performance.now();
        try {
          await producer.send({ topic: TOPIC, acks: -1, messages: messages.map(({ key, value }) => ({ key, value })) });
          produceMs.push(performance.now() - t0);
          for (const m of messages) ledger.ack(m.seqNo);
        } catch (e) {
          failures.push(`produce failed: ${(e as Error).message}`);
          return;
        }
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        else next = performance.now();
      }
    };

    // Rebalances: 1, 2, 3, 2, 1, 2, ... members.
    const rebalanceLoop = async (): Promise<void> => {
      let growing = true;
      while (!stopping) {
        await sleep(o.rebalanceSeconds * 1000);
        if (stopping) break;
        if (members.length >= 3) growing = false;
        if (members.length <= 1) growing = true;
        try {
          if (growing) await join();
          else await leave();
        } catch (e) {
          failures.push(`group member ${growing ? 'join' : 'leave'} failed: ${(e as Error).message}`);
        }
      }
    };

    // Topic churn: make a topic, write and read it, delete it.
    const churnLoop = async (): Promise<void> => {
      while (!stopping) {
        await sleep(o.churnSeconds * 1000);
        if (stopping) break;
        const name = `soak-churn-${churned}`;
        const partitions = 1 + rng.int(4);
        try {
          await admin.createTopics([{ name, numPartitions: partitions, replicationFactor: 1 }]);
          const byPartition = new Map(Array.from({ length: partitions }, (_, p) => [p, [{ value: `churn-${p}` }]] as const));
          const offsets = await admin.produce(name, byPartition);
          const read = await admin.fetch(name, new Map([...offsets].map(([p, off]) => [p, off] as const)), { maxWaitMs: 0 });
          const got = read.reduce((n, p) => n + p.records.length, 0);
          if (got !== partitions) failures.push(`churn topic ${name}: read ${got} records back, wrote ${partitions}`);
          await admin.deleteTopics([name]);
          churned++;
        } catch (e) {
          failures.push(`churn topic ${name}: ${(e as Error).message}`);
        }
      }
    };

    // A fetch probe: the newest record of partition 0, no wait.
    const fetchProbe = async (): Promise<number> => {
      const t0 = performance.now();
      const latest = await admin.listOffsets(TOPIC, [0], -1);
      const end = latest.get(0)?.offset ?? 0;
      await admin.fetch(TOPIC, new Map([[0, Math.max(0, end - 1)]]), { maxWaitMs: 0 });
      return performance.now() - t0;
    };

    const started = performance.now();
    const loops = [produceLoop(), rebalanceLoop(), churnLoop()];
    const warmupSeconds = Math.max(60, o.seconds * 0.2);
    o.log(
      `soak: broker pid ${pid} on ${broker.address}, ${o.rate} records/s, warm-up ${warmupSeconds.toFixed(0)} s of ${o.seconds} s, samples to ${o.out}`,
    );
    while (performance.now() - started < o.seconds * 1000 && failures.length === 0) {
      await sleep(o.sampleSeconds * 1000);
      if (broker.process.exitCode !== null || broker.process.signalCode !== null) {
        failures.push(`the broker exited: ${broker.stderr().slice(-2000)}`);
        break;
      }
      const fetchMs = await fetchProbe().catch((e: Error) => {
        failures.push(`fetch probe: ${e.message}`);
        return Number.NaN;
      });
      const p = produceMs.splice(0);
      const e = e2eMs.splice(0);
      const s: Sample = {
        t: (performance.now() - started) / 1000,
        rssKiB: rssKiB(pid) ?? 0,
        fds: openFds(pid) ?? 0,
        produceP50: median(p),
        produceP99: percentile(p, 99),
        fetchMs,
        e2eP50: median(e),
        e2eP99: percentile(e, 99),
        produced: ledger.acked,
        consumed: ledger.consumedDistinct,
        members: members.length,
        rebalances,
        churned,
      };
      samples.push(s);
      appendFileSync(
        o.out,
        `${[s.t.toFixed(1), s.rssKiB, s.fds, s.produceP50.toFixed(2), s.produceP99.toFixed(2), s.fetchMs.toFixed(2), s.e2eP50.toFixed(0), s.e2eP99.toFixed(0), s.produced, s.consumed, s.members, s.rebalances, s.churned].join(',')}\n`,
      );
      o.log(
        `  ${s.t.toFixed(0)} s: RSS ${mib(s.rssKiB)} MiB, ${s.fds} fds, produce p50/p99 ${s.produceP50.toFixed(1)}/${s.produceP99.toFixed(1)} ms, fetch ${s.fetchMs.toFixed(1)} ms, e2e p99 ${s.e2eP99.toFixed(0)} ms, ${s.produced} produced, ${s.consumed} consumed, ${s.members} members, ${s.rebalances} joins, ${s.churned} churned`,
      );
    }
    stopping = true;
    await Promise.all(loops);
    await producer.disconnect();

    // Drain: every acknowledged record must reach the group.
    const drainUntil = performance.now() + 60_000;
    while (ledger.consumedDistinct < ledger.acked && performance.now() < drainUntil) await sleep(500);
    const missing = ledger.missing(seq);
    if (missing.length > 0)
      failures.push(`${missing.length} acknowledged records never consumed (first: ${missing.slice(0, 10).join(', ')})`);
    for (const c of members.splice(0)) await c.disconnect();

    // Growth after the warm-up: the peak of the last window against the peak of the warm-up's
    // second half (windows of equal length). Peaks, because the heap's collections make RSS saw
    // up and down by tens of MiB; a leak lifts the peaks.
    const after = samples.filter((s) => s.t >= warmupSeconds);
    const window = warmupSeconds / 2;
    const peak = (xs: Sample[]): number => Math.max(0, ...xs.map((s) => s.rssKiB));
    const rssBaselineKiB = peak(samples.filter((s) => s.t >= warmupSeconds - window && s.t < warmupSeconds));
    const rssEndKiB = peak(samples.filter((s) => s.t > (samples.at(-1)?.t ?? 0) - window));
    const rssGrowth = rssEndKiB / rssBaselineKiB - 1;
    const fdBaseline = samples.filter((s) => s.t < warmupSeconds).at(-1)?.fds ?? after[0]?.fds ?? 0;
    const fdMax = Math.max(0, ...after.map((s) => s.fds));
    if (after.length < 6)
      failures.push(`only ${after.length} samples after the warm-up: run longer (at least ${Math.ceil(warmupSeconds / 60) + 1} minutes)`);
    else {
      if (rssGrowth > o.maxRssGrowth) {
        failures.push(
          `RSS peaks grew ${(rssGrowth * 100).toFixed(1)}% after the warm-up (${mib(rssBaselineKiB)} -> ${mib(rssEndKiB)} MiB), over ${o.maxRssGrowth * 100}%`,
        );
      }
      if (fdMax > fdBaseline + o.fdSlack)
        failures.push(`open descriptors reached ${fdMax}, over ${fdBaseline} at the end of the warm-up + ${o.fdSlack}`);
    }
    const bad = broker
      .stderr()
      .split('\n')
      .filter((l) => BAD_LOG.test(l));
    if (bad.length > 0) failures.push(`the broker logged ${bad.length} error line(s), first: ${bad[0]!.slice(0, 1000)}`);
    if (broker.process.exitCode !== null || broker.process.signalCode !== null) failures.push('the broker is gone');
    return {
      samples,
      warmupSeconds,
      rssBaselineKiB,
      rssEndKiB,
      rssGrowth,
      fdBaseline,
      fdMax,
      produced: ledger.acked,
      consumedDistinct: ledger.consumedDistinct,
      duplicates: ledger.duplicates,
      failures,
    };
  } finally {
    stopping = true;
    for (const c of members) await c.disconnect().catch(() => undefined);
    await admin.close().catch(() => undefined);
    if (broker.process.exitCode === null && broker.process.signalCode === null) await broker.stop();
    if (failures.length === 0) removeDir(broker.dataDir);
    else o.log(`broker data dir kept: ${broker.dataDir}`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const args = new Args(argv);
  const known = [
    'minutes',
    'seconds',
    'seed',
    'out',
    'rate',
    'retention-ms',
    'sample-s',
    'rebalance-s',
    'churn-s',
    'max-rss-growth',
    'fd-slack',
  ];
  const unknown = args.unknown(known);
  if (unknown.length > 0) {
    console.error(`unknown option --${unknown[0]}\n${USAGE}`);
    return 2;
  }
  const seconds = args.has('seconds') ? args.number('seconds', 600) : args.number('minutes', 10) * 60;
  const seed = args.number('seed', randomSeed()) >>> 0;
  const out = args.string('out', `/tmp/franz-soak-${seed}.csv`);
  const r = await runSoak({
    seconds,
    seed,
    out,
    rate: args.number('rate', 1000),
    retentionMs: args.number('retention-ms', 120_000),
    sampleSeconds: args.number('sample-s', 5),
    rebalanceSeconds: args.number('rebalance-s', 30),
    churnSeconds: args.number('churn-s', 10),
    maxRssGrowth: args.number('max-rss-growth', 0.1),
    fdSlack: args.number('fd-slack', 64),
    log: (line) => console.log(line),
  });
  const rss = r.samples.map((s) => s.rssKiB);
  console.log(
    `\nsoak summary (seed ${seed}): ${r.samples.length} samples over ${seconds} s, warm-up ${r.warmupSeconds.toFixed(0)} s; samples in ${out}`,
  );
  console.log(
    `  RSS: min ${mib(Math.min(...rss))}, max ${mib(Math.max(...rss))} MiB; peak ${mib(r.rssBaselineKiB)} MiB at the end of the warm-up, ${mib(r.rssEndKiB)} MiB at the end of the run (${(r.rssGrowth * 100).toFixed(1)}%)`,
  );
  console.log(`  descriptors: ${r.fdBaseline} at the end of the warm-up, at most ${r.fdMax} after`);
  const col = (f: (s: Sample) => number): number[] => r.samples.map(f).filter((x) => Number.isFinite(x));
  console.log(
    `  produce p99 per interval: median ${median(col((s) => s.produceP99)).toFixed(1)} ms, max ${Math.max(...col((s) => s.produceP99)).toFixed(1)} ms; fetch probe median ${median(col((s) => s.fetchMs)).toFixed(1)} ms; e2e p99 median ${median(col((s) => s.e2eP99)).toFixed(0)} ms`,
  );
  const last = r.samples.at(-1);
  console.log(
    `  records: ${r.produced} acknowledged, ${r.consumedDistinct} consumed (${r.duplicates} redeliveries after rebalances); ${last?.rebalances ?? 0} group joins; ${last?.churned ?? 0} topics churned`,
  );
  if (r.failures.length > 0) {
    for (const f of r.failures) console.log(`FAILED: ${f}`);
    return 1;
  }
  console.log('soak passed');
  return 0;
}

runAsProgram('soak.js', main);
