/**
 * The two brokers under test, started the same way: a fresh data directory on the same disk,
 * 127.0.0.1 only, one at a time; and the bench's yardstick beside them.
 *
 *  - franz: `node dist/src/cli/bin.cjs start`, ready when it prints its ready line.
 *  - Apache Kafka 4.1.0, KRaft single node (broker + controller in one JVM). Its jars come from
 *    Maven Central at bench time (`mvn dependency:copy-dependencies` on a generated pom in a cache
 *    directory, never in the repository); ready when Metadata lists the broker.
 *  - membroker (bench/membroker, Go): keeps records in memory and answers, nothing more. Not a
 *    broker under test: what a client reaches against it is what no broker doing a broker's job
 *    could be expected to beat on this machine (the report's "in-memory broker" figures).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '../src/client/client.js';
import { REPO_ROOT, run, sleep, tail } from './util.js';

export const KAFKA_VERSION = '4.1.0';
/** The JVM heap given to the Kafka broker (fixed, as Kafka's own scripts do with KAFKA_HEAP_OPTS). */
export const KAFKA_HEAP = '1G';
/** The JVM options of Kafka's kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS). */
const KAFKA_JVM_OPTS = [
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];

export type BrokerName = 'franz' | 'kafka' | 'membroker';

export interface BrokerHandle {
  readonly name: BrokerName;
  readonly pid: number;
  /** Every process of the broker (a cluster: each broker, and etcd or the KRaft controller with them). */
  readonly pids: readonly number[];
  readonly address: string;
  /** HOST:PORT of franz's HTTP listener, when its settings open one (franz.http.listeners). */
  readonly httpAddress?: string;
  readonly dataDir: string;
  /** Last lines the broker wrote to stderr (for error messages). */
  logTail(): string;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface BrokerOptions {
  /** fsync before ack (franz default) / flush every message (Kafka log.flush.interval.messages=1). */
  durable: boolean;
  dataDir: string;
  /** Brokers in a cluster (franz on etcd, Kafka with one combined KRaft controller); 1 by default. */
  brokers?: number;
  /** Broker configs set the same way on both brokers (a single node; Kafka's key names). */
  settings?: Readonly<Record<string, string>>;
}

/** A free TCP port on 127.0.0.1 (bound and released; a small race that is fine here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

class ChildBroker implements BrokerHandle {
  private exited = false;
  private readonly exit: Promise<void>;
  private err = '';

  /** HOST:PORT, known once the broker is ready. */
  address = '';
  httpAddress?: string;

