/**
 * The real clients that drive both brokers, and parsers for what they print:
 *  - Kafka's ProducerPerformance and ConsumerPerformance (kafka-tools 4.1.0, the Java client);
 *  - kcat (librdkafka) producing from a file and consuming to the end;
 *  - bench/go (franz-go, github.com/twmb/franz-go) producing and consuming as fast as it can;
 *  - bench/java/LatencyBench.java (the Java client with HdrHistogram) for fixed-rate latency.
 * Each run is bounded by a timeout and checked (records counted) before its numbers are used.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { goBinary, kafkaClasspath, log4jConfig } from './brokers.js';
import { REPO_ROOT, run, tail, type RunResult, type ThreadCpu } from './util.js';

export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean?: number;
}

export interface ClientResult {
  /** Records the client reports as produced / consumed. */
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  mibPerSec: number;
  /** Produce-to-ack latency (ms). */
  ackLatency?: Percentiles;
  /** Produce-to-consume latency (ms). */
  e2eLatency?: Percentiles;
  /** The tool's own summary, for the JSON results. */
  detail: string;
  /** User + system CPU seconds of the client process over its whole run (start-up included). */
  clientCpuSeconds?: number;
  /** The client's thread that used the most CPU, over the same run. */
  clientBusiestThread?: ThreadCpu;
  /** Wall seconds of the client process, start-up to exit (the span of the two CPU figures). */
  clientWallSeconds?: number;
}

/** The client-side readings of a measured run. */
function clientCpu(r: RunResult): Pick<ClientResult, 'clientCpuSeconds' | 'clientBusiestThread' | 'clientWallSeconds'> {
  return { clientCpuSeconds: r.cpuSeconds, clientBusiestThread: r.busiestThread, clientWallSeconds: r.ms / 1000 };
}

export class ClientFailure extends Error {}

const JAVA_CLIENT_OPTS = ['-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true'];

function javaArgs(): string[] {
  return [...JAVA_CLIENT_OPTS, `-Dlog4j2.configurationFile=${log4jConfig()}`, '-cp', kafkaClasspath()];
}

export interface ProduceSpec {
  address: string;
  topic: string;
  records: number;
  /** Every value has exactly this many bytes. */
  recordSize: number;
  /** Values, one per line, exactly recordSize bytes each. */
  payloadFile: string;
  compression?: 'none' | 'lz4';
  /** Records per second; -1 for as fast as possible. */
  throughput?: number;
  timeoutMs: number;
  /** ProducerPerformance in transactions of this many ms each (its --transaction-duration-ms). */
  transactionMs?: number;
}

/**
 * Kafka's ProducerPerformance with the producer's defaults (acks=all, idempotence, linger.ms=5,
 * batch.size=16384), picking values from the payload file.
 * Its last line: "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
 * P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th."
 */
export async function producerPerformance(spec: ProduceSpec): Promise<ClientResult> {
  const props = [`bootstrap.servers=${spec.address}`];
  if (spec.compression === 'lz4') props.push('compression.type=lz4');
  const r = await run(
    'java',
    [
      ...javaArgs(),
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      spec.topic,
      '--num-records',
      String(spec.records),
      '--payload-file',
      spec.payloadFile,
      '--throughput',
      String(spec.throughput ?? -1),
      ...(spec.transactionMs === undefined
        ? []
        : ['--transactional-id', `bench-${spec.topic}`, '--transaction-duration-ms', String(spec.transactionMs)]),
      '--producer-props',
      ...props,
    ],
    { measureCpu: true, timeoutMs: spec.timeoutMs },
  );
  const out = r.stdout;
  if (r.timedOut) throw new ClientFailure(`ProducerPerformance timed out after ${spec.timeoutMs / 1000} s: ${tail(out + r.stderr)}`);
  const m =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/.exec(
      out,
    );
  if (r.code !== 0 || m === null) throw new ClientFailure(`ProducerPerformance failed (exit ${r.code}): ${tail(out + r.stderr)}`);
  const records = Number(m[1]);
  const rps = Number(m[2]);
  if (records !== spec.records) {
    // Each failed send prints its exception; the first says why (a delivery timeout, say).
    const why = /^\S*(Exception|Error)\b.*$/m.exec(r.stderr + out)?.[0];
    throw new ClientFailure(
      `ProducerPerformance sent ${records} of ${spec.records} records${why === undefined ? '' : `: ${why.slice(0, 300)}`}`,
    );
  }
  return {
    ...rateResult(records, spec.recordSize, rps),
    ackLatency: { mean: Number(m[4]), max: Number(m[5]), p50: Number(m[6]), p99: Number(m[8]), p999: Number(m[9]) },
    detail: m[0],
    ...clientCpu(r),
  };
}

