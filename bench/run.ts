/**
 * `npm run bench`: micro-benchmarks, then franz against Apache Kafka end to end. Writes
 * bench/results/<date>.json, .md and .svg, and bench/results/latest.md / latest.svg.
 *
 *   npm run bench                       full run (under 30 minutes on a 2-core machine)
 *   npm run bench -- --quick            about 3 minutes: fewer records, no 10 000-partition row
 *   npm run bench -- --micro            micro-benchmarks only
 *   npm run bench -- --e2e              end-to-end only
 *   npm run bench -- --sessions throughput,latency --scale 0.1    development: some sessions, fewer records
 *   npm run bench -- --out DIR          write results elsewhere (default bench/results)
 *
 * Needs: a built franz (npm run build), java (17+), mvn (fetches Kafka 4.1.0 into
 * ~/.cache/franz-bench on first use; FRANZ_BENCH_CACHE overrides), kcat, go (builds bench/go,
 * the franz-go client, into the same cache; the Go module proxy supplies franz-go).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ensureGoBinary, ensureKafka, KAFKA_HEAP, KAFKA_VERSION } from './brokers.js';
import { e2e, e2eUnits, type E2eRow, type SessionProbe } from './e2e.js';
import { micro, MICRO_UNITS, type MicroRow } from './micro.js';
import { checkTargets, machineCores, toMarkdown, toSvg, type BenchResults, type Machine } from './report.js';
import { pageReporting, Progress, REPO_ROOT } from './util.js';

interface Args {
  quick: boolean;
  micro: boolean;
  e2e: boolean;
  sessions: string[];
  scale: number;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { quick: false, micro: true, e2e: true, sessions: [], scale: 1, out: join(REPO_ROOT, 'bench', 'results') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') a.quick = true;
    else if (arg === '--micro') a.e2e = false;
    else if (arg === '--e2e') a.micro = false;
    else if (arg === '--sessions') a.sessions = value().split(',').filter(Boolean);
    else if (arg === '--scale') a.scale = Number(value());
    else if (arg === '--out') a.out = value();
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: npm run bench -- [--quick] [--micro | --e2e] [--sessions a,b] [--scale X] [--out DIR]\n' +
          'sessions: throughput, latency, partitions-1000, partitions-10000, partitions-10000-kcat, durable, defaults, transactions, delay, trace, http, compression, cleaner, cluster\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${arg} (try --help)`);
  }
  if (!(a.scale > 0 && a.scale <= 10)) throw new Error('--scale must be in (0, 10]');
  return a;
}

/** A command's output (stdout, else stderr: `java -version` prints there), or 'unavailable'. */
function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return r.stdout?.trim() || r.stderr?.trim() || '' || 'unavailable';
}

