/**
 * End-to-end: franz and Apache Kafka side by side, one broker at a time, each started fresh for
 * each session on the same disk with the same settings, driven by the same clients.
 *
 * Sessions (each: start one broker, warm up, run its rows, stop; then the same for the other):
 *  - throughput (no fsync before ack: Kafka's default, franz with franz.fsync=false):
 *    1 KiB records x 8 partitions produced by ProducerPerformance, by kcat and by franz-go,
 *    consumed by kcat and franz-go (and by ConsumerPerformance where the broker has consumer
 *    groups); 100-byte records and lz4, each produced by all three and consumed by two. A full
 *    run has two passes of this session (franz first, then Kafka first); in each, consume rows
 *    read three times and produce rows write twice (each into a fresh topic), and a row keeps the
 *    median run over both passes.
 *  - latency: the Java client at a fixed rate, half the slower broker's 1 KiB produce maximum,
 *    with produce-to-ack and end-to-end HdrHistograms.
 *  - 1 000 and 10 000 partitions (the latter skipped by --quick): produce and consume (read three times).
 *  - durable: franz's default fsync-before-ack against Kafka with log.flush.interval.messages=1.
 *  - defaults ("out of the box"): each broker as it starts with no settings: franz acknowledging
 *    only what is on disk, Kafka from the page cache; the produce rows of the throughput session
 *    (1 KiB and 100-byte records, each producer) and 1 KiB records at 1 000 partitions.
 * Each measurement takes the broker's CPU time (utime + stime) and peak RSS from /proc.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, LATEST_TIMESTAMP } from '../src/client/client.js';
import { ResourceType } from '../src/protocol/constants.js';
import { startBroker, type BrokerHandle, type BrokerName } from './brokers.js';
import {
  ClientFailure,
  consumerPerformance,
  curlRestProduce,
  franzGoConsume,
  franzGoProduce,
  kcatConsume,
  kcatProduce,
  latencyBench,
  txnBench,
  delayBench,
  producerPerformance,
  type ClientResult,
  type Percentiles,
} from './clients.js';
import {
  cpuSeconds,
  openFds,
  pageCacheWriteCost,
  pageReportingActive,
  peakRss,
  prng,
  recordText,
  resetPeakRss,
  REPO_ROOT,
  sleep,
  touchPageCache,
  type Progress,
} from './util.js';

export const BROKERS: readonly BrokerName[] = ['franz', 'kafka'];
/**
 * The brokers of a session that also measures the yardstick: franz, Kafka, then membroker
 * (bench/membroker), which keeps records in memory and does nothing else. It is measured once
 * (the first throughput pass and the partition sessions; not latency or durable mode, where it
 * would have nothing to compare), for the report's "in-memory broker" figures.
 */
const WITH_YARDSTICK: readonly BrokerName[] = [...BROKERS, 'membroker'];

export interface BrokerMeasure {
  ok: boolean;
  error?: string;
  records?: number;
  bytes?: number;
  seconds?: number;
  recordsPerSec?: number;
  mibPerSec?: number;
  ackLatency?: Percentiles;
  e2eLatency?: Percentiles;
  /** Broker CPU (user + system) during the measurement. */
  cpuSeconds?: number;
  cpuSecPerGiB?: number;
  /**
   * The client's CPU (user + system, the whole process from start-up to exit) in the same run:
   * clients share the two cores with the broker, so this shows which side a row is bound by.
   */
  clientCpuSeconds?: number;
  clientCpuSecPerGiB?: number;
  /** The client's busiest thread in that run (its name), and the share of the client's wall time it was on a CPU. */
  clientThread?: string;
  clientThreadBusy?: number;
  /** The client's CPU over its wall time: cores it kept busy on average (of the machine's two). */
  clientCores?: number;
  /** Every run's rate (MiB/s), slowest first, when the row ran more than once; the row reports the median run. */
  runsMiBPerSec?: number[];
  /**
   * The same runs in the order they ran, one list per pass of the row's session (a full run's
   * throughput rows have two), so a pass in a slow spell shows as one; absent before 2026-12-06 08:00.
   */
  passesMiBPerSec?: number[][];
  /** Broker peak RSS during the measurement (since the reset just before it, or since start-up). */
  peakRssMiB?: number;
  openFds?: number;
  detail?: string;
}

export type RowKind = 'produce' | 'consume' | 'latency';

export interface E2eRow {
  id: string;
  title: string;
  kind: RowKind;
  client: string;
  partitions: number;
  recordSize: number;
  compression: 'none' | 'lz4';
  durable: boolean;
  records: number;
  franz?: BrokerMeasure;
  kafka?: BrokerMeasure;
  /** The same row against bench/membroker (in memory, no checks, no disk): what the client reaches against a broker costing next to nothing. */
  membroker?: BrokerMeasure;
  /** franz / Kafka: records/s for produce and consume rows, p99 produce-to-ack latency for latency rows. */
  ratio: number | null;
  /** What `ratio` compares, and which way is better. */
  ratioOf: string;
}

/** The state of the machine's memory at the start of one broker's session. */
export interface SessionProbe {
  session: string;
  broker: BrokerName;
  /** CPU s/GiB to grow the page cache, measured just before the broker started (pageCacheWriteCost). */
  pageCacheWriteSecPerGiB: number;
}

export interface E2eResults {
  rows: E2eRow[];
  probes: SessionProbe[];
}

export interface E2eOptions {
  quick: boolean;
  progress: Progress;
  /** Only these sessions (by name), for development; all when empty. */
  only?: readonly string[];
  /** Multiplies every record count (development: --scale 0.05). */
  scale?: number;
}

interface Ctx {
  broker: BrokerHandle;
  /** Replicas of every topic the session makes (its broker count). */
  replicas: number;
  client: Client;
  dir: string;
  quick: boolean;
  rows: Map<string, E2eRow>;
}

interface RowSpec {
  id: string;
  title: string;
  kind: RowKind;
  client: string;
  partitions: number;
  recordSize: number;
  compression: 'none' | 'lz4';
  records: number;
  /** A topic to create before the row (absent: the row reads a topic an earlier row wrote). */
  createTopic?: string;
  /** Topic configs for createTopic (e.g. compression.type). */
  topicConfigs?: Record<string, string>;
  /** Skip for a broker without these API keys (e.g. consumer groups). */
  needsApi?: { keys: number[]; name: string };
  /**
   * How many times the row runs; the median run (by rate) is reported. A produce row's run k > 0
   * writes into a topic of its own (`runTopic`), so every run starts from empty partitions and a
   * later consume row still reads exactly the first run's records.
   */
  runs: number;
  /** `topic` is the row's topic for this run (runTopic(createTopic, run)), or the topic it reads. */
  exec(ctx: Ctx, topic: string): Promise<ClientResult>;
}