/** kcat producing every line of `file` (librdkafka defaults: acks=all, linger 5 ms, no idempotence). */
export async function kcatProduce(spec: ProduceSpec & { file: string; spread?: boolean; keyDelimiter?: string }): Promise<ClientResult> {
  const args = ['-P', '-b', spec.address, '-t', spec.topic, '-l', '-q'];
  // Lines `key<delimiter>value` (the cleaner row's keyed records).
  if (spec.keyDelimiter !== undefined) args.push('-K', spec.keyDelimiter);
  // librdkafka's sticky partitioner sends keyless records to one partition for 10 ms at a time,
  // which at 10 000 partitions touches only about a hundred of them in a run this short; `spread`
  // sends every record to a random partition instead.
  if (spec.spread === true) args.push('-X', 'sticky.partitioning.linger.ms=0');
  if (spec.compression === 'lz4') args.push('-z', 'lz4');
  args.push(spec.file);
  const r = await run('kcat', args, { measureCpu: true, timeoutMs: spec.timeoutMs });
  if (r.timedOut) throw new ClientFailure(`kcat -P timed out after ${spec.timeoutMs / 1000} s: ${tail(r.stderr)}`);
  if (r.code !== 0) throw new ClientFailure(`kcat -P failed (exit ${r.code}): ${tail(r.stderr)}`);
  return { ...wallTimeResult('kcat -P -l', spec.records, spec.recordSize, r.ms), ...clientCpu(r) };
}

/** The common fields of a result from a record count and rate. */
function rateResult(records: number, recordSize: number, recordsPerSec: number): Omit<ClientResult, 'detail'> {
  return {
    records,
    bytes: records * recordSize,
    seconds: records / recordsPerSec,
    recordsPerSec,
    mibPerSec: (recordsPerSec * recordSize) / (1024 * 1024),
  };
}

/** A client's rate from the wall time of its whole process (kcat has no timer of its own). */
function wallTimeResult(what: string, records: number, recordSize: number, ms: number): ClientResult {
  const seconds = ms / 1000;
  return {
    ...rateResult(records, recordSize, records / seconds),
    detail: `${what}: ${records} records in ${seconds.toFixed(2)} s (wall time of the process)`,
  };
}

export interface ConsumeSpec {
  address: string;
  topic: string;
  /** Records expected (everything in the topic). */
  records: number;
  recordSize: number;
  timeoutMs: number;
}

/**
 * kcat reading every partition from the beginning to the end (-e), printing one newline per record.
 * librdkafka only reports a partition's end after a Fetch that comes back empty, and the broker
 * holds such a Fetch for fetch.wait.max.ms (500 ms by default) before answering: that wait, and a
 * long-polling Fetch holding up the answers queued behind it on the connection (ListOffsets at
 * 1 000 partitions), would be client timers counted as reading time. Both brokers are read with
 * a 10 ms wait; while data is there a Fetch is answered at once whatever the setting.
 */