function machine(): Machine {
  const mem = totalmem();
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const nofile = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(limits);
  const dfLine = sh('df', ['-h', '--output=source,fstype,size,avail', '/tmp']).split('\n')[1] ?? '';
  const dev = dfLine.split(/\s+/)[0]?.replace('/dev/', '') ?? '';
  let rotational = 'unknown';
  try {
    rotational = readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim() === '0' ? 'SSD/virtual (non-rotational)' : 'rotational';
  } catch {
    // not a plain block device
  }
  return {
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${(mem / 2 ** 30).toFixed(1)} GiB`,
    'disk (/tmp, data dirs)': `${dfLine.replace(/\s+/g, ' ')} (${rotational})`,
    kernel: sh('uname', ['-sr']),
    'load average at start': loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    'ulimit -n (soft/hard)': nofile ? `${nofile[1]}/${nofile[2]}` : 'unknown',
    node: process.version,
    java: sh('java', ['-version']).split('\n')[0] ?? 'unknown',
    kcat:
      sh('kcat', ['-V'])
        .split('\n')
        .find((l) => /librdkafka|Version/i.test(l)) ?? 'unknown',
    go: sh('go', ['version']),
    franz: `${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version} (${sh('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'])})`,
    'Apache Kafka': `${KAFKA_VERSION} (KRaft, single node, -Xmx${KAFKA_HEAP} -Xms${KAFKA_HEAP}, G1)`,
  };
}

const SETTINGS = [
  'One broker at a time, started fresh per session with an empty data directory under the same /tmp (same disk); 127.0.0.1 only.',
  "Throughput, latency and partition rows: no fsync before ack on either side (Kafka's default; franz with `--set franz.fsync=false`).",
  "Durable rows: franz's default (fsync before ack, group commit) against Kafka with `log.flush.interval.messages=1`.",
  "Cluster rows: three franz brokers on one etcd (`franz.cluster`, `franz.fsync=false`) against three Kafka brokers (node 1 also the KRaft controller), all on this machine; topics with replication factor 3 and min.insync.replicas=2, acks=all (both clients' default). Broker CPU and peak RSS are summed over every process of the cluster (etcd included for franz).",
  'Topics are created with CreateTopics (replication factor 1) before each row; each broker gets an unmeasured warm-up produce first.',
  'ProducerPerformance (kafka-tools 4.1.0) with producer defaults: acks=all, idempotence on, linger.ms=5, batch.size=16384; values from a file of JSON-like lines.',
  'kcat (librdkafka) defaults: acks=all, no idempotence, linger 5 ms; the 10 000-partition kcat -P row adds `sticky.partitioning.linger.ms=0` (each record to a random partition; the sticky default writes to one partition for 10 ms at a time). Consume rows: `kcat -C -X fetch.wait.max.ms=10 -o beginning -e` over all partitions, one output newline per record, counted (the 10 ms wait keeps the empty Fetch that signals the end from adding 500 ms).',
  'The throughput session runs twice in a full run, the brokers in the order franz, Kafka, then Kafka, franz. In each pass every consume row reads its topic three times and every 8-partition produce row writes twice, each time into a new topic; the median run over both passes is reported (of an even count, the lower of the middle two). Rows outside that session run once, except consume rows (three times).',
  "Before each broker's session a scratch file about the size of the session's data is written and deleted, so both brokers start on page-cache memory used before, unless the guest reports free memory to the host (machine table), which undoes that within seconds; then it is skipped. A 256 MiB probe write just before each broker starts gives the page-cache write cost the session began with (table below).",
  "In-memory broker (the yardstick, not a broker under test): bench/membroker keeps record batches in memory and answers, nothing more (no checks, no disk; Fetch by writev from memory; franz's advertised versions). It runs the first throughput pass and the partition sessions after franz and Kafka.",
  "franz-go rows: bench/go (franz-go 1.22.3, pkg/kgo) with the client's defaults (acks=all, idempotence on, linger 10 ms, sticky partitioning) except compression (kgo defaults to snappy; none or lz4 here), values from the same 1 000-line files as ProducerPerformance, in turn; consume rows read every partition from the start without a group until every record has arrived. Timed by the client from its creation to the last ack or record.",
  "Latency row: bench/java/LatencyBench.java (Java client 4.1.0, HdrHistogram) at half the slower broker's 1 KiB ProducerPerformance rate, 1 KiB records.",
  'Broker CPU = utime + stime from /proc/<pid>/stat over the measurement; peak RSS = VmHWM, reset before each row via /proc/<pid>/clear_refs.',
  "Client CPU = user + system time of the client process from start-up to exit (bash `times` around it; for consume rows, of the median run), per GiB of the row's data.",
  'Clients run on the same 2 cores as the broker, so client CPU competes with broker CPU on both sides.',
];

/** The Machine table's line on virtio-balloon free page reporting (util.ts pageReporting). */
function pageReportingText(start: ReturnType<typeof pageReporting>, end: ReturnType<typeof pageReporting>): string {
  if (start === null || end === null) return 'none (no page_reporting module)';
  const returned =
    start.reportedKiB !== null && end.reportedKiB !== null
      ? `, ${((end.reportedKiB - start.reportedKiB) / 2 ** 20).toFixed(1)} GiB of free memory reported during the run`
      : '';
  return `on (blocks of 2^${end.order} pages)${returned}; a reported page costs a host fault when touched again`;
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}${p(d.getMinutes())}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = new Date();
  const t0 = Date.now();
  const progress = new Progress((args.micro ? MICRO_UNITS : 0) + (args.e2e ? e2eUnits(args.quick, args.sessions) + 1 : 0));
  const machineInfo = machine();
  let microRows: MicroRow[] = [];
  let e2eRows: E2eRow[] = [];
  let probes: SessionProbe[] = [];
  const reportingAtStart = pageReporting();
  if (args.micro) microRows = await micro({ quick: args.quick, progress });
  if (args.e2e) {
    progress.step('e2e: fetching Apache Kafka jars (Maven Central, cached)');
    await ensureKafka();
    progress.step('e2e: building the franz-go client and the in-memory broker (bench/go, bench/membroker; cached)');
    await ensureGoBinary('go');
    await ensureGoBinary('membroker');
    progress.advance(1);
    ({ rows: e2eRows, probes } = await e2e({ quick: args.quick, progress, only: args.sessions, scale: args.scale }));
  }
  progress.finish();
  machineInfo['load average at end'] = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  machineInfo['free page reporting to the host'] = pageReportingText(reportingAtStart, pageReporting());
  const settings = [...SETTINGS];
  if (args.scale !== 1) settings.unshift(`Development run: record counts scaled by ${args.scale}.`);
  if (args.sessions.length > 0) settings.unshift(`Development run: sessions ${args.sessions.join(', ')} only.`);
  const results: BenchResults = {
    date: started.toISOString(),
    quick: args.quick,
    durationSec: (Date.now() - t0) / 1000,
    machine: machineInfo,
    settings,
    micro: microRows,
    e2e: e2eRows,
    probes,
    targets: checkTargets(e2eRows, machineCores(machineInfo)),
  };
  mkdirSync(args.out, { recursive: true });
  const name = stamp(started) + (args.quick ? '-quick' : '');
  const svg = toSvg(results);
  writeFileSync(join(args.out, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(args.out, `${name}.svg`), svg);
  writeFileSync(join(args.out, `${name}.md`), toMarkdown(results, `${name}.svg`));
  writeFileSync(join(args.out, 'latest.svg'), svg);
  writeFileSync(join(args.out, 'latest.md'), toMarkdown(results, 'latest.svg'));
  process.stdout.write(toMarkdown(results) + '\n');
  process.stdout.write(`\nWrote ${join(args.out, name)}.{json,md,svg} and latest.md\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