interface Session {
  name: string;
  /** Shown in progress and in the probe table: the name, and which pass for a session run twice. */
  label: string;
  durable: boolean;
  /** Each broker with its own defaults (franz durable, Kafka without flushes); `durable` is ignored. */
  defaults?: boolean;
  /** Brokers in a cluster (3: three franz brokers on etcd against three Kafka brokers); 1 when absent. */
  brokers?: number;
  /** Broker configs both brokers start with (Kafka's key names). */
  settings?: Readonly<Record<string, string>>;
  /** The brokers in the order they run this session. */
  order: readonly BrokerName[];
  rows: RowSpec[];
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** A file of `lines` keyed records, `k<i % keys>:<value of size bytes>`, for kcat -K: (the cleaner row). */
async function keyedFile(path: string, size: number, lines: number, keys: number, seed: number): Promise<string> {
  const rand = prng(seed);
  const distinct: string[] = [];
  for (let i = 0; i < Math.min(lines, 1000); i++) distinct.push(recordText(rand, size));
  const out = createWriteStream(path);
  for (let i = 0; i < lines; i++) {
    const line = `k${i % keys}:${distinct[i % distinct.length]!}\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return path;
}

/**
 * Bytes of a partition's `.log` files under a broker's data directory (franz keeps `<topic>-<p>`
 * there, Kafka under `logs/`). Only live segments: Kafka keeps replaced ones as `.log.deleted` for
 * file.delete.delay.ms, which says nothing of how far its cleaner has got.
 */
function partitionLogBytes(dataDir: string, dirName: string): number {
  const walk = (dir: string, depth: number): number => {
    let sum = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (e.name === dirName) {
        for (const f of readdirSync(path)) if (f.endsWith('.log')) sum += statSync(join(path, f)).size;
      } else if (depth > 0) sum += walk(path, depth - 1);
    }
    return sum;
  };
  return walk(dataDir, 2);
}

/** `src`'s lines as REST v3 produce objects (`{"value":{"type":"STRING","data":line}}`), one per line. */
async function jsonRecordsFile(src: string, path: string): Promise<string> {
  const out = createWriteStream(path);
  for await (const line of createInterface({ input: createReadStream(src) })) {
    if (!out.write(`{"value":{"type":"STRING","data":${JSON.stringify(line)}}}\n`))
      await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return path;
}

/** A file of `lines` values of exactly `size` bytes each (no newline inside), one per line. */
async function payloadFile(path: string, size: number, lines: number, seed: number): Promise<string> {
  const rand = prng(seed);
  const distinct: string[] = [];
  for (let i = 0; i < Math.min(lines, 1000); i++) distinct.push(recordText(rand, size));
  const out = createWriteStream(path);
  for (let i = 0; i < lines; i++) {
    if (!out.write(distinct[i % distinct.length]! + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return path;
}

function timeoutFor(bytes: number, minMiBps = 2): number {
  return Math.min(15 * 60_000, Math.max(90_000, (bytes / (1024 * 1024) / minMiBps) * 1000));
}

// ---------------------------------------------------------------------------------------------
// The plan

/** Record counts of each kind of row. */
function counts(
  quick: boolean,
  scale: number,
): Record<
  'n1k' | 'n100' | 'nlz4' | 'n1000' | 'n10000' | 'ndur' | 'ncluster' | 'kcat' | 'kcat100' | 'kcat10000' | 'nclean' | 'warmup',
  number
> {
  const n = (quickCount: number, fullCount: number): number => Math.max(1000, Math.round((quick ? quickCount : fullCount) * scale));
  return {
    n1k: n(200_000, 1_000_000),
    n100: n(1_000_000, 5_000_000),
    nlz4: n(200_000, 1_000_000),
    // Kafka took 48-114 s for 500 000 here, and twice it let records pass the producer's
    // delivery.timeout.ms (120 s from the batch's creation) unacknowledged; 300 000, as at 10 000.
    n1000: n(100_000, 300_000),
    n10000: n(100_000, 300_000),
    ndur: n(30_000, 200_000),
    ncluster: n(100_000, 500_000),
    kcat: n(100_000, 500_000),
    kcat100: n(500_000, 2_000_000),
    // Batches of about one record each at this partition count: Kafka took over 290 s for 300 000.
    kcat10000: n(30_000, 100_000),
    // 1 KiB keyed records for the cleaner row: 1 GiB in a full run.
    nclean: n(100_000, 1_000_000),
    warmup: n(30_000, 200_000),
  };
}

interface PlanFiles {
  p1k: string;
  p100: string;
  /** kcat -P input: 1 KiB values (kcatRecords lines) and 100-byte values (kcat100Records lines). */
  kcat1k: string;
  kcatRecords: number;
  kcat100: string;
  kcat100Records: number;
  /** kcat -P input for the 10 000-partition row (kcat10000 lines of 1 KiB; empty in a quick run). */
  kcat1kP10000: string;
  /** kcat -P -K: input for the cleaner row (nclean keyed lines of 1 KiB; empty unless that session runs). */
  keyed: string;
  /** REST v3 produce input: kcat1k's values as JSON record objects, one per line (empty unless the http session runs). */
  json1k: string;
}

function plan(quick: boolean, scale: number, files: PlanFiles): Session[] {
  const n = counts(quick, scale);
  const { n1k, n100, nlz4, n1000, n10000, ndur, ncluster } = n;
  // The 8-partition produce rows take 2-17 s each and swing by more than their ratio's distance
  // from the target between runs; the partition rows (Kafka: 60-110 s each) run once. The
  // throughput session runs twice (below), so its rows run twice in each pass.
  const produceRuns = (partitions: number): number => (quick || partitions > 8 ? 1 : PRODUCE_RUNS);
  const produce = (
    id: string,
    title: string,
    topic: string,
    partitions: number,
    size: number,
    records: number,
    compression: 'none' | 'lz4' = 'none',
    transactionMs?: number,
  ): RowSpec => ({
    id,
    title,
    kind: 'produce',
    // A transactional run's topic also holds a marker per partition and commit, so the check of
    // what the broker holds is "at least" for it (below).
    client: transactionMs === undefined ? 'ProducerPerformance' : 'ProducerPerformance (transactional)',
    partitions,
    recordSize: size,
    compression,
    records,
    createTopic: topic,
    runs: produceRuns(partitions),
    exec: (ctx, runTopic) =>
      producerPerformance({
        address: ctx.broker.address,
        topic: runTopic,
        records,
        recordSize: size,
        payloadFile: size === 100 ? files.p100 : files.p1k,
        // Kafka produces 2-2.5 MiB/s at 10 000 partitions on this machine; the usual 2 MiB/s floor
        // timed it out in one full run (2026-12-03 08:38), so that row allows 1 MiB/s.
        compression,
        timeoutMs: timeoutFor(records * size, partitions >= 10_000 ? 1 : 2),
        ...(transactionMs === undefined ? {} : { transactionMs }),
      }),
  });
  const consume = (
    id: string,
    title: string,
    topic: string,
    partitions: number,
    size: number,
    records: number,
    compression: 'none' | 'lz4' = 'none',
  ): RowSpec => ({
    id,
    title,
    kind: 'consume',
    client: 'kcat -C',
    partitions,
    recordSize: size,
    compression,
    records,
    runs: CONSUME_RUNS,
    exec: (ctx) => kcatConsume({ address: ctx.broker.address, topic, records, recordSize: size, timeoutMs: timeoutFor(records * size) }),
  });
  // ConsumerPerformance in a group reading 8 partitions of 1 KiB records; `after` adds to the row's detail.
  const javaConsume = (id: string, title: string, topic: string, after?: (ctx: Ctx) => string): RowSpec => ({
    id,
    title,
    kind: 'consume',
    client: 'ConsumerPerformance',
    partitions: 8,
    recordSize: 1024,
    compression: 'none',
    records: n1k,
    needsApi: { keys: [10, 11, 12, 14], name: 'consumer groups (FindCoordinator, JoinGroup, Heartbeat, SyncGroup)' },
    runs: CONSUME_RUNS,
    exec: async (ctx) => {
      const r = await consumerPerformance({
        address: ctx.broker.address,
        topic,
        records: n1k,
        recordSize: 1024,
        timeoutMs: timeoutFor(n1k * 1024),
      });
      return after === undefined ? r : { ...r, detail: `${r.detail}; ${after(ctx)}` };
    },
  });
  const kcatProduceRow = (
    id: string,
    title: string,
    topic: string,
    size: number,
    file: string,
    records: number,
    compression: 'none' | 'lz4' = 'none',
    partitions = 8,
  ): RowSpec => ({
    id,
    title,
    kind: 'produce',
    client: 'kcat -P',
    partitions,
    recordSize: size,
    compression,
    records,
    createTopic: topic,
    runs: produceRuns(partitions),
    exec: (ctx, runTopic) =>
      kcatProduce({
        address: ctx.broker.address,
        topic: runTopic,
        records,
        recordSize: size,
        payloadFile: file,
        file,
        compression,
        spread: partitions >= 10_000,
        timeoutMs: timeoutFor(records * size, partitions >= 10_000 ? 0.5 : 2),
      }),
  });
  // franz-go costs its process about 1 CPU second per GiB of 1 KiB records produced (kcat 3,
  // ProducerPerformance 11: docs/perf/client-bound.md), so on two shared cores these rows leave the most to
  // the broker. They read the 1 000-line payload files in turn, as ProducerPerformance does.
  const goProduceRow = (
    id: string,
    title: string,
    topic: string,
    size: number,
    records: number,
    compression: 'none' | 'lz4' = 'none',
  ): RowSpec => ({
    id,
    title,
    kind: 'produce',
    client: 'franz-go',
    partitions: 8,
    recordSize: size,
    compression,
    records,
    createTopic: topic,
    runs: produceRuns(8),
    exec: (ctx, runTopic) =>
      franzGoProduce({
        address: ctx.broker.address,
        topic: runTopic,
        records,
        recordSize: size,
        payloadFile: size === 100 ? files.p100 : files.p1k,
        compression,
        timeoutMs: timeoutFor(records * size),
      }),
  });
  const goConsumeRow = (
    id: string,
    title: string,
    topic: string,
    size: number,
    records: number,
    compression: 'none' | 'lz4' = 'none',
  ): RowSpec => ({
    id,
    title,
    kind: 'consume',
    client: 'franz-go',
    partitions: 8,
    recordSize: size,
    compression,
    records,
    runs: CONSUME_RUNS,
    exec: (ctx) => franzGoConsume({ address: ctx.broker.address, topic, records, recordSize: size, timeoutMs: timeoutFor(records * size) }),
  });
  const throughput: Session = {
    name: 'throughput',
    label: quick ? 'throughput' : 'throughput (first pass)',
    durable: false,
    order: WITH_YARDSTICK,
    rows: [
      produce('produce-1k', 'Produce 1 KiB records, 8 partitions', 'p1k', 8, 1024, n1k),
      consume('consume-1k', 'Consume 1 KiB records, 8 partitions', 'p1k', 8, 1024, n1k),
      javaConsume('consume-1k-java', 'Consume 1 KiB records, 8 partitions (Java consumer, group)', 'p1k'),
      kcatProduceRow(
        'produce-1k-kcat',
        'Produce 1 KiB records, 8 partitions (librdkafka)',
        'p1k-kcat',
        1024,
        files.kcat1k,
        files.kcatRecords,
      ),
      goProduceRow('produce-1k-go', 'Produce 1 KiB records, 8 partitions (franz-go)', 'p1k-go', 1024, n1k),
      goConsumeRow('consume-1k-go', 'Consume 1 KiB records, 8 partitions (franz-go)', 'p1k', 1024, n1k),
      produce('produce-100b', 'Produce 100-byte records, 8 partitions', 'p100', 8, 100, n100),
      consume('consume-100b', 'Consume 100-byte records, 8 partitions', 'p100', 8, 100, n100),
      kcatProduceRow(
        'produce-100b-kcat',
        'Produce 100-byte records, 8 partitions (librdkafka)',
        'p100-kcat',
        100,
        files.kcat100,
        files.kcat100Records,
      ),
      goProduceRow('produce-100b-go', 'Produce 100-byte records, 8 partitions (franz-go)', 'p100-go', 100, n100),
      goConsumeRow('consume-100b-go', 'Consume 100-byte records, 8 partitions (franz-go)', 'p100', 100, n100),
      produce('produce-lz4', 'Produce 1 KiB records, lz4, 8 partitions', 'plz4', 8, 1024, nlz4, 'lz4'),
      consume('consume-lz4', 'Consume 1 KiB records, lz4, 8 partitions', 'plz4', 8, 1024, nlz4, 'lz4'),
      kcatProduceRow(
        'produce-lz4-kcat',
        'Produce 1 KiB records, lz4, 8 partitions (librdkafka)',
        'plz4-kcat',
        1024,
        files.kcat1k,
        files.kcatRecords,
        'lz4',
      ),
      goProduceRow('produce-lz4-go', 'Produce 1 KiB records, lz4, 8 partitions (franz-go)', 'plz4-go', 1024, nlz4, 'lz4'),
      goConsumeRow('consume-lz4-go', 'Consume 1 KiB records, lz4, 8 partitions (franz-go)', 'plz4', 1024, nlz4, 'lz4'),
    ],
  };
  const sessions: Session[] = [
    throughput,
    {
      name: 'latency',
      label: 'latency',
      durable: false,
      order: BROKERS,
      rows: [
        {
          id: 'latency-1k',
          title: 'Fixed rate, 1 KiB records, 8 partitions: latency',
          kind: 'latency',
          client: 'LatencyBench (Java client)',
          partitions: 8,
          recordSize: 1024,
          compression: 'none',
          records: 0,
          createTopic: 'lat',
          runs: 1,
          exec: (ctx) =>
            latencyBench({
              address: ctx.broker.address,
              topic: 'lat',
              rate: fixedRate(ctx.rows),
              recordSize: 1024,
              seconds: Math.max(3, Math.round((quick ? 10 : 60) * Math.min(1, scale))),
              warmupSeconds: quick ? 2 : 5,
              timeoutMs: 5 * 60_000,
            }),
        },
      ],
    },
    {
      name: 'partitions-1000',
      label: 'partitions-1000',
      durable: false,
      order: WITH_YARDSTICK,
      rows: [
        produce('produce-1k-p1000', 'Produce 1 KiB records, 1 000 partitions', 'p1000', 1000, 1024, n1000),
        consume('consume-1k-p1000', 'Consume 1 KiB records, 1 000 partitions', 'p1000', 1000, 1024, n1000),
      ],
    },
  ];
  if (!quick) {
    sessions.push({
      name: 'partitions-10000',
      label: 'partitions-10000',
      durable: false,
      order: WITH_YARDSTICK,
      rows: [
        produce('produce-1k-p10000', 'Produce 1 KiB records, 10 000 partitions', 'p10000', 10000, 1024, n10000),
        consume('consume-1k-p10000', 'Consume 1 KiB records, 10 000 partitions', 'p10000', 10000, 1024, n10000),
      ],
    });
    // The same partition count with librdkafka: ProducerPerformance's own cost per record grows 4x
    // at 10 000 partitions (docs/perf/many-partitions.md), so this row shows more of the brokers' flatness. A
    // session of its own: a second 10 000-partition topic would need more descriptors than this
    // machine's 20 000 (each partition's open segment holds one, on both brokers).
    sessions.push({
      name: 'partitions-10000-kcat',
      label: 'partitions-10000-kcat',
      durable: false,
      order: WITH_YARDSTICK,
      rows: [
        kcatProduceRow(
          'produce-1k-p10000-kcat',
          'Produce 1 KiB records, 10 000 partitions (librdkafka, each record to a random partition)',
          'p10000-kcat',
          1024,
          files.kcat1kP10000,
          n.kcat10000,
          'none',
          10000,
        ),
      ],
    });
  }
  sessions.push({
    name: 'durable',
    label: 'durable',
    durable: true,
    order: BROKERS,
    rows: [
      {
        ...produce(
          'produce-1k-durable',
          'Durable produce, 1 KiB records, 8 partitions (franz fsync before ack; Kafka flush.messages=1)',
          'pdur',
          8,
          1024,
          ndur,
        ),
        runs: 1,
      }, // 3.3-3.8x in every full run so far
      consume('consume-1k-durable', 'Durable mode consume, 1 KiB records, 8 partitions', 'pdur', 8, 1024, ndur),
    ],
  });
  // What a user who starts each broker as it comes and runs a producer sees: franz acknowledges
  // only what is on disk (its default), Kafka from the page cache (its default).
  sessions.push({
    name: 'defaults',
    label: 'defaults (out of the box)',
    durable: true,
    defaults: true,
    order: BROKERS,
    rows: [
      produce('produce-1k-defaults', 'Out of the box: produce 1 KiB records, 8 partitions', 'd1k', 8, 1024, n1k),
      kcatProduceRow(
        'produce-1k-kcat-defaults',
        'Out of the box: produce 1 KiB records, 8 partitions (librdkafka)',
        'd1k-kcat',
        1024,
        files.kcat1k,
        files.kcatRecords,
      ),
      goProduceRow('produce-1k-go-defaults', 'Out of the box: produce 1 KiB records, 8 partitions (franz-go)', 'd1k-go', 1024, n1k),
      produce('produce-100b-defaults', 'Out of the box: produce 100-byte records, 8 partitions', 'd100', 8, 100, n100),
      kcatProduceRow(
        'produce-100b-kcat-defaults',
        'Out of the box: produce 100-byte records, 8 partitions (librdkafka)',
        'd100-kcat',
        100,
        files.kcat100,
        files.kcat100Records,
      ),
      goProduceRow('produce-100b-go-defaults', 'Out of the box: produce 100-byte records, 8 partitions (franz-go)', 'd100-go', 100, n100),
      produce('produce-1k-p1000-defaults', 'Out of the box: produce 1 KiB records, 1 000 partitions', 'd1000', 1000, 1024, n1000),
    ],
  });
  // A transactional producer committing every 100 ms (ProducerPerformance --transaction-duration-ms):
  // each commit is an EndTxn answered once the markers of all 8 partitions are written. Then
  // TxnBench: transactions of 80 records (10 a partition) back to back, and how long each
  // commitTransaction() takes (both brokers finalize transaction.version 2, which the Java client
  // uses: partitions added by Produce v12, EndTxn v5).
  sessions.push({
    name: 'transactions',
    label: 'transactions',
    durable: false,
    order: BROKERS,
    rows: [
      produce(
        'produce-1k-txn',
        'Transactional produce, 1 KiB records, 8 partitions, a commit every 100 ms',
        'ptxn',
        8,
        1024,
        n1k,
        'none',
        100,
      ),
      {
        id: 'latency-txn-commit',
        title: 'Transactions of 80 x 1 KiB records, 8 partitions, back to back: commit latency (ack columns)',
        kind: 'latency',
        client: 'TxnBench (Java client)',
        partitions: 8,
        recordSize: 1024,
        compression: 'none',
        records: 0,
        createTopic: 'txnlat',
        runs: 1,
        exec: (ctx) =>
          txnBench({
            address: ctx.broker.address,
            topic: 'txnlat',
            recordsPerTxn: 80,
            recordSize: 1024,
            seconds: Math.max(3, Math.round((quick ? 10 : 30) * Math.min(1, scale))),
            warmupSeconds: quick ? 2 : 5,
            timeoutMs: 5 * 60_000,
          }),
      },
    ],
  });
  // Delayed delivery (franz only: Kafka has no delay queue): records asking for a 2 s delay at
  // 1 000 a second, and how late each is delivered (its delivery time minus its due time).
  sessions.push({
    name: 'delay',
    label: 'delay',
    durable: false,
    order: ['franz'],
    rows: [
      {
        id: 'latency-delay',
        title: 'Delayed delivery, 1 KiB records at 1 000/s, 2 s delay, 8 partitions: delivery lag (ack columns)',
        kind: 'latency',
        client: 'DelayBench (Java client)',
        partitions: 8,
        recordSize: 1024,
        compression: 'none',
        records: 0,
        createTopic: 'delayed',
        runs: 1,
        exec: (ctx) =>
          delayBench({
            address: ctx.broker.address,
            topic: 'delayed',
            rate: 1000,
            seconds: Math.max(5, Math.round((quick ? 10 : 30) * Math.min(1, scale))),
            delayMs: 2000,
            recordSize: 1024,
            timeoutMs: 5 * 60_000,
          }),
      },
    ],
  });
  // Message trace (franz.trace.enable, franz only; Kafka has none): the same rows into a topic
  // that is not traced and one that is (sampling 1.0: an event per produced batch, per partition
  // of each fetch answer, per commit), back to back on one broker process. franz's two rows give
  // trace's cost; Kafka runs both rows too (its topic configs without franz's keys), so its pair
  // shows how much two identical rows differ on this machine. The traced consume row's detail
  // says how large __franz_trace grew against the data.
  sessions.push({
    name: 'trace',
    label: 'trace',
    durable: false,
    order: BROKERS,
    rows: [
      // In the order untraced, traced, traced, untraced (three runs each): the machine drifts within
      // a session (docs/perf/message-trace.md), and this order gives both the same mean position.
      ...(['off', 'on', 'on-2', 'off-2'] as const).map((which) => {
        const on = which.startsWith('on');
        const row = produce(
          `produce-1k-trace-${which}`,
          `Trace session: produce 1 KiB records, 8 partitions, topic ${on ? 'traced (sampling 1.0)' : 'not traced'}${which.endsWith('-2') ? ', again' : ''}`,
          `ptr${which.replace('-', '')}`,
          8,
          1024,
          n1k,
        );
        return on ? { ...row, topicConfigs: { 'franz.trace.enable': 'true' }, runs: 3 } : { ...row, runs: 3 };
      }),
      javaConsume(
        'consume-1k-java-trace-off',
        'Trace session: consume 1 KiB records, 8 partitions (Java consumer, group), not traced',
        'ptroff',
      ),
      javaConsume(
        'consume-1k-java-trace-on',
        'Trace session: consume 1 KiB records, 8 partitions (Java consumer, group), traced',
        'ptron',
        (ctx) => traceStorage(ctx.broker.dataDir, 'ptron'),
      ),
    ],
  });
  // The HTTP listener (franz only; Kafka has no HTTP): REST v3 streamed produce (curl sending JSON
  // records, one object per line, each value kcat's line as a STRING) against kcat on the Kafka
  // listener in the same session; and kcat's produce with and without 100 WebSocket subscribers of
  // another topic, each receiving 10 or 100 records a second POSTed over REST
  // (bench/ws-subscribers.ts, a process of its own on the same two cores), in the order none, 10,
  // 100, 100, 10, none so that the machine's drift through a session falls on each alike.
  const wsRow = (rate: 0 | 10 | 100, again: boolean): RowSpec => {
    const row = kcatProduceRow(
      `produce-1k-kcat-ws-${rate === 0 ? 'off' : rate}${again ? '-2' : ''}`,
      `HTTP session: produce 1 KiB records, 8 partitions (librdkafka), ${rate === 0 ? 'no WebSocket subscribers' : `100 WebSocket subscribers receiving ${rate} records/s each`}${again ? ', again' : ''}`,
      `pws${rate}${again ? 'b' : 'a'}`,
      1024,
      files.kcat1k,
      files.kcatRecords,
    );
    return rate === 0
      ? { ...row, runs: 2 }
      : { ...row, runs: 2, exec: (ctx, topic) => withSubscribers(ctx, 100, rate, () => row.exec(ctx, topic)) };
  };
  sessions.push({
    name: 'http',
    label: 'http',
    durable: false,
    order: ['franz'],
    settings: { 'franz.http.listeners': '127.0.0.1:0' },
    rows: [
      {
        ...kcatProduceRow(
          'produce-1k-kcat-rest-base',
          'HTTP session: produce 1 KiB records, 8 partitions (librdkafka, the Kafka listener)',
          'prestk',
          1024,
          files.kcat1k,
          files.kcatRecords,
        ),
        runs: 2,
      },
      {
        id: 'produce-1k-rest-v3',
        title: 'HTTP session: produce 1 KiB records, 8 partitions, REST v3 streamed (one JSON object per line)',
        kind: 'produce',
        client: 'curl -T (REST v3)',
        partitions: 8,
        recordSize: 1024,
        compression: 'none',
        records: files.kcatRecords,
        createTopic: 'prest',
        runs: 2,
        exec: (ctx, topic) =>
          curlRestProduce({
            http: ctx.broker.httpAddress ?? '',
            topic,
            file: files.json1k,
            records: files.kcatRecords,
            recordSize: 1024,
            timeoutMs: timeoutFor(files.kcatRecords * 1024),
          }),
      },
      wsRow(0, false),
      wsRow(10, false),
      wsRow(100, false),
      wsRow(100, true),
      wsRow(10, true),
      wsRow(0, true),
    ],
  });
  // Broker-side compression: an uncompressed producer into a topic whose compression.type is zstd,
  // so each broker recompresses every batch (franz on its worker threads, Kafka on its request
  // handler threads) before appending. A probe meanwhile produces one small record every 20 ms to
  // another topic on its own connection: its acknowledgement times say whether the broker kept
  // answering other requests while it compressed (the detail column has them).
  const zstdRow = produce(
    'produce-1k-zstd-topic',
    'Produce 1 KiB records uncompressed into a compression.type=zstd topic, 8 partitions',
    'pzstd',
    8,
    1024,
    n1k,
  );
  sessions.push({
    name: 'compression',
    label: 'compression (zstd topic)',
    durable: false,
    order: BROKERS,
    rows: [
      {
        ...zstdRow,
        topicConfigs: { 'compression.type': 'zstd' },
        exec: (ctx, topic) => withProbe(ctx, () => zstdRow.exec(ctx, topic)),
      },
    ],
  });
  // The log cleaner: 1 GiB of 1 KiB records over CLEAN_KEYS keys is written to a topic with
  // cleanup.policy=delete (so nothing cleans while it is written), then the topic is switched to
  // compact with min.cleanable.dirty.ratio=0.01 and the row times how long the broker takes to
  // bring its segments below a fifth of their size. Both brokers check for dirty logs every
  // second (log.cleaner.backoff.ms) and clean with one thread and their 128 MiB default key maps.
  sessions.push({
    name: 'cleaner',
    label: 'cleaner (1 GiB compacted)',
    durable: false,
    order: BROKERS,
    settings: { 'log.cleaner.backoff.ms': '1000' },
    rows: [
      {
        id: 'clean-1k',
        title: `Log cleaner: compact 1 KiB records over ${CLEAN_KEYS} keys, 1 partition (MiB of log cleaned per second)`,
        kind: 'consume',
        client: "kcat -P -K, then the broker's cleaner",
        partitions: 1,
        recordSize: 1024,
        compression: 'none',
        records: n.nclean,
        createTopic: 'pclean',
        topicConfigs: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'segment.bytes': String(32 * 1024 * 1024) },
        runs: 1,
        exec: (ctx, topic) => timeClean(ctx, topic, files.keyed, n.nclean),
      },
    ],
  });
  // Three brokers each, replication factor 3 and min.insync.replicas=2, acks=all: franz on etcd
  // against Kafka with one combined KRaft controller, neither fsyncing before the ack (Kafka's
  // default), with CPU and RSS summed over every process of the cluster.
  sessions.push({
    name: 'cluster',
    label: 'cluster (3 brokers, RF 3)',
    durable: false,
    brokers: 3,
    order: BROKERS,
    rows: [
      {
        ...produce('produce-1k-cluster', 'Cluster: produce 1 KiB records, 8 partitions, RF 3, acks=all', 'pclu', 8, 1024, ncluster),
        runs: 1,
      },
      {
        ...goProduceRow(
          'produce-1k-go-cluster',
          'Cluster: produce 1 KiB records, 8 partitions, RF 3, acks=all (franz-go)',
          'pclu-go',
          1024,
          ncluster,
        ),
        runs: 1,
      },
      consume('consume-1k-cluster', 'Cluster: consume 1 KiB records, 8 partitions, RF 3', 'pclu', 8, 1024, ncluster),
    ],
  });
  // The throughput rows again, the brokers in the other order (franz, Kafka, ..., Kafka, franz):
  // this machine has slow spells minutes long (docs/perf/machine-noise.md), and one that covered one broker's
  // only session decided every row of it. Each row's median is over both passes.
  if (!quick) sessions.push({ ...throughput, label: 'throughput (second pass)', order: [...BROKERS].reverse() });
  return sessions;
}

/**
 * Runs `work` while a probe produces a 10-byte record every 20 ms (acks=1) to a topic of its own
 * over its own connection; adds the probe's acknowledgement times (p50, p99, max) to the detail.
 */
async function withProbe(ctx: Ctx, work: () => Promise<ClientResult>): Promise<ClientResult> {
  const topic = `probe-${Date.now()}`;
  await createTopic(ctx.client, topic, 1, ctx.replicas);
  const probe = new Client({ brokers: [ctx.broker.address], requestTimeoutMs: 60_000, retries: 0 });
  const latencies: number[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const start = performance.now();
      await probe.produce(topic, new Map([[0, [{ value: 'probe-0123' }]]]), { acks: 1 });
      latencies.push(performance.now() - start);
      await sleep(20);
    }
  })();
  let result: ClientResult;
  try {
    result = await work();
  } finally {
    stop = true;
    await loop.catch(() => undefined);
    await probe.close();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const probeText = `probe of ${sorted.length} small produces meanwhile: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? Number.NaN).toFixed(1)} ms`;
  return { ...result, detail: `${result.detail}; ${probeText}` };
}

/** Keys of the cleaner row's records: what survives a clean is about this many KiB (and the active segment). */
const CLEAN_KEYS = 10_000;

/** The cleaner row (see its session): writes the keyed records, switches the topic to compact, times the clean. */
async function timeClean(ctx: Ctx, topic: string, file: string, records: number): Promise<ClientResult> {
  await kcatProduce({
    address: ctx.broker.address,
    topic,
    records,
    recordSize: 1024,
    payloadFile: file,
    file,
    keyDelimiter: ':',
    timeoutMs: timeoutFor(records * 1024),
  });
  const dirName = `${topic}-0`;
  const before = partitionLogBytes(ctx.broker.dataDir, dirName);
  const start = performance.now();
  await ctx.client.incrementalAlterConfigs(ResourceType.TOPIC, topic, [
    { op: 'set', name: 'cleanup.policy', value: 'compact' },
    { op: 'set', name: 'min.cleanable.dirty.ratio', value: '0.01' },
  ]);
  const deadline = Date.now() + 10 * 60_000;
  let now = before;
  // The segments shrink only when a clean swaps its output in: watched on disk, as a user would.
  while (now > before / 5) {
    if (Date.now() > deadline) throw new ClientFailure(`the cleaner left ${now} of ${before} bytes after 10 minutes`);
    await sleep(100);
    now = partitionLogBytes(ctx.broker.dataDir, dirName);
  }
  const seconds = (performance.now() - start) / 1000;
  const mib = before / (1024 * 1024);
  return {
    records,
    bytes: before,
    seconds,
    recordsPerSec: records / seconds,
    mibPerSec: mib / seconds,
    detail: `compacted ${mib.toFixed(0)} MiB to ${(now / (1024 * 1024)).toFixed(1)} MiB in ${seconds.toFixed(2)} s (from the switch to compact, including up to one log.cleaner.backoff.ms)`,
  };
}

/** About what a session writes (its produce rows and the warm-up), at least 2 GiB (latency rows). */
function sessionBytes(s: Session, warmupRecords: number): number {
  const produced = s.rows.reduce((sum, r) => sum + (r.kind === 'produce' ? r.runs * r.records * r.recordSize : 0), warmupRecords * 1024);
  return Math.min(8 * 2 ** 30, Math.max(2 * 2 ** 30, produced * 1.25));
}

/** Half the slower broker's 1 KiB produce maximum (records/s), bounded to something sane. */
function fixedRate(rows: Map<string, E2eRow>): number {
  const r = rows.get('produce-1k');
  const rates = [r?.franz?.recordsPerSec, r?.kafka?.recordsPerSec].filter((x): x is number => typeof x === 'number' && x > 0);
  const slower = rates.length > 0 ? Math.min(...rates) : 20_000;
  return Math.max(1000, Math.round(slower / 2 / 100) * 100);
}

// ---------------------------------------------------------------------------------------------
// Running

/**
 * KRaft refuses one operation of more than 10 000 metadata records (POLICY_VIOLATION "excessively
 * large batch operation"), so big topics are made in steps of 5 000 partitions, the same way on
 * both brokers.
 */
const PARTITIONS_PER_STEP = 5000;

/** A row's topic configs for a broker: Kafka refuses keys it does not know (franz's own). */
function configsFor(name: BrokerName, configs: Record<string, string> | undefined): Record<string, string> | undefined {
  if (configs === undefined || name === 'franz') return configs;
  return Object.fromEntries(Object.entries(configs).filter(([k]) => !k.startsWith('franz.')));
}

/**
 * Runs `work` while bench/ws-subscribers.ts keeps `count` WebSocket subscribers of franz's HTTP
 * listener busy with `rate` records a second each; their tally goes into the row's detail.
 */
async function withSubscribers(ctx: Ctx, count: number, rate: number, work: () => Promise<ClientResult>): Promise<ClientResult> {
  const http = ctx.broker.httpAddress;
  if (http === undefined) throw new ClientFailure('the broker has no HTTP listener');
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'dist', 'bench', 'ws-subscribers.js'), http, 'wsfeed', String(count), String(rate)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-2000);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (what: string): Promise<Record<string, number | boolean>> => {
    const timer = sleep(30_000).then(() => null);
    const line = await Promise.race([lines.next(), timer]);
    if (line === null || line.done === true) {
      child.kill('SIGKILL');
      throw new ClientFailure(`ws-subscribers: no ${what}: ${err}`);
    }
    return JSON.parse(line.value) as Record<string, number | boolean>;
  };
  try {
    await next('ready line');
    const res = await work();
    child.stdin.end();
    const tally = await next('summary');
    return {
      ...res,
      detail: `${res.detail}; ${count} WebSocket subscribers received ${tally.received} records meanwhile (fewest ${tally.fewest}; ${tally.posted} POSTed)`,
    };
  } finally {
    child.kill('SIGKILL');
  }
}

/** The size of franz's __franz_trace against the traced topics' (those whose name starts with `traced`). */
function traceStorage(dataDir: string, traced: string): string {
  const size = (dir: string): number => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  let trace = 0;
  let data = 0;
  for (const d of readdirSync(dataDir, { withFileTypes: true })) {
    if (!d.isDirectory() || d.name === 'delay-index') continue;
    const bytes = size(join(dataDir, d.name));
    if (d.name.startsWith('__franz_trace-')) trace += bytes;
    else if (d.name.startsWith(traced)) data += bytes;
  }
  if (trace === 0) return 'no trace topic';
  return `__franz_trace ${(trace / 2 ** 20).toFixed(1)} MiB, ${((100 * trace) / data).toFixed(2)}% of the traced topics' ${(data / 2 ** 20).toFixed(0)} MiB`;
}