  constructor(
    readonly name: BrokerName,
    private readonly child: ChildProcess,
    readonly dataDir: string,
  ) {
    this.exit = new Promise((resolve) =>
      child.once('exit', () => {
        this.exited = true;
        resolve();
      }),
    );
    child.stderr?.on('data', (d: Buffer) => {
      this.err = (this.err + d.toString()).slice(-8192);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get pids(): readonly number[] {
    return [this.pid];
  }

  logTail(): string {
    return tail(this.err, 600);
  }

  alive(): boolean {
    return !this.exited;
  }

  exitPromise(): Promise<void> {
    return this.exit;
  }

  async stop(graceMs = 30_000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const killed = await Promise.race([this.exit.then(() => false), sleep(graceMs).then(() => true)]);
    if (killed && !this.exited) {
      this.child.kill('SIGKILL');
      await Promise.race([this.exit, sleep(10_000)]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// franz

export async function startFranz(opts: BrokerOptions): Promise<BrokerHandle> {
  mkdirSync(opts.dataDir, { recursive: true });
  const main = join(REPO_ROOT, 'dist', 'src', 'cli', 'bin.cjs');
  // The same group setting as the Kafka broker below: no initial rebalance delay (franz, like
  // Kafka, waits 3 s by default, which would count against ConsumerPerformance's join time).
  const args = [main, 'start', '--listen', '127.0.0.1:0', '--data-dir', opts.dataDir, '--set', 'group.initial.rebalance.delay.ms=0'];
  // Non-durable rows: franz without fsync-before-ack, as Kafka runs by default (no flush policy).
  if (!opts.durable) args.push('--set', 'franz.fsync=false');
  for (const [k, v] of Object.entries(opts.settings ?? {})) args.push('--set', `${k}=${v}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FRANZ_LOG_LEVEL: 'warn' } });
  const handle = new ChildBroker('franz', child, opts.dataDir);
  const ready = await readyLine(handle, child, / ready on ([^ ]+:\d+) /);
  handle.address = ready[1]!;
  const http = / http on ([^ ]+:\d+)/.exec(ready.input);
  if (http !== null) handle.httpAddress = http[1]!;
  return handle;
}

/** The HOST:PORT a child broker prints on stdout once it serves (the first group of `pattern`); see readyLine. */
async function readyAddress(handle: ChildBroker, child: ChildProcess, pattern: RegExp): Promise<string> {
  return (await readyLine(handle, child, pattern))[1]!;
}

/**
 * The line a child broker prints on stdout once it serves, matched by `pattern`; stops the child
 * and rejects if it exits first or says nothing within 30 s.
 */
function readyLine(handle: ChildBroker, child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${handle.name} not ready within 30 s: ${handle.logTail()}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = pattern.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    handle.exitPromise().then(() => {
      clearTimeout(timer);
      reject(new Error(`${handle.name} exited before ready: ${handle.logTail()}`));
    });
  }).catch(async (e: unknown) => {
    await handle.stop(5000);
    throw e;
  });
}

// ---------------------------------------------------------------------------------------------
// Apache Kafka

export function cacheDir(): string {
  return process.env.FRANZ_BENCH_CACHE ?? join(homedir(), '.cache', 'franz-bench');
}

export function kafkaLibDir(): string {
  return join(cacheDir(), `kafka-${KAFKA_VERSION}`, 'lib');
}

export function kafkaClasspath(): string {
  return join(kafkaLibDir(), '*');
}

const POM = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by franz's bench/brokers.ts: Apache Kafka's broker and perf tools, for npm run bench. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>franz.bench</groupId>
  <artifactId>kafka-for-bench</artifactId>
  <version>0.1.0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
    <configuration><includeScope>runtime</includeScope></configuration>
  </plugin></plugins></build>
</project>
`;

/** log4j2 configuration for the broker and the tools: warnings and errors to stderr. */
const LOG4J2 = `status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
`;

export function log4jConfig(): string {
  return join(cacheDir(), `kafka-${KAFKA_VERSION}`, 'log4j2.properties');
}

/** Downloads Kafka's jars into the cache (once); resolves with the lib directory. */
export async function ensureKafka(): Promise<string> {
  const base = join(cacheDir(), `kafka-${KAFKA_VERSION}`);
  const lib = join(base, 'lib');
  const marker = join(base, '.complete');
  mkdirSync(base, { recursive: true });
  writeFileSync(log4jConfig(), LOG4J2);
  if (existsSync(marker) && existsSync(lib) && readdirSync(lib).some((f) => f.startsWith('kafka_2.13-'))) return lib;
  writeFileSync(join(base, 'pom.xml'), POM);
  const r = await run('mvn', ['-q', '-B', '-f', join(base, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], {
    timeoutMs: 15 * 60_000,
    cwd: base,
  });
  if (r.code !== 0) throw new Error(`mvn could not fetch Kafka ${KAFKA_VERSION}: ${tail(r.stdout + r.stderr)}`);
  const jars = readdirSync(lib);
  for (const want of [`kafka_2.13-${KAFKA_VERSION}.jar`, `kafka-tools-${KAFKA_VERSION}.jar`]) {
    if (!jars.includes(want)) throw new Error(`mvn finished but ${want} is missing from ${lib}`);
  }
  writeFileSync(marker, new Date().toISOString() + '\n');
  return lib;
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints). */
function clusterId(): string {
  // Like Kafka's Uuid.randomUuid: never one starting with '-', which a command line reads as an option.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * server.properties of Kafka node `node`; with `controller` it is also the KRaft controller. A
 * single node (`alone`) has its internal topics with one replica; a cluster keeps Kafka's 3.
 */
function kafkaProps(
  node: number,
  port: number,
  cport: number,
  controller: boolean,
  dir: string,
  durable: boolean,
  alone: boolean,
): string[] {
  return [
    `process.roles=${controller ? 'broker,controller' : 'broker'}`,
    `node.id=${node}`,
    `controller.quorum.voters=1@127.0.0.1:${cport}`,
    controller ? `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}` : `listeners=PLAINTEXT://127.0.0.1:${port}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dir, 'logs')}`,
    'num.partitions=1',
    ...(alone
      ? [
          'offsets.topic.replication.factor=1',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'share.coordinator.state.topic.replication.factor=1',
          'share.coordinator.state.topic.min.isr=1',
        ]
      : []),
    'group.initial.rebalance.delay.ms=0',
    // Durable rows: flush (fsync) after every message, Kafka's closest equivalent of fsync-before-ack.
    ...(durable ? ['log.flush.interval.messages=1'] : []),
  ];
}

/** Formats a Kafka node's storage and starts it (not waiting for it to serve). */
async function startKafkaNode(dir: string, props: string[], id: string): Promise<ChildBroker> {
  mkdirSync(dir, { recursive: true });
  const propsFile = join(dir, 'server.properties');
  writeFileSync(propsFile, props.join('\n') + '\n');
  const cp = kafkaClasspath();
  const jvm = [`-Xmx${KAFKA_HEAP}`, `-Xms${KAFKA_HEAP}`, ...KAFKA_JVM_OPTS, `-Dlog4j2.configurationFile=${log4jConfig()}`];
  const fmt = await run(
    'java',
    [...jvm.filter((o) => !o.startsWith('-Xm')), '-Xmx256m', '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', propsFile],
    { timeoutMs: 120_000 },
  );
  if (fmt.code !== 0) throw new Error(`kafka-storage format failed: ${tail(fmt.stdout + fmt.stderr)}`);
  const child = spawn('java', [...jvm, '-cp', cp, 'kafka.Kafka', propsFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new ChildBroker('kafka', child, dir);
}

export async function startKafka(opts: BrokerOptions): Promise<BrokerHandle> {
  mkdirSync(opts.dataDir, { recursive: true });
  const port = await freePort();
  const cport = await freePort();
  const props = [
    ...kafkaProps(1, port, cport, true, opts.dataDir, opts.durable, true),
    ...Object.entries(opts.settings ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  const child = await startKafkaNode(opts.dataDir, props, clusterId());
  const address = `127.0.0.1:${port}`;
  const handle = child;
  handle.address = address;
  // Ready when Metadata answers with this broker in it.
  const deadline = Date.now() + 120_000;
  for (let attempt = 0; ; attempt++) {
    if (!handle.alive()) throw new Error(`kafka exited before ready: ${handle.logTail()}`);
    if (Date.now() > deadline) {
      await handle.stop(5000);
      throw new Error(`kafka not ready within 120 s: ${handle.logTail()}`);
    }
    const client = new Client({ brokers: [address], connectTimeoutMs: 2000, requestTimeoutMs: 5000, retries: 0 });
    try {
      const md = await client.metadata([]);
      if (md.brokers.length > 0) break;
    } catch {
      // not listening yet
    } finally {
      await client.close().catch(() => undefined);
    }
    await sleep(Math.min(1000, 200 * (attempt + 1)));
  }
  return handle;
}

// ---------------------------------------------------------------------------------------------
// Go programs of the bench (bench/go: the franz-go client; bench/membroker)

/** Where ensureGoBinary puts bench/DIR's program: named by a hash of its sources, so an edit rebuilds it. */
export function goBinary(dir: 'go' | 'membroker'): string {
  const src = join(REPO_ROOT, 'bench', dir);
  const h = createHash('sha256');
  for (const f of readdirSync(src)
    .filter((x) => x.endsWith('.go') || x === 'go.mod' || x === 'go.sum')
    .sort()) {
    h.update(f).update(readFileSync(join(src, f)));
  }
  return join(cacheDir(), `bench-${dir}-${h.digest('hex').slice(0, 12)}`);
}

/**
 * Builds bench/DIR (once per source version) with `go build`; the Go module proxy supplies the
 * modules go.mod pins and go.sum checks. Resolves with the binary's path.
 */
export async function ensureGoBinary(dir: 'go' | 'membroker'): Promise<string> {
  const bin = goBinary(dir);
  if (existsSync(bin)) return bin;
  mkdirSync(cacheDir(), { recursive: true });
  const r = await run('go', ['build', '-trimpath', '-o', bin, '.'], { cwd: join(REPO_ROOT, 'bench', dir), timeoutMs: 10 * 60_000 });
  if (r.code !== 0) throw new Error(`go build of bench/${dir} failed (exit ${r.code}): ${tail(r.stdout + r.stderr)}`);
  return bin;
}

// ---------------------------------------------------------------------------------------------
// membroker

/** Starts bench/membroker (built by ensureGoBinary first); ready when it prints its address. */
export async function startMembroker(opts: BrokerOptions): Promise<BrokerHandle> {
  mkdirSync(opts.dataDir, { recursive: true });
  const child = spawn(goBinary('membroker'), ['-listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = new ChildBroker('membroker', child, opts.dataDir);
  handle.address = await readyAddress(handle, child, /^listening (\S+:\d+)$/);
  return handle;
}

export function startBroker(name: BrokerName, opts: BrokerOptions): Promise<BrokerHandle> {
  if ((opts.brokers ?? 1) > 1) {
    if (name === 'membroker') throw new Error('membroker has no cluster mode');
    return name === 'franz' ? startFranzCluster(opts) : startKafkaCluster(opts);
  }
  return name === 'franz' ? startFranz(opts) : name === 'kafka' ? startKafka(opts) : startMembroker(opts);
}

// ---------------------------------------------------------------------------------------------
// Clusters on one machine: several broker processes measured as one

/** Several processes as one broker under test: the first broker's address, CPU and RSS of all. */
class ClusterHandle implements BrokerHandle {
  constructor(
    readonly name: BrokerName,
    private readonly members: ChildBroker[],
    readonly dataDir: string,
  ) {}

  get address(): string {
    return this.members.find((m) => m.address !== '')!.address;
  }

  get pid(): number {
    return this.members[0]!.pid;
  }

  get pids(): readonly number[] {
    return this.members.map((m) => m.pid);
  }

  logTail(): string {
    return this.members.map((m, i) => `[${i}] ${m.logTail()}`).join('\n');
  }

  alive(): boolean {
    return this.members.every((m) => m.alive());
  }

  async stop(graceMs = 30_000): Promise<void> {
    // Brokers first (in parallel), then what they depend on (etcd, the Kafka controller).
    const [first, ...rest] = this.members;
    await Promise.all(rest.map((m) => m.stop(graceMs)));
    await first!.stop(graceMs);
  }
}

/** Waits until Metadata from `address` lists `count` brokers. */
async function awaitBrokers(handle: ClusterHandle, address: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (let attempt = 0; ; attempt++) {
    if (!handle.alive()) throw new Error(`a ${handle.name} cluster process exited before ready: ${handle.logTail()}`);
    if (Date.now() > deadline) throw new Error(`${handle.name} cluster not ready within 120 s: ${handle.logTail()}`);
    const client = new Client({ brokers: [address], connectTimeoutMs: 2000, requestTimeoutMs: 5000, retries: 0 });
    try {
      if ((await client.metadata([])).brokers.length >= count) return;
    } catch {
      // not listening yet
    } finally {
      await client.close().catch(() => undefined);
    }
    await sleep(Math.min(1000, 200 * (attempt + 1)));
  }
}

/**
 * etcd (Debian's etcd-server) and N franz brokers joined to it. etcd is measured with them: it is
 * franz's metadata quorum, as the KRaft controller is Kafka's.
 */
export async function startFranzCluster(opts: BrokerOptions): Promise<BrokerHandle> {
  const n = opts.brokers ?? 3;
  mkdirSync(opts.dataDir, { recursive: true });
  const [client, peer] = [await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${client}`;
  const etcd = spawn(
    'etcd',
    [
      '--name=bench',
      `--data-dir=${join(opts.dataDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=bench=http://127.0.0.1:${peer}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const members = [new ChildBroker('franz', etcd, opts.dataDir)];
  const handle = new ClusterHandle('franz', members, opts.dataDir);
  try {
    const main = join(REPO_ROOT, 'dist', 'src', 'cli', 'bin.cjs');
    for (let id = 1; id <= n; id++) {
      const dir = join(opts.dataDir, `broker-${id}`);
      const args = [main, 'start', '--listen', '127.0.0.1:0', '--data-dir', dir, '--set', 'group.initial.rebalance.delay.ms=0'];
      args.push('--set', `franz.cluster=etcd://127.0.0.1:${client}/bench`, '--set', `node.id=${id}`);
      if (!opts.durable) args.push('--set', 'franz.fsync=false');
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FRANZ_LOG_LEVEL: 'warn' } });
      const b = new ChildBroker('franz', child, dir);
      members.push(b);
      // The first broker waits for etcd (it retries its connection until then).
      b.address = await readyAddress(b, child, / ready on ([^ ]+:\d+) /);
    }
    await awaitBrokers(handle, members[1]!.address, n);
    return handle;
  } catch (e) {
    await handle.stop(5000);
    throw e;
  }
}

/**
 * N Kafka brokers: node 1 also the KRaft controller (process.roles=broker,controller), the others
 * brokers only, all formatted with one cluster id.
 */
export async function startKafkaCluster(opts: BrokerOptions): Promise<BrokerHandle> {
  const n = opts.brokers ?? 3;
  mkdirSync(opts.dataDir, { recursive: true });
  const cport = await freePort();
  const id = clusterId();
  const members: ChildBroker[] = [];
  const handle = new ClusterHandle('kafka', members, opts.dataDir);
  try {
    for (let node = 1; node <= n; node++) {
      const port = await freePort();
      const dir = join(opts.dataDir, `broker-${node}`);
      const b = await startKafkaNode(dir, kafkaProps(node, port, cport, node === 1, dir, opts.durable, false), id);
      b.address = `127.0.0.1:${port}`;
      members.push(b);
    }
    await awaitBrokers(handle, members[0]!.address, n);
    return handle;
  } catch (e) {
    await handle.stop(5000);
    throw e;
  }
}
