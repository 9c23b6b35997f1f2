/**
 * Kafka Connect (a distributed worker, connect-runtime 4.1 from Maven Central, see
 * test/connect/pom.xml) against franz: the worker creates its compacted internal topics (config,
 * offset and status storage; it checks their cleanup.policy with DescribeConfigs and refuses to
 * start otherwise), FileStreamSource copies a file into a topic and FileStreamSink copies the
 * topic into another file. Then the worker is stopped, the input grows, and a new worker resumes
 * from the stored source offsets and the sink's committed offsets: the output equals the input,
 * no line lost or doubled.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { freePort } from '../helpers/etcd.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

const here = dirname(fileURLToPath(import.meta.url));
const LIB = join(here, '..', '..', '..', 'test', 'connect', 'lib');
const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^connect-runtime-.*\.jar$/.test(f));
const required = process.env.FRANZ_REQUIRE_JAVA === '1';
const skip =
  !haveJars && !required
    ? 'no Connect jars in test/connect/lib (run: mvn -q -f test/connect/pom.xml dependency:copy-dependencies -DoutputDirectory=lib)'
    : false;

let broker: RunningBroker;
let work: string;

before(async () => {
  if (skip) return;
  broker = await startBroker({ sets: ['log.cleaner.backoff.ms=200'] });
  work = tempDir('franz-connect-');
});
after(async () => {
  if (skip) return;
  await broker.stop();
  removeDir(broker.dataDir);
  removeDir(work);
});

interface Worker {
  readonly process: ChildProcess;
  readonly url: string;
  log(): string;
}

/** Starts a distributed worker and resolves once its REST API answers. */
async function startWorker(restPort: number): Promise<Worker> {
  const props = join(work, 'worker.properties');
  writeFileSync(
    props,
    [
      `bootstrap.servers=${broker.address}`,
      'group.id=franz-connect',
      'key.converter=org.apache.kafka.connect.storage.StringConverter',
      'value.converter=org.apache.kafka.connect.storage.StringConverter',
      'config.storage.topic=connect-configs',
      'offset.storage.topic=connect-offsets',
      'status.storage.topic=connect-status',
      'config.storage.replication.factor=1',
      'offset.storage.replication.factor=1',
      'status.storage.replication.factor=1',
      'offset.flush.interval.ms=500',
      `listeners=http://127.0.0.1:${restPort}`,
      '',
    ].join('\n'),
  );
  const child = spawn('java', ['-XX:+UseSerialGC', '-cp', `${LIB}/*`, 'org.apache.kafka.connect.cli.ConnectDistributed', props], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JAVA_TOOL_OPTIONS: '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn' },
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${restPort}`;
  const exited = once(child, 'exit');
  const deadline = Date.now() + 90_000;
  for (;;) {
    // The REST server answers once the worker has joined its group and read its config topic.
    const up = await fetch(`${url}/connectors`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null) throw new Error(`the Connect worker exited (${child.exitCode}):\n${log.slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`the Connect worker did not come up:\n${log.slice(-4000)}`);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 250))]);
  }
  return { process: child, url, log: () => log };
}

async function stopWorker(w: Worker): Promise<void> {
  if (w.process.exitCode !== null) return;
  const exited = once(w.process, 'exit');
  w.process.kill('SIGTERM');
  await exited;
}

async function createConnector(w: Worker, name: string, config: Record<string, string>): Promise<void> {
  const r = await fetch(`${w.url}/connectors`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, config }),
  });
  assert.equal(r.status, 201, `create ${name}: ${await r.text()}`);
}

/** Resolves once `path` holds exactly `lines`; fails at the deadline with what it holds. */
async function fileReaches(path: string, lines: string[], w: Worker, timeoutMs = 60_000): Promise<void> {
  const want = `${lines.join('\n')}\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (got === want) return;
    if (got.length > want.length || !want.startsWith(got))
      assert.fail(`${path} diverged from the input (${got.split('\n').length - 1} lines)`);
    if (Date.now() > deadline) assert.fail(`${path} has ${got.split('\n').length - 1} of ${lines.length} lines:\n${w.log().slice(-3000)}`);
    // The sink writes as records arrive; a file has no event to wait on from another process.
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Kafka Connect (distributed worker, FileStream connectors)', { skip }, () => {
  test('copies a file through a topic, keeps its state in compacted topics and resumes after a restart', async () => {
    const input = join(work, 'input.txt');
    const output = join(work, 'output.txt');
    // ASCII only: FileStreamSource stores its position in characters but skips bytes when it
    // resumes, so a multi-byte character before the position would make it re-read lines.
    const first = Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(i % 7)}`);
    writeFileSync(input, `${first.join('\n')}\n`);
    const restPort = await freePort();
    let w = await startWorker(restPort);
    try {
      await createConnector(w, 'file-source', {
        'connector.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector',
        file: input,
        topic: 'connect-lines',
        'tasks.max': '1',
      });
      await createConnector(w, 'file-sink', {
        'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector',
        file: output,
        topics: 'connect-lines',
        'tasks.max': '1',
      });
      await fileReaches(output, first, w);

      // The worker's internal topics: made by Connect, compacted, as DescribeConfigs says.
      const admin = new Kafka({ clientId: 'franz-connect-test', brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: ['connect-configs', 'connect-offsets', 'connect-status'].map((name) => ({
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: ['cleanup.policy'],
          })),
        });
        for (const r of resources) {
          assert.equal(r.errorCode, 0, r.resourceName);
          assert.equal(r.configEntries[0]?.configValue, 'compact', `${r.resourceName} is compacted`);
        }
      } finally {
        await admin.disconnect();
      }

      // A new worker resumes where the stored offsets say.
      await stopWorker(w);
      const more = Array.from({ length: 300 }, (_, i) => `after restart ${i}`);
      appendFileSync(input, `${more.join('\n')}\n`);
      w = await startWorker(restPort);
      await fileReaches(output, [...first, ...more], w);
    } finally {
      await stopWorker(w);
    }
  });
});