export async function kcatConsume(spec: ConsumeSpec): Promise<ClientResult> {
  const r = await run(
    'kcat',
    ['-C', '-b', spec.address, '-t', spec.topic, '-X', 'fetch.wait.max.ms=10', '-o', 'beginning', '-e', '-q', '-f', '\\n'],
    { measureCpu: true, timeoutMs: spec.timeoutMs, keepStdout: 0 },
  );
  if (r.timedOut)
    throw new ClientFailure(`kcat -C timed out after ${spec.timeoutMs / 1000} s (${r.stdoutBytes} records read): ${tail(r.stderr)}`);
  if (r.code !== 0) throw new ClientFailure(`kcat -C failed (exit ${r.code}): ${tail(r.stderr)}`);
  if (r.stdoutBytes !== spec.records) throw new ClientFailure(`kcat -C read ${r.stdoutBytes} records, expected ${spec.records}`);
  return { ...wallTimeResult('kcat -C -e', spec.records, spec.recordSize, r.ms), ...clientCpu(r) };
}

/**
 * Kafka's ConsumerPerformance (KafkaConsumer.subscribe: needs consumer groups on the broker).
 * Prints a header and one CSV line: start.time, end.time, data.consumed.in.MB, MB.sec,
 * data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
 */
export async function consumerPerformance(spec: ConsumeSpec): Promise<ClientResult> {
  const r = await run(
    'java',
    [
      ...javaArgs(),
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      spec.address,
      '--topic',
      spec.topic,
      '--messages',
      String(spec.records),
      '--timeout',
      '15000',
      '--group',
      `franz-bench-${Date.now()}`,
    ],
    { measureCpu: true, timeoutMs: spec.timeoutMs },
  );
  if (r.timedOut) throw new ClientFailure(`ConsumerPerformance timed out after ${spec.timeoutMs / 1000} s: ${tail(r.stdout + r.stderr)}`);
  const line = r.stdout.split('\n').find((l) => /^\d{4}-\d\d-\d\d .*,/.test(l));
  const f = line?.split(',').map((s) => s.trim());
  if (r.code !== 0 || f === undefined || f.length < 10) {
    throw new ClientFailure(`ConsumerPerformance failed (exit ${r.code}): ${tail(r.stdout + r.stderr)}`);
  }
  const records = Number(f[4]);
  if (records < spec.records)
    throw new ClientFailure(`ConsumerPerformance read ${records} of ${spec.records} records: ${tail(r.stdout + r.stderr)}`);
  const rps = Number(f[5]);
  return { ...rateResult(records, spec.recordSize, rps), detail: `ConsumerPerformance: ${line}`, ...clientCpu(r) };
}

export interface LatencySpec {
  address: string;
  topic: string;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  recordSize: number;
  timeoutMs: number;
}

interface LatencyJson {
  sent: number;
  acked: number;
  errors: number;
  received: number;
  achievedRate: number;
  ack: Percentiles | null;
  e2e: Percentiles | null;
}

/**
 * Runs one of bench/java's single-file tools (the Java client from the Kafka download) and
 * returns the one JSON line it prints, parsed, with the run (for its CPU times).
 */