async function createTopic(
  client: Client,
  name: string,
  partitions: number,
  replicas = 1,
  extra: Record<string, string> = {},
): Promise<void> {
  // A replicated topic: acks=all waits for two of its three replicas at least, as Kafka users set it.
  const configs: Record<string, string> = { ...(replicas > 1 ? { 'min.insync.replicas': '2' } : {}), ...extra };
  await client.createTopics([{ name, numPartitions: Math.min(partitions, PARTITIONS_PER_STEP), replicationFactor: replicas, configs }], {
    timeoutMs: 120_000,
  });
  for (let n = PARTITIONS_PER_STEP * 2; n - PARTITIONS_PER_STEP < partitions; n += PARTITIONS_PER_STEP) {
    await client.createPartitions(name, Math.min(n, partitions), { timeoutMs: 120_000 });
  }
  const deadline = Date.now() + 180_000;
  for (;;) {
    const md = await client.metadata([name]);
    const t = md.topics.find((x) => x.name === name);
    const ready = (p: { leader: number; isr: readonly number[] }): boolean => p.leader >= 0 && p.isr.length >= replicas;
    if (t !== undefined && t.errorCode === 0 && t.partitions.length === partitions && t.partitions.every(ready)) return;
    if (Date.now() > deadline) throw new Error(`topic ${name} (${partitions} partitions) has no leaders after 180 s`);
    await sleep(250);
  }
}

