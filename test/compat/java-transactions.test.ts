/**
 * Exactly-once with the Java client (kafka-clients 4.1): FranzCheck's consume-transform-produce
 * loop (read_committed consumer, transactional producer, offsets sent to each transaction) while
 * the application and the broker are killed -9 and restarted, again and again, once with
 * transaction.version 2 finalized (KIP-890: Produce v12 and TxnOffsetCommit v5 add partitions,
 * EndTxn v5 bumps the epoch at every end) and once with 1 (AddPartitionsToTxn, AddOffsetsToTxn).
 * Afterwards the output topic read at read_committed equals the input: every record once, per
 * partition in order.
 * And Kafka Streams with processing.guarantee=exactly_once_v2: a word count killed -9 mid-stream
 * and restarted ends with exact counts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { startMemberProcess } from '../helpers/member-process.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { Client } from '../../src/client/client.js';

const here = dirname(fileURLToPath(import.meta.url));
const JAVA_DIR = join(here, '..', '..', '..', 'test', 'java');
const LIB = join(JAVA_DIR, 'lib');
const JAVA = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${LIB}/*`, join(JAVA_DIR, 'FranzCheck.java')];
const STREAMS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${LIB}/*`, join(JAVA_DIR, 'StreamsCheck.java')];
const haveStreams = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-streams-.*\.jar$/.test(f));
const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f));
const skip = !haveJars && process.env.FRANZ_REQUIRE_JAVA !== '1' ? 'no jars in test/java/lib' : false;

const N = 3000;
const PARTITIONS = 3;
const dataDir = tempDir();
let broker: RunningBroker;
/** The transaction.version finalized to clients by the broker started next. */
let transactionVersion = 2;

async function start(): Promise<void> {
  broker = await startBroker({
    dataDir,
    port: broker?.port ?? 0,
    sets: [`num.partitions=${PARTITIONS}`, 'group.initial.rebalance.delay.ms=0', `franz.transaction.version=${transactionVersion}`],
  });
}

/** The application: FranzCheck transform, with the number of records it has committed so far. */
interface App {
  child: ChildProcess;
  committed: number;
  /** Transactions it reported committed. */
  transactions: number;
  done: boolean;
  exited: Promise<number | null>;
  /** Resolves once it has committed at least `n` records (false if it exits first). */
  committedAtLeast(n: number): Promise<boolean>;
}