async function javaTool<T>(file: string, args: string[], timeoutMs: number): Promise<{ j: T; line: string; r: RunResult }> {
  const name = file.replace(/\.java$/, '');
  const r = await run('java', [...javaArgs(), join(REPO_ROOT, 'bench', 'java', file), ...args], { measureCpu: true, timeoutMs });
  if (r.timedOut) throw new ClientFailure(`${name} timed out after ${timeoutMs / 1000} s: ${tail(r.stdout + r.stderr)}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || line === undefined) throw new ClientFailure(`${name} failed (exit ${r.code}): ${tail(r.stdout + r.stderr)}`);
  return { j: JSON.parse(line) as T, line, r };
}

/** bench/java/LatencyBench.java: fixed-rate produce with produce-to-ack and end-to-end HdrHistograms. */
export async function latencyBench(spec: LatencySpec): Promise<ClientResult> {
  const { j, line, r } = await javaTool<LatencyJson>(
    'LatencyBench.java',
    [spec.address, spec.topic, String(spec.rate), String(spec.seconds), String(spec.warmupSeconds), String(spec.recordSize)],
    spec.timeoutMs,
  );
  if (j.errors > 0 || j.acked !== j.sent) throw new ClientFailure(`LatencyBench: ${j.acked} of ${j.sent} acked, ${j.errors} errors`);
  if (j.received < j.acked) throw new ClientFailure(`LatencyBench: consumer saw ${j.received} of ${j.acked} records`);
  const seconds = spec.seconds + spec.warmupSeconds;
  return {
    records: j.acked,
    bytes: j.acked * spec.recordSize,
    seconds,
    recordsPerSec: j.achievedRate,
    mibPerSec: (j.achievedRate * spec.recordSize) / (1024 * 1024),
    ackLatency: j.ack ?? undefined,
    e2eLatency: j.e2e ?? undefined,
    detail: line,
    ...clientCpu(r),
  };
}

export interface TxnBenchSpec {
  address: string;
  topic: string;
  /** Records in each transaction, spread evenly over the topic's partitions. */
  recordsPerTxn: number;
  recordSize: number;
  seconds: number;
  warmupSeconds: number;
  timeoutMs: number;
}

interface TxnBenchJson {
  transactions: number;
  records: number;
  measuredRecords: number;
  measuredSeconds: number;
  commit: Percentiles | null;
}

/**
 * bench/java/TxnBench.java: back-to-back transactions of a transactional Java producer; the
 * commitTransaction() times come back as `ackLatency` (a latency row's table shows them).
 */
export async function txnBench(spec: TxnBenchSpec): Promise<ClientResult> {
  const { j, line, r } = await javaTool<TxnBenchJson>(
    'TxnBench.java',
    [spec.address, spec.topic, String(spec.recordsPerTxn), String(spec.seconds), String(spec.warmupSeconds), String(spec.recordSize)],
    spec.timeoutMs,
  );
  if (j.commit === null || j.measuredSeconds <= 0) throw new ClientFailure(`TxnBench measured no commit: ${line}`);
  const recordsPerSec = j.measuredRecords / j.measuredSeconds;
  return {
    records: j.records,
    bytes: j.records * spec.recordSize,
    seconds: spec.seconds + spec.warmupSeconds,
    recordsPerSec,
    mibPerSec: (recordsPerSec * spec.recordSize) / (1024 * 1024),
    ackLatency: j.commit,
    detail: line,
    ...clientCpu(r),
  };
}

export interface DelayBenchSpec {
  address: string;
  topic: string;
  rate: number;
  seconds: number;
  delayMs: number;
  recordSize: number;
  timeoutMs: number;
}

interface DelayBenchJson {
  sent: number;
  acked: number;
  errors: number;
  received: number;
  scheduledPerSec: number;
  deliveredPerSec: number;
  lag: Percentiles | null;
}

/**
 * bench/java/DelayBench.java: records with a franz-delay-ms header at a fixed rate, read back as
 * they are delivered. The delivery lag (delivered minus due) comes back as `ackLatency`.
 */
export async function delayBench(spec: DelayBenchSpec): Promise<ClientResult> {
  const { j, line, r } = await javaTool<DelayBenchJson>(
    'DelayBench.java',
    [spec.address, spec.topic, String(spec.rate), String(spec.seconds), String(spec.delayMs), String(spec.recordSize)],
    spec.timeoutMs,
  );
  if (j.errors > 0 || j.acked !== j.sent) throw new ClientFailure(`DelayBench: ${j.acked} of ${j.sent} acked, ${j.errors} errors`);
  if (j.received !== j.acked) throw new ClientFailure(`DelayBench: ${j.received} of ${j.acked} delayed records delivered`);
  return {
    records: j.received,
    bytes: j.received * spec.recordSize,
    seconds: spec.seconds + spec.delayMs / 1000,
    recordsPerSec: j.deliveredPerSec,
    mibPerSec: (j.deliveredPerSec * spec.recordSize) / (1024 * 1024),
    ackLatency: j.lag ?? undefined,
    detail: line,
    ...clientCpu(r),
  };
}

interface FranzGoJson {
  records: number;
  bytes: number;
  seconds: number;
}

async function franzGo(what: string, args: string[], records: number, recordSize: number, timeoutMs: number): Promise<ClientResult> {
  const r = await run(goBinary('go'), [...args, '-n', String(records), '-timeout', `${Math.ceil(timeoutMs / 1000) + 5}s`], {
    measureCpu: true,
    timeoutMs: timeoutMs + 10_000,
  });
  if (r.timedOut) throw new ClientFailure(`${what} timed out after ${timeoutMs / 1000} s: ${tail(r.stderr)}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || line === undefined) throw new ClientFailure(`${what} failed (exit ${r.code}): ${tail(r.stdout + r.stderr)}`);
  const j = JSON.parse(line) as FranzGoJson;
  if (j.records !== records || j.bytes !== records * recordSize) {
    throw new ClientFailure(`${what}: ${j.records} records of ${j.bytes} bytes, expected ${records} of ${records * recordSize}`);
  }
  return {
    ...rateResult(records, recordSize, records / j.seconds),
    detail: `${what}: ${line}`,
    ...clientCpu(r),
  };
}