/** Sum of the partitions' end offsets: what the broker holds, checked against what a client reported. */
async function endOffsets(client: Client, topic: string, partitions: number): Promise<number> {
  const ps = Array.from({ length: partitions }, (_, i) => i);
  let sum = 0;
  for (let i = 0; i < ps.length; i += 1000) {
    const answers = await client.listOffsets(topic, ps.slice(i, i + 1000), LATEST_TIMESTAMP);
    for (const a of answers.values()) sum += Number(a.offset);
  }
  return sum;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * How many times a consume row reads its topic (in each pass; the median run is reported). Three:
 * now and then kcat (librdkafka 2.0) sends its first ListOffsets 500 ms after learning the
 * partitions' leader instead of at once, against either broker (by hand: 2 of 30 reads from Kafka,
 * 2 of 62 from franz), which at 100-byte records doubles a read's time; with two reads per pass
 * such a read in each pass made the reported one (2026-12-06 02:38, consume-100b: franz 77, 113,
 * 160, 203 MiB/s). Reads are cheap next to the produce rows.
 */
const CONSUME_RUNS = 3;
/** How many times an 8-partition produce row runs in each throughput pass of a full run. */
const PRODUCE_RUNS = 2;

/** The topic of a produce row's run: the row's own for the first, a fresh one for each repeat. */
function runTopic(topic: string, run: number): string {
  return run === 0 ? topic : `${topic}-run${run + 1}`;
}

