/**
 * Leaders killed and frozen again and again under load. A real etcd and three franz brokers; a topic
 * with replication factor 3 and min.insync.replicas=2; the Java client (idempotent, acks=all) and
 * kafkajs (idempotent, acks=all) produce the whole time while the test kills -9 or SIGSTOPs the
 * leader of one partition after another, waits for the controller to move the leadership, brings
 * the broker back and waits for it to rejoin the ISR, until the partitions have changed leaders at
 * least 20 times. Then every acknowledged record must be in the log exactly where its acknowledgement
 * said, no record may be there twice, each producer's records must be in order per partition, and
 * every replica's batches must be the same bytes below the high watermark.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startBroker, type RunningBroker } from '../helpers/broker.js';
import { freePort, startEtcd, type RunningEtcd } from '../helpers/etcd.js';
import { RawConnection } from '../helpers/raw.js';
import { topicMetadata, until, type PartitionView } from '../helpers/cluster.js';

const here = dirname(fileURLToPath(import.meta.url));
const JAVA_DIR = join(here, '..', '..', '..', 'test', 'java');
const LIB = join(JAVA_DIR, 'lib');
const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f));
const skip = !haveJars && process.env.FRANZ_REQUIRE_JAVA !== '1' ? 'no jars in test/java/lib (see test/compat/java.test.ts)' : false;

const SESSION_MS = 2000;
const TOPIC = 'chaos';
const PARTITIONS = [0, 1, 2];
const LEADER_CHANGES = 20;

describe('a cluster whose leaders are killed and frozen under load', { skip }, () => {
  let etcd: RunningEtcd;
  const brokers = new Map<number, RunningBroker>();
  const ports = new Map<number, number>();
  const dataDirs = new Map<number, string>();

  const earlierLogs = new Map<number, string>();
  async function startNode(id: number): Promise<RunningBroker> {
    const prev = brokers.get(id);
    if (prev) earlierLogs.set(id, (earlierLogs.get(id) ?? '') + prev.stderr() + '\n--- restarted ---\n');
    const b = await startBroker({
      port: ports.get(id),
      dataDir: dataDirs.get(id),
      sets: [
        `franz.cluster=${etcd.url}/chaos`,
        `node.id=${id}`,
        `broker.session.timeout.ms=${SESSION_MS}`,
        'replica.lag.time.max.ms=5000',
        'offsets.topic.num.partitions=1',
        'offsets.topic.replication.factor=3',
      ],
    });
    dataDirs.set(id, b.dataDir);
    brokers.set(id, b);
    return b;
  }

  before(async () => {
    etcd = await startEtcd();
    for (const id of [1, 2, 3]) ports.set(id, await freePort());
    for (const id of [1, 2, 3]) await startNode(id);
  });

  let java: ChildProcess | undefined;
  after(async () => {
    java?.kill('SIGKILL');
    if (process.env.CHAOS_DEBUG) {
      for (const [id, b] of brokers) writeFileSync(`/tmp/chaos-broker-${id}.log`, (earlierLogs.get(id) ?? '') + b.stderr());
      console.log(`data dirs: ${JSON.stringify([...dataDirs])}`);
    }
    for (const b of brokers.values()) {
      b.process.kill('SIGCONT');
      await b.stop();
    }
    await etcd.stop();
  });

  /** Asks broker `id` until its view of the topic satisfies `ok`. */
  function waitFor(id: number, what: string, ok: (ps: PartitionView[]) => boolean): Promise<PartitionView[]> {
    return until(
      `${what} (broker ${id})`,
      async () => (await topicMetadata(brokers.get(id)!.port, TOPIC)).partitions,
      (ps) => ps.length === PARTITIONS.length && ok(ps),
    );
  }
  const allInSync = (ps: PartitionView[]): boolean => ps.every((p) => p.leaderId !== -1 && p.isrNodes.length === 3);

  /** The high watermark as the partition's leader answers ListOffsets (latest). */
  async function highWatermark(leader: number, partition: number): Promise<number> {
    const c = await RawConnection.open(brokers.get(leader)!.port);
    try {
      const res = await c.request(2, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }],
      });
      return Number(res.topics[0].partitions[0].offset);
    } finally {
      c.close();
    }
  }

  /** Every batch of a replica's log (all segments, in order) that starts below `hw`, as raw bytes. */
  function batchesBelow(dataDir: string, partition: number, hw: number): Buffer[] {
    const dir = join(dataDir, `${TOPIC}-${partition}`);
    const out: Buffer[] = [];
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()) {
      const buf = readFileSync(join(dir, f));
      for (let pos = 0; pos + 61 <= buf.length; ) {
        const size = 12 + buf.readInt32BE(pos + 8);
        if (Number(buf.readBigInt64BE(pos)) >= hw) break;
        out.push(buf.subarray(pos, pos + size));
        pos += size;
      }
    }
    return out;
  }

  test('every acknowledged record is read back once, in order, and the replicas agree, after 20 leader changes', async (t) => {
    const bootstrap = [...brokers.values()].map((b) => b.address);
    const kafka = new Kafka({
      brokers: bootstrap,
      clientId: 'chaos',
      logLevel: logLevel.NOTHING,
      requestTimeout: 3000,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: PARTITIONS.length,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
    });
    await admin.disconnect();
    const first = await waitFor(1, 'in sync', allInSync);

    // The Java producer: record i is key-i / j-i; its acknowledgements arrive on stdout.
    const jp = spawn(
      'java',
      [
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-cp',
        `${LIB}/*`,
        join(JAVA_DIR, 'FranzCheck.java'),
        'stream',
        bootstrap.join(','),
        TOPIC,
        '200',
        'request.timeout.ms=3000',
        'delivery.timeout.ms=120000',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    java = jp;
    let javaErr = '';
    jp.stderr!.on('data', (d: Buffer) => (javaErr += d.toString()));
    const javaAcks = new Map<number, { partition: number; offset: number }>();
    let javaFailed = 0;
    let javaSent = -1;
    createInterface({ input: jp.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { i?: number; partition?: number; offset?: number; failed?: number; sent?: number; error?: string };
      if (m.failed !== undefined) javaFailed++;
      else if (m.sent !== undefined) javaSent = m.sent;
      else if (m.i !== undefined) javaAcks.set(m.i, { partition: m.partition!, offset: m.offset! });
      else if (m.error !== undefined) javaErr += `\n${line}`;
    });
    const javaExit = new Promise<number | null>((resolve) => jp.once('close', (code) => resolve(code)));

    // kafkajs: value k-n to partition n % 3, one send at a time. A send that fails leaves the
    // producer's sequence in doubt (kafkajs does not reset it), so a new producer takes over then.
    const jsAcks = new Map<string, { partition: number; offset: number }>();
    let jsFailed = 0;
    let producing = true;
    const jsLoop = (async () => {
      let producer: Producer | undefined;
      for (let n = 0; producing; n++) {
        const value = `k-${n}`;
        const partition = n % PARTITIONS.length;
        try {
          if (producer === undefined) {
            producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
            await producer.connect();
          }
          const [meta] = await producer.send({ topic: TOPIC, acks: -1, timeout: 3000, messages: [{ value, partition }] });
          jsAcks.set(value, { partition, offset: Number(meta!.baseOffset) });
        } catch (err) {
          if (process.env.CHAOS_DEBUG) console.log(`${new Date().toISOString()} kafkajs ${value}: ${String(err)}`);
          jsFailed++;
          await producer?.disconnect().catch(() => {});
          producer = undefined;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await producer?.disconnect().catch(() => {});
    })();

    // The chaos: one partition's leader after another, killed or frozen, then back.
    const epoch0 = first.map((p) => p.leaderEpoch);
    let changes = 0;
    for (let round = 0; changes < LEADER_CHANGES; round++) {
      assert.ok(round < 40, `only ${changes} leader changes after 40 rounds`);
      const live = [...brokers.keys()];
      const observer = live[round % live.length]!;
      const before = await waitFor(observer, 'in sync', allInSync);
      const victim = before[round % PARTITIONS.length]!.leaderId;
      const watcher = live.find((id) => id !== victim)!;
      const freeze = round % 2 === 1;
      if (freeze) brokers.get(victim)!.process.kill('SIGSTOP');
      else await brokers.get(victim)!.kill9();
      const moved = await waitFor(watcher, 'moved', (ps) => ps.every((p) => p.leaderId !== victim && p.leaderId !== -1));
      if (freeze) brokers.get(victim)!.process.kill('SIGCONT');
      else await startNode(victim);
      const settled = await waitFor(watcher, 'in sync again', allInSync);
      changes = settled.reduce((n, p, i) => n + p.leaderEpoch - epoch0[i]!, 0);
      t.diagnostic(
        `round ${round}: ${freeze ? 'froze' : 'killed'} ${victim}, leaders ${moved.map((p) => p.leaderId)}, ${changes} changes, ` +
          `${javaAcks.size} java / ${jsAcks.size} kafkajs acks`,
      );
    }

    producing = false;
    await jsLoop;
    jp.stdin!.end();
    assert.equal(await javaExit, 0, javaErr.slice(-3000));
    t.diagnostic(
      `java sent ${javaSent}, ${javaAcks.size} acknowledged, ${javaFailed} failed; kafkajs ${jsAcks.size} acknowledged, ${jsFailed} failed`,
    );
    assert.ok(javaAcks.size > 1000 && jsAcks.size > 100, 'both producers made progress');

    // Read the whole log back from the leaders (kafkajs consumer) below the high watermark.
    const final = await waitFor(1, 'in sync at the end', allInSync);
    const hws = await Promise.all(final.map((p) => highWatermark(p.leaderId, p.partitionIndex)));
    const logs = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
    const consumer = kafka.consumer({ groupId: 'chaos-check' });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const total = hws.reduce((a, b) => a + b, 0);
    let seen = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const list = logs.get(partition)!;
          assert.equal(Number(message.offset), list.length, 'offsets without gaps');
          list.push(message.value!.toString());
          if (++seen === total) resolve();
        },
      });
    });
    await consumer.disconnect();

    // Every acknowledged record where its acknowledgement said.
    const where = new Map<string, string>();
    for (const [p, list] of logs) for (const [o, v] of list.entries()) where.set(v, `${p}@${o}`);
    const wrong = [...javaAcks].filter(([i, a]) => logs.get(a.partition)![a.offset] !== `j-${i}`);
    if (process.env.CHAOS_DEBUG)
      for (const [i, a] of wrong.slice(0, 20))
        t.diagnostic(
          `j-${i} acked at ${a.partition}@${a.offset} holding ${logs.get(a.partition)![a.offset]}, found at ${where.get(`j-${i}`)}`,
        );
    assert.equal(wrong.length, 0, `${wrong.length} java records are not where acknowledged`);
    const wrongJs = [...jsAcks].filter(([v, a]) => logs.get(a.partition)![a.offset] !== v);
    if (process.env.CHAOS_DEBUG)
      for (const [v, a] of wrongJs.slice(0, 20))
        t.diagnostic(`${v} acked at ${a.partition}@${a.offset} holding ${logs.get(a.partition)![a.offset]}, found at ${where.get(v)}`);
    assert.equal(wrongJs.length, 0, `${wrongJs.length} kafkajs records are not where acknowledged`);
    // Nothing twice, and each producer's records in the order sent, per partition.
    for (const [p, list] of logs) {
      assert.equal(new Set(list).size, list.length, `partition ${p} holds a record twice`);
      let lastJava = -1;
      let lastJs = -1;
      for (const v of list) {
        const n = Number(v.slice(2));
        if (v.startsWith('j-')) {
          assert.ok(n > lastJava, `partition ${p}: j-${n} after j-${lastJava}`);
          lastJava = n;
        } else {
          assert.ok(n > lastJs, `partition ${p}: k-${n} after k-${lastJs}`);
          lastJs = n;
        }
      }
    }
    // Each replica holds the same batches, byte for byte, below the high watermark.
    for (const p of PARTITIONS) {
      const [a, ...rest] = [...dataDirs.values()].map((d) => batchesBelow(d, p, hws[p]!));
      assert.ok(a!.length > 0);
      for (const b of rest) {
        assert.equal(b.length, a!.length, `partition ${p}: batch counts differ`);
        for (let k = 0; k < a!.length; k++) assert.ok(a![k]!.equals(b[k]!), `partition ${p}: batch ${k} differs`);
      }
    }
  });
});
