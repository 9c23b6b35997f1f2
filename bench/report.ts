/**
 * Writes a bench run as Markdown tables and an SVG bar chart of franz's advantage over Kafka.
 * Pure functions of the results: no I/O here.
 */
import type { MicroRow } from './micro.js';
import type { BrokerMeasure, E2eRow, SessionProbe } from './e2e.js';
import { fmt } from './util.js';

export interface Machine {
  [key: string]: string | number;
}

export interface BenchResults {
  date: string;
  quick: boolean;
  durationSec: number;
  machine: Machine;
  settings: string[];
  micro: MicroRow[];
  e2e: E2eRow[];
  /** Page-cache write cost at the start of each broker's session (absent in results before 2026-12-03 18:00). */
  probes?: SessionProbe[];
  targets: TargetCheck[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
  /**
   * The rows below the target that no broker could have brought up to it in this run, each with
   * the client-side reading that rules it out (outOfReach); absent in results before 2026-12-06.
   */
  outOfReach?: string[];
  /**
   * The rows below the target against the in-memory broker too (bench/membroker, measured in the
   * same run), each with its figure; absent in results before membroker joined the bench.
   */
  belowWithMembroker?: string[];
}

const escapeMd = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function byId(rows: readonly E2eRow[], id: string): E2eRow | undefined {
  return rows.find((r) => r.id === id);
}

/**
 * The two-core CPU model of a throughput row (docs/perf/cpu-model.md): client and broker
 * share the machine's two cores and keep both busy, so a row's rate is about 2 / (C + B) GiB/s
 * for C client and B broker CPU seconds per GiB, and franz / Kafka is about
 * (C_kafka + B_kafka) / (C_franz + B_franz). `ceiling` is that ratio for a franz broker costing
 * nothing. Only for 8-partition produce and consume rows outside durable mode: elsewhere Kafka
 * waits (on fsyncs, or with produce latencies of tens of seconds) rather than computes, and the
 * model does not hold. Null when either side lacks a CPU figure.
 */
export function cpuModel(r: E2eRow): { model: number; ceiling: number } | null {
  if (r.partitions !== 8 || r.durable || (r.kind !== 'produce' && r.kind !== 'consume')) return null;
  const f = r.franz;
  const k = r.kafka;
  if (f?.ok !== true || k?.ok !== true) return null;
  const cf = f.clientCpuSecPerGiB;
  const bf = f.cpuSecPerGiB;
  const ck = k.clientCpuSecPerGiB;
  const bk = k.cpuSecPerGiB;
  if (cf === undefined || bf === undefined || ck === undefined || bk === undefined || cf <= 0) return null;
  return { model: (ck + bk) / (cf + bf), ceiling: (ck + bk) / cf };
}

/**
 * A lower bound on the client's CPU seconds per GiB inside the span its rate is timed over: its
 * whole CPU less what every core could have done in the rest of its process's run (the JVM's
 * start-up and shutdown, which Kafka's perf tools leave out of their timing; nothing for kcat,
 * whose rate is timed over its whole process), over the row's data. Undefined without the readings.
 */
export function timedClientCpuPerGiB(m: BrokerMeasure, cores: number): number | undefined {
  const cpu = m.clientCpuSeconds;
  const busy = m.clientCores;
  if (cpu === undefined || busy === undefined || !(busy > 0) || m.seconds === undefined || !m.bytes) return undefined;
  return Math.max(0, cpu - cores * Math.max(0, cpu / busy - m.seconds)) / (m.bytes / 2 ** 30);
}

/**
 * The highest franz / Kafka ratio a row could have had in its run with a broker costing nothing:
 * the client alone on every core, at its CPU per GiB inside the timed span of franz's run
 * (timedClientCpuPerGiB), against Kafka's measured rate. Null without the readings.
 */
export function clientAlone(r: E2eRow, cores: number): number | null {
  const perGiB = r.franz?.ok ? timedClientCpuPerGiB(r.franz, cores) : undefined;
  const k = r.kafka;
  if (perGiB === undefined || !(perGiB > 0) || !k?.ok || !k.mibPerSec) return null;
  return cores / perGiB / (k.mibPerSec / 1024);
}

/** One measurement's rate over another's (records/s), null unless both ran. */
function rateRatio(a: BrokerMeasure | undefined, b: BrokerMeasure | undefined): number | null {
  return a?.ok && b?.ok && a.recordsPerSec !== undefined && b.recordsPerSec ? a.recordsPerSec / b.recordsPerSec : null;
}

/** The in-memory broker's rate over Kafka's for a row (records/s), null unless both ran. */
export function membrokerRatio(r: E2eRow): number | null {
  return rateRatio(r.membroker, r.kafka);
}

/** `x` to two decimals, or three rounded down where two would round up to `limit` (1.4997 shows as 1.499). */
function below(x: number, limit: number): string {
  const shown = x.toFixed(2);
  return Number(shown) < limit ? shown : (Math.floor(x * 1000) / 1000).toFixed(3);
}

/**
 * Why a row that missed a franz / Kafka target (`min`) could not have met it in this run whatever
 * the broker did, read from the client's side of the run; null when nothing measured rules it out.
 * Both readings assume only that the client does the same work per record at a higher rate (at
 * 8 partitions its batches are already full; at 10 000 they hold one record either way):
 * - the client alone: with franz's run's client CPU per GiB (timedClientCpuPerGiB) on every core and
 *   nothing left for any broker, the rate would still be under the target times Kafka's;
 * - a client thread: kcat's busiest thread would need more than a whole CPU at the target's rate
 *   (its busy share with franz times target / ratio above 1). Taken for kcat only: librdkafka's
 *   threads have fixed roles (the application's thread, one per broker), so that thread's work
 *   cannot move to another, and kcat's rate is timed over its whole process, the span the share
 *   is over. Go's scheduler moves franz-go's goroutines between threads, and Kafka's perf tools
 *   time themselves after the JVM's start-up, whose compiler threads are then often the busiest.
 * (The CPU model's ceiling is not used: it assumes Kafka's run kept every core busy, which the
 * consume rows' did not, and there it understates what a cheaper broker could reach.)
 */
export function outOfReach(r: E2eRow, min: number, cores = 2): string | null {
  if (r.ratio === null || r.ratio >= min) return null;
  const f = r.franz;
  const best = clientAlone(r, cores);
  if (best !== null && best < min) return `the client alone on ${cores} cores: at most ${below(best, min)}x`;
  const busy = f?.clientThreadBusy;
  if (busy !== undefined && r.client.startsWith('kcat') && (busy * min) / r.ratio > 1) {
    return `client thread ${f!.clientThread ?? '?'} would need ${Math.ceil((100 * busy * min) / r.ratio)}% of a CPU`;
  }
  return null;
}

/**
 * The issue's targets, checked against a run (null: not measured in this run). `cores` is the
 * machine's CPU count, for the flatness targets' out-of-reach reading.
 */
export function checkTargets(rows: readonly E2eRow[], cores = 2): TargetCheck[] {
  const out: TargetCheck[] = [];
  const yardstick = rows.some((r) => r.membroker !== undefined);
  const ratioCheck = (target: string, ids: string[], min: number): void => {
    const parts: string[] = [];
    const beyond: string[] = [];
    const memBelow: string[] = [];
    let met: boolean | null = null;
    for (const id of ids) {
      const r = byId(rows, id);
      if (r === undefined) continue;
      parts.push(`${id}: ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2) + 'x'}`);
      if (r.ratio !== null) met = (met ?? true) && r.ratio >= min;
      const why = outOfReach(r, min, cores);
      if (why !== null) beyond.push(`${id} (${why})`);
      const mem = membrokerRatio(r);
      if (r.ratio !== null && r.ratio < min && mem !== null && mem < min) memBelow.push(`${id} (${below(mem, min)}x)`);
    }
    if (parts.length > 0) {
      out.push({ target, measured: parts.join(', '), met, outOfReach: beyond, ...(yardstick ? { belowWithMembroker: memBelow } : {}) });
    }
  };
  ratioCheck(
    'Produce throughput >= 1.5x Kafka',
    [
      'produce-1k',
      'produce-1k-kcat',
      'produce-1k-go',
      'produce-100b',
      'produce-100b-kcat',
      'produce-100b-go',
      'produce-lz4',
      'produce-lz4-kcat',
      'produce-lz4-go',
      'produce-1k-p1000',
      'produce-1k-p10000',
      'produce-1k-p10000-kcat',
    ],
    1.5,
  );
  ratioCheck(
    'Consume throughput >= 1.5x Kafka',
    [
      'consume-1k',
      'consume-1k-java',
      'consume-1k-go',
      'consume-100b',
      'consume-100b-go',
      'consume-lz4',
      'consume-lz4-go',
      'consume-1k-p1000',
      'consume-1k-p10000',
    ],
    1.5,
  );
  const lat = byId(rows, 'latency-1k');
  if (lat !== undefined) {
    const e2e = lat.franz?.e2eLatency && lat.kafka?.e2eLatency ? lat.franz.e2eLatency.p99 / lat.kafka.e2eLatency.p99 : null;
    out.push({
      target: 'p99 latency at the fixed rate <= 0.5x Kafka',
      measured: `produce-to-ack ${lat.ratio === null ? 'n/a' : lat.ratio.toFixed(2) + 'x'}, end-to-end ${e2e === null ? 'n/a' : e2e.toFixed(2) + 'x'}`,
      met: lat.ratio === null ? null : lat.ratio <= 0.5 && (e2e === null || e2e <= 0.5),
    });
  }
  ratioCheck('Durable-mode throughput >= 1.5x Kafka flush.messages=1', ['produce-1k-durable'], 1.5);
  const defaults = [
    ['produce-1k-defaults', 'produce-1k'],
    ['produce-1k-kcat-defaults', 'produce-1k-kcat'],
    ['produce-1k-go-defaults', 'produce-1k-go'],
    ['produce-100b-defaults', 'produce-100b'],
    ['produce-100b-kcat-defaults', 'produce-100b-kcat'],
    ['produce-100b-go-defaults', 'produce-100b-go'],
    ['produce-1k-p1000-defaults', 'produce-1k-p1000'],
  ] as const;
  ratioCheck(
    "Out of the box (franz's durable default against Kafka's default) produce >= 1.5x Kafka",
    defaults.map(([id]) => id),
    1.5,
  );
  // franz's default against franz without fsync, with the same client: what durability costs.
  const own: string[] = [];
  let ownMet: boolean | null = null;
  for (const [id, noFsyncId] of defaults) {
    const self = rateRatio(byId(rows, id)?.franz, byId(rows, noFsyncId)?.franz);
    if (self === null) continue;
    own.push(`${id}: ${(self * 100).toFixed(0)}%`);
    ownMet = (ownMet ?? true) && self >= 0.8;
  }
  if (own.length > 0)
    out.push({ target: "franz's durable default >= 80% of its own no-fsync produce throughput", measured: own.join(', '), met: ownMet });
  // Each client against itself: franz's N-partition rate over its 8-partition rate with the same client.
  const flatness = [
    ['produce-1k-p10000', 'produce-1k', '10 000', 'ProducerPerformance'],
    ['produce-1k-p10000-kcat', 'produce-1k-kcat', '10 000', 'kcat -P'],
    ['produce-1k-p1000', 'produce-1k', '1 000', 'ProducerPerformance'],
  ] as const;
  for (const [id, baseId, label, client] of flatness) {
    const pN = byId(rows, id)?.franz;
    if (pN === undefined) continue;
    const p8 = byId(rows, baseId)?.franz;
    // Each broker's N-partition rate over its own 8-partition rate with the same client.
    const self = rateRatio(pN, p8);
    const mem = rateRatio(byId(rows, id)?.membroker, byId(rows, baseId)?.membroker);
    // The cores the client alone would need at N partitions to run at 80% of its 8-partition rate.
    const perGiB = self !== null && self < 0.8 ? timedClientCpuPerGiB(pN, cores) : undefined;
    const need = perGiB !== undefined && p8?.mibPerSec !== undefined ? (perGiB * 0.8 * p8.mibPerSec) / 1024 : null;
    out.push({
      target: `franz at ${label} partitions >= 80% of its own 8-partition produce throughput, ${client}${label === '1 000' ? ' (the issue asks this of 10 000)' : ''}`,
      measured: self === null ? `n/a${pN.ok ? '' : ' (' + (pN.error ?? 'failed').slice(0, 120) + ')'}` : `${(self * 100).toFixed(0)}%`,
      met: self === null ? null : self >= 0.8,
      outOfReach:
        need !== null && need > cores
          ? [`${id} (the client alone would need ${(Math.ceil(need * 10) / 10).toFixed(1)} of the ${cores} cores)`]
          : [],
      ...(yardstick
        ? { belowWithMembroker: self !== null && self < 0.8 && mem !== null && mem < 0.8 ? [`${id} (${(mem * 100).toFixed(0)}%)`] : [] }
        : {}),
    });
  }
  // franz against itself in one session (no Kafka counterpart): a feature's cost, or the HTTP
  // produce against the Kafka listener's. Pairs run in the order A, B, B, A and are averaged.
  const selfCheck = (target: string, featured: string[], base: string[], min: number, what: (r: number) => string): void => {
    const mean = (ids: string[]): number | null => {
      const rates = ids.map((id) => byId(rows, id)?.franz).map((m) => (m?.ok === true ? m.mibPerSec : undefined));
      return rates.some((r) => r === undefined) ? null : rates.reduce((a, b) => a! + b!, 0)! / rates.length;
    };
    const f = mean(featured);
    const b = mean(base);
    if (byId(rows, featured[0]!) === undefined) return;
    const ratio = f === null || b === null ? null : f / b;
    out.push({ target, measured: ratio === null ? 'n/a' : what(ratio), met: ratio === null ? null : ratio >= min });
  };
  selfCheck(
    "REST v3 streamed produce >= 50% of franz's own Kafka-listener produce (kcat), same session",
    ['produce-1k-rest-v3'],
    ['produce-1k-kcat-rest-base'],
    0.5,
    (r) => `${(r * 100).toFixed(0)}%`,
  );
  for (const rate of [10, 100]) {
    selfCheck(
      `Kafka-listener produce with 100 WebSocket subscribers receiving ${rate} records/s each at most 10% lower`,
      [`produce-1k-kcat-ws-${rate}`, `produce-1k-kcat-ws-${rate}-2`],
      ['produce-1k-kcat-ws-off', 'produce-1k-kcat-ws-off-2'],
      0.9,
      (r) => `${((r - 1) * 100).toFixed(1)}%`,
    );
  }
  selfCheck(
    'Message trace on (sampling 1.0): produce at most 10% lower',
    ['produce-1k-trace-on', 'produce-1k-trace-on-2'],
    ['produce-1k-trace-off', 'produce-1k-trace-off-2'],
    0.9,
    (r) => `${((r - 1) * 100).toFixed(1)}%`,
  );
  return out;
}

const pct = (x: number | undefined): number | undefined => (x === undefined ? undefined : 100 * x);

function cell(m: BrokerMeasure | undefined, f: (m: BrokerMeasure) => number | undefined, digits = 1): string {
  if (m === undefined) return '-';
  if (!m.ok) return 'error';
  return fmt(f(m), digits);
}

/** One figure for both brokers: "franz / Kafka". */
function both(r: E2eRow, f: (m: BrokerMeasure) => number | undefined, digits = 1): string {
  return `${cell(r.franz, f, digits)} / ${cell(r.kafka, f, digits)}`;
}

/**
 * A measurement's runs in MiB/s for a Markdown cell: pass by pass in the order they ran, passes
 * parted by "|", where the passes are known; else slowest first; the one rate for a single run.
 */
function runsCell(m: BrokerMeasure | undefined): string {
  if (m === undefined) return '-';
  if (!m.ok) return 'error';
  if (m.passesMiBPerSec !== undefined) return m.passesMiBPerSec.map((p) => p.map((x) => fmt(x, 0)).join(', ')).join(' \\| ');
  return (m.runsMiBPerSec ?? [m.mibPerSec ?? NaN]).map((x) => fmt(x, 0)).join(', ');
}

function ratioCell(r: E2eRow): string {
  if (r.ratio === null) return '-';
  return `**${r.ratio.toFixed(2)}x**`;
}

/** The machine's CPU count from its table ("2 x Intel ..."), 2 when it does not say. */
export function machineCores(m: Machine): number {
  const n = Number.parseInt(String(m.cpus ?? ''), 10);
  return n > 0 ? n : 2;
}

/** The result tables in Markdown. `chart` is the SVG file name to link, if any. */
export function toMarkdown(res: BenchResults, chart?: string): string {
  const L: string[] = [];
  L.push(`# franz vs Apache Kafka: ${res.date}${res.quick ? ' (--quick)' : ''}`);
  L.push('');
  L.push(`Run took ${Math.round(res.durationSec)} s. Ratios are franz / Kafka. MiB = 2^20 bytes.`);
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push('| | |');
  L.push('|---|---|');
  for (const [k, v] of Object.entries(res.machine)) L.push(`| ${escapeMd(k)} | ${escapeMd(String(v))} |`);
  L.push('');
  L.push('## Settings');
  L.push('');
  for (const s of res.settings) L.push(`- ${s}`);
  L.push('');
  if (res.targets.length > 0) {
    L.push('## Targets (issue 4)');
    L.push('');
    L.push(
      "\"Out of reach\" lists the rows below a target that no broker could have brought up to it in this run, by what the client side measured, taking the client to do the same work per record at a higher rate: the client alone, with its CPU per GiB of franz's run (less what every core could have done outside the span its rate is timed over) on every core, would still fall short; or kcat's busiest thread (librdkafka's threads have fixed roles) would need more than a whole CPU at the target's rate; or, for the partition targets, the client alone would need more cores than the machine has at 80% of its 8-partition rate.",
    );
    const yard = res.targets.some((t) => t.belowWithMembroker !== undefined);
    if (yard) {
      L.push('');
      L.push(
        '"Below with the in-memory broker too" lists the rows below a target where the in-memory broker (bench/membroker, measured in the same run: records kept in memory, nothing checked, nothing on disk) fell below it as well, with its figure: the same clients against a broker that does next to nothing did not reach the target either.',
      );
    }
    L.push('');
    L.push(`| target | measured | met | out of reach |${yard ? ' below with the in-memory broker too |' : ''}`);
    L.push(`|---|---|---|---|${yard ? '---|' : ''}`);
    const list = (xs: string[] | undefined): string => (xs === undefined ? 'n/a' : xs.length === 0 ? '-' : xs.join('; '));
    for (const t of res.targets) {
      L.push(
        `| ${escapeMd(t.target)} | ${escapeMd(t.measured)} | ${t.met === null ? 'n/a' : t.met ? 'yes' : 'no'} | ${escapeMd(list(t.outOfReach))} |` +
          (yard ? ` ${escapeMd(list(t.belowWithMembroker))} |` : ''),
      );
    }
    L.push('');
  }
  const thr = res.e2e.filter((r) => r.kind !== 'latency');
  if (thr.length > 0) {
    L.push('## End to end: throughput');
    L.push('');
    if (chart !== undefined) {
      L.push(`![franz / Kafka](${chart})`);
      L.push('');
    }
    L.push(
      '| row | client | records | franz MiB/s | Kafka MiB/s | franz rec/s | Kafka rec/s | franz / Kafka | p99 ack ms franz / Kafka | broker CPU s/GiB franz / Kafka | client CPU s/GiB with franz / Kafka | peak RSS MiB franz / Kafka |',
    );
    L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of thr) {
      const f = r.franz;
      const k = r.kafka;
      const ack = r.kind === 'produce' && r.client === 'ProducerPerformance' ? both(r, (m) => m.ackLatency?.p99, 0) : '-';
      L.push(
        `| ${escapeMd(r.title)} | ${escapeMd(r.client)} | ${r.records.toLocaleString('en-US')} | ${cell(f, (m) => m.mibPerSec)} | ${cell(k, (m) => m.mibPerSec)} | ` +
          `${cell(f, (m) => m.recordsPerSec, 0)} | ${cell(k, (m) => m.recordsPerSec, 0)} | ${ratioCell(r)} | ${ack} | ` +
          `${both(r, (m) => m.cpuSecPerGiB)} | ` +
          `${both(r, (m) => m.clientCpuSecPerGiB)} | ${both(r, (m) => m.peakRssMiB, 0)} |`,
      );
    }
    L.push('');
    const repeated = thr.filter((r) => r.franz?.runsMiBPerSec !== undefined || r.kafka?.runsMiBPerSec !== undefined);
    if (repeated.length > 0) {
      L.push('### Every run');
      L.push('');
      L.push(
        "The rows that ran more than once, each run's MiB/s in the order they ran, the passes of a full run's throughput session parted by \"|\" (each broker's own first pass first: franz ran first in the first pass and last in the second); the table above reports the median run (of an even count, the lower of the middle two). A pass in a slow spell of the machine shows here as a pass of low figures. (Results before 2026-12-06 08:00 list the runs slowest first.)",
      );
      L.push('');
      L.push('| row | client | franz runs, MiB/s | Kafka runs, MiB/s |');
      L.push('|---|---|---|---|');
      for (const r of repeated) L.push(`| ${escapeMd(r.title)} | ${escapeMd(r.client)} | ${runsCell(r.franz)} | ${runsCell(r.kafka)} |`);
      L.push('');
    }
    const measuredMem = thr.filter((r) => r.membroker !== undefined);
    if (measuredMem.length > 0) {
      L.push('### The in-memory broker');
      L.push('');
      L.push(
        "bench/membroker keeps records in memory and answers, nothing more: no CRC or sequence checks, no decompression, no disk, Fetch answered by writev from memory. It ran the same rows in the same run (the first throughput pass and the partition sessions, so fewer runs than the brokers: median as above). What a client reaches against it is about the most any broker could offer that client on this machine; \"franz / in-memory\" near 1 means the row is the client's and the machine's, not franz's. It is a yardstick, not a strict bound: it costs some CPU itself, and one pass is noisier than two.",
      );
      L.push('');
      L.push(
        '| row | client | franz MiB/s | Kafka MiB/s | in-memory MiB/s | franz / Kafka | in-memory / Kafka | franz / in-memory | in-memory broker CPU s/GiB | client CPU s/GiB with in-memory | in-memory runs, MiB/s |',
      );
      L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
      for (const r of measuredMem) {
        const m = r.membroker!;
        const mem = membrokerRatio(r);
        const fm = rateRatio(r.franz, m);
        const runs = runsCell(m);
        L.push(
          `| ${escapeMd(r.title)} | ${escapeMd(r.client)} | ${cell(r.franz, (x) => x.mibPerSec)} | ${cell(r.kafka, (x) => x.mibPerSec)} | ${cell(m, (x) => x.mibPerSec)} | ` +
            `${ratioCell(r)} | ${mem === null ? '-' : fmt(mem, 2) + 'x'} | ${fm === null ? '-' : fmt(fm, 2)} | ${cell(m, (x) => x.cpuSecPerGiB)} | ${cell(m, (x) => x.clientCpuSecPerGiB)} | ${runs} |`,
        );
      }
      L.push('');
    }
    const modelled = thr.flatMap((r) => {
      const m = cpuModel(r);
      return m === null ? [] : [{ r, m }];
    });
    if (modelled.length > 0) {
      L.push('### CPU model');
      L.push('');
      L.push(
        'Client and broker share the two cores: with C client and B broker CPU s/GiB, franz / Kafka is about ' +
          '(C_kafka + B_kafka) / (C_franz + B_franz) ("model"); "ceiling" is (C_kafka + B_kafka) / C_franz, the model\'s ratio ' +
          'for a broker that costs nothing. 8-partition rows outside durable mode only. The model takes both runs to keep the two cores busy; ' +
          "where Kafka's run did not (the consume rows), the ceiling understates what a cheaper broker could reach, and the targets table does not use it. " +
          '"Client alone" is a bound instead: the ratio with the client on every core and nothing for the broker, at its CPU per GiB inside the timed span of franz\'s run (the targets table\'s first out-of-reach reading).',
      );
      L.push('');
      const cores = machineCores(res.machine);
      L.push('| row | client | franz / Kafka | model | ceiling | client alone |');
      L.push('|---|---|---:|---:|---:|---:|');
      for (const { r, m } of modelled) {
        const bound = clientAlone(r, cores);
        L.push(
          `| ${escapeMd(r.title)} | ${escapeMd(r.client)} | ${ratioCell(r)} | ${fmt(m.model, 2)}x | ${fmt(m.ceiling, 2)}x | ${bound === null ? '-' : fmt(bound, 2) + 'x'} |`,
        );
      }
      L.push('');
    }
  }
  const watched = thr.filter((r) => r.franz?.clientThreadBusy !== undefined || r.kafka?.clientThreadBusy !== undefined);
  if (watched.length > 0) {
    L.push("### The client's side");
    L.push('');
    L.push(
      'Each client thread\'s CPU time was sampled every 50 ms. "Busiest thread busy" is that thread\'s CPU time over the ' +
        "client process's wall time (start-up to exit, so start-up counts as idle); near 100% the row is bound by that " +
        'thread, whatever the broker does. "Client cores" is the client\'s whole CPU time over the same wall time, of the ' +
        "machine's two. Median run as above.",
    );
    L.push('');
    L.push(
      '| row | client | franz / Kafka | busiest client thread (with franz) | busiest thread busy % franz / Kafka | client cores franz / Kafka |',
    );
    L.push('|---|---|---:|---|---:|---:|');
    for (const r of watched) {
      L.push(
        `| ${escapeMd(r.title)} | ${escapeMd(r.client)} | ${ratioCell(r)} | ${escapeMd(r.franz?.clientThread ?? '-')} | ` +
          `${both(r, (m) => pct(m.clientThreadBusy), 0)} | ${both(r, (m) => m.clientCores, 2)} |`,
      );
    }
    L.push('');
  }
  const lat = res.e2e.filter((r) => r.kind === 'latency');
  if (lat.length > 0) {
    L.push('## End to end: latency at a fixed rate');
    L.push('');
    L.push("HdrHistogram, from each record's intended send time (no coordinated omission). Milliseconds.");
    L.push('');
    L.push(
      '| row | broker | rate rec/s | ack p50 | ack p99 | ack p99.9 | ack max | e2e p50 | e2e p99 | e2e p99.9 | e2e max | CPU s/GiB | peak RSS MiB |',
    );
    L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of lat) {
      for (const name of ['franz', 'kafka'] as const) {
        const m = r[name];
        if (m === undefined) continue;
        if (!m.ok) {
          L.push(`| ${escapeMd(r.title)} | ${name} | error: ${escapeMd((m.error ?? '').slice(0, 200))} ||||||||||| `);
          continue;
        }
        const a = m.ackLatency;
        const e = m.e2eLatency;
        L.push(
          `| ${escapeMd(r.title)} | ${name} | ${fmt(m.recordsPerSec, 0)} | ${fmt(a?.p50, 2)} | ${fmt(a?.p99, 2)} | ${fmt(a?.p999, 2)} | ${fmt(a?.max, 2)} | ` +
            `${fmt(e?.p50, 2)} | ${fmt(e?.p99, 2)} | ${fmt(e?.p999, 2)} | ${fmt(e?.max, 2)} | ${fmt(m.cpuSecPerGiB)} | ${fmt(m.peakRssMiB, 0)} |`,
        );
      }
      L.push(
        `| ${escapeMd(r.title)} | franz / Kafka p99 ack | | | ${r.ratio === null ? '-' : `**${r.ratio.toFixed(2)}x**`} | | | | | | | | |`,
      );
    }
    L.push('');
  }
  const probes = res.probes ?? [];
  if (probes.length > 0) {
    L.push("## Machine state at each session's start");
    L.push('');
    L.push(
      'CPU seconds per GiB for this process to write 256 MiB of new page cache in 16 KiB writes, just before the broker started: the same write costs 6-8x more on guest memory that has to be faulted in from the host, so a session started high ran its produce rows on a slower machine.',
    );
    L.push('');
    L.push('| session | before franz | before Kafka |');
    L.push('|---|---:|---:|');
    for (const session of [...new Set(probes.map((p) => p.session))]) {
      const at = (b: string): string => fmt(probes.find((p) => p.session === session && p.broker === b)?.pageCacheWriteSecPerGiB, 2);
      L.push(`| ${escapeMd(session)} | ${at('franz')} | ${at('kafka')} |`);
    }
    L.push('');
  }
  const errors = res.e2e.flatMap((r) =>
    (['franz', 'kafka', 'membroker'] as const)
      .filter((n) => r[n] !== undefined && !r[n]!.ok)
      .map((n) => `- ${r.id} on ${n}: ${r[n]!.error}`),
  );
  if (errors.length > 0) {
    L.push('## Rows that did not run or failed');
    L.push('');
    L.push(...errors.map((e) => escapeMd(e).slice(0, 800)));
    L.push('');
  }
  if (res.micro.length > 0) {
    L.push('## Micro-benchmarks (tinybench, results checked before timing)');
    L.push('');
    L.push('| group | benchmark | MB/s | ops/s | mean us | p99 us | note |');
    L.push('|---|---|---:|---:|---:|---:|---|');
    for (const m of res.micro) {
      const note = m.error !== undefined ? `error: ${m.error}` : (m.note ?? '');
      L.push(
        `| ${escapeMd(m.group)} | ${escapeMd(m.name)} | ${fmt(m.mbPerSec)} | ${fmt(m.opsPerSec, 0)} | ${fmt(m.meanUs)} | ${fmt(m.p99Us)} | ${escapeMd(note)} |`,
      );
    }
    L.push('');
    L.push('MB/s here is 10^6 bytes per second of input.');
    L.push('');
  }
  return L.join('\n');
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A horizontal bar chart of franz's advantage per row on a log2 scale: franz / Kafka throughput,
 * and Kafka / franz p99 latency for latency rows, so that right of 1x is always better for franz.
 */