/** CPU seconds per GiB of a row's data (undefined without a reading or without data). */
function perGiB(seconds: number | undefined, bytes: number): number | undefined {
  return seconds !== undefined && bytes > 0 ? seconds / (bytes / 2 ** 30) : undefined;
}

/** One run of a row: what the client reported, and the broker's CPU seconds during it. */
interface Sample {
  res: ClientResult;
  cpu: number;
}

/** Everything measured for one row on one broker so far, over every pass of its session. */
interface Samples {
  samples: Sample[];
  /** Each pass's runs' MiB/s in the order they ran. */
  passes: number[][];
  /** Largest peak RSS (bytes) and open descriptors seen after a pass of the row. */
  rss: number;
  fds: number;
  /** False when a pass could not reset the peak RSS reading first. */
  peakReset: boolean;
  errors: string[];
}

type Measured = { ok: true; samples: Sample[]; rss: number; fds: number; peakReset: boolean } | { ok: false; error: string };

async function measure(ctx: Ctx, spec: RowSpec): Promise<Measured> {
  const { broker, client } = ctx;
  if (!broker.alive()) return { ok: false, error: `broker not running: ${broker.logTail()}` };
  try {
    if (spec.needsApi !== undefined) {
      const conn = await client.connection();
      if (!spec.needsApi.keys.every((k) => conn.brokerRanges.has(k))) {
        return { ok: false, error: `not run: the broker does not implement ${spec.needsApi.name}` };
      }
    }
    let peakReset = true;
    // Reads are short (one to two seconds) and swing by a third between runs on this shared
    // machine, and so do the shorter produce rows: such rows run several times and keep the median.
    const samples: Sample[] = [];
    for (let run = 0; run < spec.runs; run++) {
      const topic = spec.createTopic === undefined ? '' : runTopic(spec.createTopic, run);
      if (spec.createTopic !== undefined)
        await createTopic(client, topic, spec.partitions, ctx.replicas, configsFor(broker.name, spec.topicConfigs));
      if (run === 0) peakReset = broker.pids.map(resetPeakRss).every(Boolean);
      // A cluster's CPU is every process's (brokers, and etcd or the KRaft controller with them).
      const cpu = (): number => broker.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
      const cpu0 = cpu();
      const res = await spec.exec(ctx, topic);
      samples.push({ res, cpu: cpu() - cpu0 });
      if (spec.kind === 'produce' && spec.createTopic !== undefined) {
        const held = await endOffsets(client, topic, spec.partitions);
        const exact = spec.client === 'ProducerPerformance'; // idempotent: exactly once per record
        if (exact ? held !== res.records : held < res.records) {
          throw new ClientFailure(`the broker holds ${held} records in ${topic} after ${res.records} were acknowledged`);
        }
      }
    }
    const sum = (f: (pid: number) => number): number => broker.pids.reduce((n, pid) => n + f(pid), 0);
    return { ok: true, samples, rss: sum(peakRss), fds: sum(openFds), peakReset };
  } catch (e) {
    const alive = broker.alive();
    return { ok: false, error: errorText(e) + (alive ? '' : ` [broker exited: ${broker.logTail()}]`) };
  }
}