/**
 * franz-go producing `records` values from the payload file's lines in turn: kgo's defaults
 * (acks=all, idempotence, linger 10 ms, sticky partitioning), compression none or lz4.
 */
export function franzGoProduce(spec: ProduceSpec): Promise<ClientResult> {
  return franzGo(
    'franz-go produce',
    ['-mode', 'produce', '-b', spec.address, '-t', spec.topic, '-f', spec.payloadFile, '-z', spec.compression ?? 'none'],
    spec.records,
    spec.recordSize,
    spec.timeoutMs,
  );
}

/** franz-go reading every partition from the start (no group) until it has every record. */
export function franzGoConsume(spec: ConsumeSpec): Promise<ClientResult> {
  return franzGo(
    'franz-go consume',
    ['-mode', 'consume', '-b', spec.address, '-t', spec.topic],
    spec.records,
    spec.recordSize,
    spec.timeoutMs,
  );
}

export interface RestProduceSpec {
  /** franz's HTTP listener, HOST:PORT. */
  http: string;
  topic: string;
  /** One JSON record object per line (REST v3 produce shape). */
  file: string;
  records: number;
  recordSize: number;
  timeoutMs: number;
}

/**
 * curl streaming a file of JSON records to franz's REST v3 produce (`POST .../records`, `-T`: the
 * body is sent as it is read, not loaded first), one answer line per record back; every answer
 * must be a success. Rate from the process's wall time, as kcat's.
 */
export async function curlRestProduce(spec: RestProduceSpec): Promise<ClientResult> {
  const clusters = (await (await fetch(`http://${spec.http}/v3/clusters`)).json()) as { data: Array<{ cluster_id: string }> };
  const url = `http://${spec.http}/v3/clusters/${clusters.data[0]!.cluster_id}/topics/${spec.topic}/records`;
  const out = `${spec.file}.answers`;
  const args = ['-sS', '-X', 'POST', '-H', 'content-type: application/json', '-H', 'Expect:', '-T', spec.file, '-o', out, url];
  const r = await run('curl', args, { measureCpu: true, timeoutMs: spec.timeoutMs });
  if (r.timedOut) throw new ClientFailure(`curl timed out after ${spec.timeoutMs / 1000} s: ${tail(r.stderr)}`);
  if (r.code !== 0) throw new ClientFailure(`curl failed (exit ${r.code}): ${tail(r.stderr)}`);
  const answers = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  rmSync(out, { force: true });
  const ok = answers.filter((l) => l.startsWith('{"error_code":200,')).length;
  if (ok !== spec.records)
    throw new ClientFailure(
      `curl: ${ok} of ${spec.records} records acknowledged: ${answers.find((l) => !l.startsWith('{"error_code":200,'))?.slice(0, 200)}`,
    );
  return { ...wallTimeResult('curl -T (REST v3 streamed produce)', spec.records, spec.recordSize, r.ms), ...clientCpu(r) };
}