export function toSvg(res: BenchResults): string {
  const bars: Array<{ label: string; value: number; note: string }> = [];
  for (const r of res.e2e) {
    if (r.ratio === null || r.ratio <= 0) continue;
    if (r.kind === 'latency')
      bars.push({ label: `${r.title} (Kafka p99 / franz p99)`, value: 1 / r.ratio, note: `p99 ack ${r.ratio.toFixed(2)}x Kafka's` });
    else bars.push({ label: `${r.title} [${r.client}]`, value: r.ratio, note: `${r.ratio.toFixed(2)}x` });
  }
  const W = 980;
  const left = 470;
  const right = 60;
  const top = 56;
  const rowH = 26;
  const H = top + Math.max(1, bars.length) * rowH + 50;
  const minL = -3;
  const maxL = 3; // 1/8x .. 8x
  const plotW = W - left - right;
  const x = (v: number): number => left + ((Math.min(maxL, Math.max(minL, Math.log2(v))) - minL) / (maxL - minL)) * plotW;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${xml(`franz vs Apache Kafka, ${res.date}${res.quick ? ' (--quick)' : ''}`)}</text>`,
  );
  o.push(
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${xml('franz advantage, log scale: right of 1x is better for franz (throughput franz/Kafka; latency Kafka/franz). Dashed: the 1.5x target')}</text>`,
  );
  for (let l = minL; l <= maxL; l++) {
    const xx = x(2 ** l);
    o.push(
      `<line x1="${xx}" y1="${top - 4}" x2="${xx}" y2="${H - 40}" stroke="${l === 0 ? '#000' : '#ddd'}" stroke-width="${l === 0 ? 1.5 : 1}"/>`,
    );
    const t = l >= 0 ? `${2 ** l}x` : `1/${2 ** -l}x`;
    o.push(`<text x="${xx}" y="${H - 24}" text-anchor="middle" fill="#333">${t}</text>`);
  }
  const target = x(1.5);
  o.push(`<line x1="${target}" y1="${top - 4}" x2="${target}" y2="${H - 40}" stroke="#2a7" stroke-dasharray="5,4" stroke-width="1.5"/>`);
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = x(1);
    const x1 = x(b.value);
    const color = b.value >= 1.5 ? '#2a7' : b.value >= 1 ? '#8c5' : '#d55';
    o.push(
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${xml(b.label.length > 72 ? b.label.slice(0, 70) + '...' : b.label)}</text>`,
    );
    o.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${color}"/>`);
    o.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 16}" fill="#222">${xml(b.note)}</text>`);
  });
  if (bars.length === 0) o.push(`<text x="${W / 2}" y="${top + 16}" text-anchor="middle">no rows with both brokers measured</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}