/**
 * A row's result on one broker from all its runs: the median run by rate (the lower of the middle
 * two for an even count), with that run's CPU and latency readings. A pass that failed is named
 * in the detail when another pass has runs, and is the result when none has.
 */
function summarize(acc: Samples): BrokerMeasure {
  if (acc.samples.length === 0) return { ok: false, error: acc.errors.join('; ') };
  const runs = [...acc.samples].sort((a, b) => a.res.recordsPerSec - b.res.recordsPerSec);
  const { res, cpu } = runs[(runs.length - 1) >> 1]!;
  let detail = res.detail;
  if (runs.length > 1) detail += ` (median of ${runs.length} runs: ${runs.map((r) => r.res.mibPerSec.toFixed(0)).join(', ')} MiB/s)`;
  if (!acc.peakReset) detail += ' (peak RSS since broker start)';
  if (acc.errors.length > 0) detail += ` (a pass failed: ${acc.errors.join('; ')})`;
  return {
    ok: true,
    records: res.records,
    bytes: res.bytes,
    seconds: res.seconds,
    recordsPerSec: res.recordsPerSec,
    mibPerSec: res.mibPerSec,
    ackLatency: res.ackLatency,
    e2eLatency: res.e2eLatency,
    cpuSeconds: cpu,
    cpuSecPerGiB: perGiB(cpu, res.bytes),
    clientCpuSeconds: res.clientCpuSeconds,
    clientCpuSecPerGiB: perGiB(res.clientCpuSeconds, res.bytes),
    ...clientShares(res),
    runsMiBPerSec: runs.length > 1 ? runs.map((x) => x.res.mibPerSec) : undefined,
    passesMiBPerSec: runs.length > 1 ? acc.passes : undefined,
    peakRssMiB: acc.rss / (1024 * 1024),
    openFds: acc.fds,
    detail,
  };
}

