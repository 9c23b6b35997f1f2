/**
 * Crash safety with real clients: SIGKILL the broker while a kafkajs producer (acks=-1) has sends in
 * flight, restart it on the same data directory, read everything back with kcat and check that every
 * acknowledged record is there exactly once, at the offset it was acknowledged with. Also: a clean
 * stop keeps everything and the next start needs no recovery.
 *
 * The kill is triggered by an event (the Nth acknowledged record), never by a timer. kafkajs retries are
 * off, so a send that was not acknowledged is never re-sent: records that reached the log without an
 * acknowledgement may be present, but at most once.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startBroker, removeDir, type RunningBroker } from '../helpers/broker.js';
import { runOk, jsonLines } from '../helpers/run.js';

const { Kafka, logLevel } = kafkajs;
const PARTITIONS = 2;

const started: RunningBroker[] = [];
const dirs = new Set<string>();

async function start(dataDir?: string): Promise<RunningBroker> {
  const b = await startBroker({ dataDir, sets: [`num.partitions=${PARTITIONS}`] });
  started.push(b);
  dirs.add(b.dataDir);
  return b;
}

after(async () => {
  for (const b of started) if (b.process.exitCode === null && b.process.signalCode === null) await b.stop();
  for (const d of dirs) removeDir(d);
});

interface Position {
  partition: number;
  offset: number;
}

function client(address: string) {
  return new Kafka({ clientId: 'franz-crash-test', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

/**
 * Produces `value-<n>` records with acks=-1 from several concurrent senders (each send: a few records
 * to one partition, so one batch) until `killAt` records are acknowledged; at that acknowledgement it
 * SIGKILLs the broker, with the other sends still in flight. Resolves with what was acknowledged.
 */
async function produceUntilKilled(
  broker: RunningBroker,
  topic: string,
  firstSeq: number,
  killAt: number,
): Promise<{ acked: Map<string, Position>; attempted: number; failed: number }> {
  const producer = client(broker.address).producer({ retry: { retries: 0 } });
  await producer.connect();
  const acked = new Map<string, Position>();
  let seq = firstSeq;
  let failed = 0;
  let killed: Promise<void> | null = null;
  const sender = async (): Promise<void> => {
    while (killed === null) {
      const partition = seq % PARTITIONS;
      const values = Array.from({ length: 1 + (seq % 4) }, () => `value-${seq++}`);
      let res: Awaited<ReturnType<typeof producer.send>>;
      try {
        res = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
      } catch {
        failed += values.length;
        return; // the connection died with the broker: not acknowledged
      }
      assert.equal(res.length, 1);
      assert.equal(res[0]!.partition, partition);
      assert.equal(res[0]!.errorCode, 0);
      const base = Number(res[0]!.baseOffset);
      for (const [j, v] of values.entries()) acked.set(v, { partition, offset: base + j });
      // Synchronous SIGKILL inside kill9(), at the moment of this acknowledgement.
      if (acked.size >= killAt && killed === null) killed = broker.kill9();
    }
  };
  await Promise.all(Array.from({ length: 8 }, sender));
  await killed;
  await producer.disconnect().catch(() => undefined);
  return { acked, attempted: seq - firstSeq, failed };
}

interface KcatRecord {
  partition: number;
  offset: number;
  payload: string;
}

async function readAll(address: string, topic: string): Promise<KcatRecord[]> {
  const r = await runOk('kcat', ['-b', address, '-C', '-t', topic, '-o', 'beginning', '-e', '-J']);
  return jsonLines<KcatRecord>(r.stdout);
}

/** Offsets dense from 0 per partition, no value twice, every acknowledged value at its offset. */
function checkLog(records: KcatRecord[], acked: Map<string, Position>): void {
  const where = new Map<string, Position>();
  for (let p = 0; p < PARTITIONS; p++) {
    const offs = records.filter((r) => r.partition === p).map((r) => r.offset);
    assert.deepEqual(
      offs,
      offs.map((_, k) => k),
      `partition ${p}: offsets not dense from 0`,
    );
  }
  for (const r of records) {
    assert.match(r.payload, /^value-\d+$/);
    assert.ok(!where.has(r.payload), `${r.payload} stored twice: ${JSON.stringify(where.get(r.payload))} and ${r.partition}/${r.offset}`);
    where.set(r.payload, { partition: r.partition, offset: r.offset });
  }
  const lost: string[] = [];
  for (const [v, pos] of acked) {
    const got = where.get(v);
    if (got === undefined) lost.push(v);
    else assert.deepEqual(got, pos, `${v}: acknowledged at ${pos.partition}/${pos.offset}`);
  }
  assert.deepEqual(lost, [], `${lost.length} acknowledged records lost`);
}

describe('crash safety', () => {
  test('kill -9 during acks=all produce, twice: every acknowledged record survives, once, at its offset', async (t) => {
    const topic = 'crash';
    let broker = await start();
    const acked = new Map<string, Position>();
    let seq = 0;
    for (const round of [1, 2]) {
      const r = await produceUntilKilled(broker, topic, seq, 400);
      seq += r.attempted;
      for (const [v, pos] of r.acked) acked.set(v, pos);
      t.diagnostic(`round ${round}: ${r.acked.size} acknowledged, ${r.failed} in flight at the kill`);
      assert.ok(r.acked.size >= 400);
      assert.equal(broker.process.signalCode, 'SIGKILL');

      broker = await start(broker.dataDir);
      assert.match(broker.readyLine, /recovery done/, 'the restart after a crash runs recovery');
      const cut = broker
        .stderr()
        .split('\n')
        .filter((l) => l.includes('recovery cut'));
      if (cut.length > 0) t.diagnostic(`recovery: ${cut.join(' | ')}`);
      const records = await readAll(broker.address, topic);
      checkLog(records, acked);
      t.diagnostic(`round ${round}: ${records.length} records in the log after restart`);
    }

    // Appends continue right after the recovered log end.
    const records = await readAll(broker.address, topic);
    const producer = client(broker.address).producer();
    await producer.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      const end = records.filter((r) => r.partition === p).length;
      const [res] = await producer.send({ topic, acks: -1, messages: [{ value: `after-${p}`, partition: p }] });
      assert.equal(Number(res!.baseOffset), end, `partition ${p}: first offset after recovery`);
    }
    await producer.disconnect();
    assert.equal(await broker.stop(), 0);
  });

  test('a clean stop keeps every record and the next start runs no recovery', async () => {
    const topic = 'clean';
    let broker = await start();
    const producer = client(broker.address).producer();
    await producer.connect();
    const acked = new Map<string, Position>();
    for (let i = 0; i < 200; i += 10) {
      const partition = (i / 10) % PARTITIONS;
      const values = Array.from({ length: 10 }, (_, j) => `value-${i + j}`);
      const [res] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
      for (const [j, v] of values.entries()) acked.set(v, { partition, offset: Number(res!.baseOffset) + j });
    }
    await producer.disconnect();

    assert.equal(await broker.stop(), 0, 'clean exit');
    assert.match(broker.stderr(), /shutdown complete/);
    assert.ok(existsSync(join(broker.dataDir, '.kafka_cleanshutdown')), 'clean-shutdown marker written');

    broker = await start(broker.dataDir);
    assert.match(broker.readyLine, /recovery not needed/);
    const records = await readAll(broker.address, topic);
    assert.equal(records.length, 200);
    checkLog(records, acked);
    assert.equal(await broker.stop(), 0);
  });
});