function startApp(tag: string): App {
  const child = spawn('java', [...JAVA, 'transform', broker.address, `ctp-in-${tag}`, `ctp-out-${tag}`, `ctp-group-${tag}`, String(N)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.resume();
  const waiters: Array<() => void> = [];
  const app: App = {
    child,
    committed: 0,
    transactions: 0,
    done: false,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    async committedAtLeast(n) {
      let exited = false;
      void app.exited.then(() => {
        exited = true;
        for (const w of waiters.splice(0)) w();
      });
      while (app.committed < n && !app.done && !exited) await new Promise<void>((r) => waiters.push(r));
      return app.committed >= n || app.done;
    },
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { committed?: string; done?: string };
    if (m.committed !== undefined) {
      app.committed = Number(m.committed);
      app.transactions++;
    }
    if (m.done !== undefined) app.done = true;
    for (const w of waiters.splice(0)) w();
  });
  return app;
}

describe('Java client exactly-once (kafka-clients 4.1)', { skip }, () => {
  before(async () => {
    await start();
    const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: ['tv1', 'tv2'].flatMap((tag) => [
        { topic: `ctp-in-${tag}`, numPartitions: PARTITIONS },
        { topic: `ctp-out-${tag}`, numPartitions: PARTITIONS },
      ]),
    });
    await admin.disconnect();
    const p = kafka.producer();
    await p.connect();
    for (const tag of ['tv1', 'tv2']) {
      for (let from = 0; from < N; from += 500) {
        await p.send({
          topic: `ctp-in-${tag}`,
          acks: -1,
          messages: Array.from({ length: 500 }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })),
        });
      }
    }
    await p.disconnect();
  });

  after(async () => {
    await broker.stop();
    removeDir(dataDir);
  });

  for (const tv of [2, 1]) {
    test(`transaction.version ${tv}: consume-transform-produce under kill -9 of the application and the broker: output equals input`, {
      timeout: 600_000,
    }, async () => {
      const tag = `tv${tv}`;
      if (transactionVersion !== tv) {
        transactionVersion = tv;
        await broker.stop();
        await start();
      }
      // Each round lets the application commit some transactions, then kills one side mid-stream.
      const kills: Array<'app' | 'broker'> = ['app', 'broker', 'app', 'broker', 'app'];
      let transactions = 0;
      for (const victim of kills) {
        const app = startApp(tag);
        const progressed = await app.committedAtLeast(app.committed + 200);
        assert.ok(progressed || app.done, 'the application made progress before the kill');
        transactions += app.transactions;
        if (victim === 'app') {
          app.child.kill('SIGKILL');
          await app.exited;
        } else {
          await broker.kill9();
          app.child.kill('SIGKILL');
          await app.exited;
          await start();
        }
      }
      // The last run goes to the end.
      let finished = false;
      for (let attempt = 0; attempt < 3 && !finished; attempt++) {
        const app = startApp(tag);
        const code = await app.exited;
        transactions += app.transactions;
        finished = app.done && code === 0;
      }
      assert.ok(finished, 'the application consumed every input record');
      const input = await kcatReadAll(broker.address, `ctp-in-${tag}`);
      const output = await kcatReadAll(broker.address, `ctp-out-${tag}`);
      assert.equal(input.length, N);
      for (let p = 0; p < PARTITIONS; p++) {
        const want = input.filter((r) => r.partition === p).map((r) => `${r.key}=t:${r.payload}`);
        const got = output.filter((r) => r.partition === p).map((r) => `${r.key}=${r.payload}`);
        assert.deepEqual(got, want, `partition ${p}: every input record once, in order`);
      }
      // The protocol the client used shows in the producer's epoch: v2 bumps it at every commit,
      // v1 only when an instance starts (InitProducerId) or is fenced.
      const client = new Client({ brokers: [broker.address] });
      try {
        const d = await client.transactions.describe(`transform-ctp-group-${tag}`);
        if (tv === 2) assert.ok(d.producerEpoch >= transactions, `epoch ${d.producerEpoch} after ${transactions} commits`);
        else assert.ok(d.producerEpoch < 2 * (kills.length + 3), `epoch ${d.producerEpoch} after ${kills.length + 1} starts`);
      } finally {
        await client.close();
      }
    });
  }

  test('Kafka Streams exactly_once_v2: a word count killed -9 mid-stream ends with exact counts', {
    timeout: 300_000,
    skip: !haveStreams && process.env.FRANZ_REQUIRE_JAVA !== '1' ? 'no kafka-streams jar' : false,
  }, async () => {
    const SENTENCE = 'the quick fox jumps over the lazy dog the end';
    const LINES = 1000;
    const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'words', numPartitions: 2 },
        { topic: 'word-counts', numPartitions: 2 },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const send = (from: number, n: number) =>
      producer.send({
        topic: 'words',
        acks: -1,
        messages: Array.from({ length: n }, (_, i) => ({ key: `line-${from + i}`, value: SENTENCE })),
      });
    const counts = async (): Promise<Map<string, number>> => {
      const last = new Map<string, number>();
      for (const rec of await kcatReadAll(broker.address, 'word-counts')) last.set(rec.key!, Number(rec.payload));
      return last;
    };
    const stateDir = tempDir('franz-streams-eos-');
    const args = [...STREAMS, broker.address, stateDir, 'run', 'exactly_once_v2'];
    try {
      await send(0, LINES / 2);
      const first = startMemberProcess('java', args);
      await first.until(() => first.lines.some((l) => l.state === 'RUNNING'), 'Streams running', 90_000);
      // Some counts committed, then more input, and the application dies while it processes it.
      for (let i = 0; (await counts()).size === 0; i++) {
        assert.ok(i < 600, 'no count was committed');
        await new Promise((r) => setTimeout(r, 100));
      }
      await send(LINES / 2, LINES / 2);
      first.child.kill('SIGKILL');
      const second = startMemberProcess('java', args);
      const want = new Map<string, number>();
      for (const w of SENTENCE.split(' ')) want.set(w, (want.get(w) ?? 0) + LINES);
      let got = new Map<string, number>();
      for (let i = 0; i < 900; i++) {
        got = await counts();
        if ([...want].every(([w, n]) => (got.get(w) ?? 0) >= n)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // Exactly: a count past the truth would be a record processed twice.
      assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()));
      await second.stop();
    } finally {
      await producer.disconnect();
      removeDir(stateDir);
    }
  });
});