function clientShares(res: ClientResult): Pick<BrokerMeasure, 'clientThread' | 'clientThreadBusy' | 'clientCores'> {
  const wall = res.clientWallSeconds;
  if (wall === undefined || !(wall > 0)) return {};
  const t = res.clientBusiestThread;
  return {
    clientThread: t?.name,
    clientThreadBusy: t === undefined ? undefined : t.cpuSeconds / wall,
    clientCores: res.clientCpuSeconds === undefined ? undefined : res.clientCpuSeconds / wall,
  };
}

function ratioOf(row: E2eRow): number | null {
  const f = row.franz;
  const k = row.kafka;
  if (!f?.ok || !k?.ok) return null;
  if (row.kind === 'latency') {
    const a = f.ackLatency?.p99;
    const b = k.ackLatency?.p99;
    return a !== undefined && b !== undefined && b > 0 ? a / b : null;
  }
  return f.recordsPerSec !== undefined && k.recordsPerSec ? f.recordsPerSec / k.recordsPerSec : null;
}

/** How many progress units e2e() reports. */
export function e2eUnits(quick: boolean, only: readonly string[] = []): number {
  const sessions = plan(quick, 1, {
    p1k: '',
    p100: '',
    kcat1k: '',
    kcatRecords: 0,
    kcat100: '',
    kcat100Records: 0,
    kcat1kP10000: '',
    keyed: '',
    json1k: '',
  }).filter((s) => only.length === 0 || only.includes(s.name));
  return sessions.reduce((n, s) => n + s.order.length * (1 + s.rows.length), 0) + 1;
}

export async function e2e(opts: E2eOptions): Promise<E2eResults> {
  const { progress, quick } = opts;
  const scale = opts.scale ?? 1;
  const n = counts(quick, scale);
  const base = mkdtempSync(join(tmpdir(), 'franz-bench-'));
  try {
    progress.step('e2e: writing payload files');
    const kcatRecords = n.kcat;
    const files = {
      p1k: await payloadFile(join(base, 'payload-1024.txt'), 1024, 1000, 1),
      p100: await payloadFile(join(base, 'payload-100.txt'), 100, 1000, 2),
      kcat1k: await payloadFile(join(base, 'kcat-1024.txt'), 1024, kcatRecords, 3),
      kcatRecords,
      kcat100: await payloadFile(join(base, 'kcat-100.txt'), 100, n.kcat100, 4),
      kcat100Records: n.kcat100,
      kcat1kP10000:
        !quick && (!opts.only?.length || opts.only.includes('partitions-10000-kcat'))
          ? await payloadFile(join(base, 'kcat-1024-p10000.txt'), 1024, n.kcat10000, 5)
          : '',
      keyed:
        !opts.only?.length || opts.only.includes('cleaner')
          ? await keyedFile(join(base, 'keyed-1024.txt'), 1024, n.nclean, CLEAN_KEYS, 6)
          : '',
      json1k: '',
    };
    if (!opts.only?.length || opts.only.includes('http'))
      files.json1k = await jsonRecordsFile(files.kcat1k, join(base, 'records-1024.json'));
    progress.advance(1);
    const sessions = plan(quick, scale, files).filter((s) => !opts.only?.length || opts.only.includes(s.name));
    const rows = new Map<string, E2eRow>();
    const probes: SessionProbe[] = [];
    for (const s of sessions) {
      for (const spec of s.rows) {
        rows.set(spec.id, {
          id: spec.id,
          title: spec.title,
          kind: spec.kind,
          client: spec.client,
          partitions: spec.partitions,
          recordSize: spec.recordSize,
          compression: spec.compression,
          durable: s.durable || s.defaults === true,
          records: spec.records,
          ratio: null,
          ratioOf:
            spec.kind === 'latency' ? 'p99 produce-to-ack latency (lower is better for franz)' : 'records/s (higher is better for franz)',
        });
      }
    }
    // Runs per row and broker, over both passes of the throughput session.
    const acc = new Map<string, Samples>();
    const record = (id: string, name: BrokerName, m: Measured): void => {
      const key = `${id}/${name}`;
      const a = acc.get(key) ?? { samples: [], passes: [], rss: 0, fds: 0, peakReset: true, errors: [] };
      acc.set(key, a);
      if (m.ok) {
        a.samples.push(...m.samples);
        a.passes.push(m.samples.map((x) => x.res.mibPerSec));
        a.rss = Math.max(a.rss, m.rss);
        a.fds = Math.max(a.fds, m.fds);
        a.peakReset &&= m.peakReset;
      } else a.errors.push(m.error);
      rows.get(id)![name] = summarize(a);
    };
    // With free page reporting on, the guest hands a scratch file's memory back to the host within
    // seconds of its deletion, so the write would only cost time (util.ts touchPageCache).
    const touch = !pageReportingActive();
    for (const s of sessions) {
      for (const name of s.order) {
        if (touch && name !== 'membroker') {
          progress.step(`e2e ${s.label}: touching page-cache memory before ${name}`);
          touchPageCache(base, sessionBytes(s, n.warmup));
        }
        if (name !== 'membroker') probes.push({ session: s.label, broker: name, pageCacheWriteSecPerGiB: pageCacheWriteCost(base) });
        const durable = s.defaults === true ? name === 'franz' : s.durable;
        progress.step(`e2e ${s.label}: starting ${name}${durable ? ' (durable)' : ''}`);
        const dataDir = join(base, `${name}-${s.name}`);
        mkdirSync(dataDir, { recursive: true });
        let broker: BrokerHandle | null = null;
        let client: Client | null = null;
        const done = new Set<string>();
        try {
          broker = await startBroker(name, { durable, dataDir, brokers: s.brokers, settings: s.settings });
          client = new Client({ brokers: [broker.address], requestTimeoutMs: 120_000, retries: 10 });
          progress.advance(1);
          // Warm-up: JIT for Kafka, caches for both; not measured.
          progress.step(`e2e ${s.label}: ${name} warm-up`);
          await createTopic(client, 'warmup', 8, s.brokers ?? 1);
          await producerPerformance({
            address: broker.address,
            topic: 'warmup',
            records: n.warmup,
            recordSize: 1024,
            payloadFile: files.p1k,
            timeoutMs: 180_000,
          }).catch((e: unknown) => progress.note(`warm-up on ${name} failed: ${errorText(e)}`));
          const ctx: Ctx = { broker, replicas: s.brokers ?? 1, client, dir: base, quick, rows };
          for (const spec of s.rows) {
            progress.step(`e2e ${s.label}: ${name} ${spec.id}`);
            const m = await measure(ctx, spec);
            if (!m.ok) progress.note(`${spec.id} on ${name}: ${m.error}`);
            record(spec.id, name, m);
            done.add(spec.id);
            progress.advance(1);
          }
        } catch (e) {
          const msg = errorText(e);
          progress.note(`session ${s.label} on ${name} failed: ${msg}`);
          for (const spec of s.rows) {
            if (done.has(spec.id)) continue;
            record(spec.id, name, { ok: false, error: `session ${s.label} failed: ${msg}` });
            progress.advance(1);
          }
          if (broker === null) progress.advance(1);
        } finally {
          await client?.close().catch(() => undefined);
          await broker?.stop();
          rmSync(dataDir, { recursive: true, force: true });
        }
      }
    }
    for (const row of rows.values()) row.ratio = ratioOf(row);
    return { rows: [...rows.values()], probes };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
