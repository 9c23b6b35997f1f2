/**
 * Compacted topics with real clients: kcat (librdkafka) and the Java client write updates and
 * tombstones, the broker's log cleaner compacts the closed segments, and kcat reads back the
 * latest value of every key at the offset it was written at; tombstones stay for
 * delete.retention.ms and then go. Then the broker is killed -9 during cleans, again and again:
 * after each restart nothing acknowledged is lost (every key's latest value is there, offsets
 * unchanged) and no offset appears twice. Keyless records are refused with INVALID_RECORD.
 *
 * Waiting is on the broker's own log lines ("cleaning log", "cleaned log"): the events a clean
 * makes, not timers.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { startBroker, removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { kcatReadAll, type KcatRecord } from '../helpers/kcat.js';
import { jsonLines, runOk } from '../helpers/run.js';

const { Kafka, logLevel } = kafkajs;

const here = dirname(fileURLToPath(import.meta.url));
const JAVA_DIR = join(here, '..', '..', '..', 'test', 'java');
const LIB = join(JAVA_DIR, 'lib');
const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f));
const JAVA = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${LIB}/*`, join(JAVA_DIR, 'FranzCheck.java')];

/** Every broker of this file: the cleaner looks often, and a 1-byte dirty share is enough. */
const SETS = ['log.cleaner.backoff.ms=100', 'log.cleaner.min.cleanable.ratio=0.01', 'num.partitions=1'];
const TOPIC_CONFIGS = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.bytes', value: String(1024 * 1024) },
  { name: 'delete.retention.ms', value: '3000' },
];

const dirs: string[] = [];
let broker: RunningBroker;

async function start(dataDir: string): Promise<RunningBroker> {
  return startBroker({ dataDir, sets: SETS });
}

before(async () => {
  const dir = tempDir('franz-compaction-');
  dirs.push(dir);
  broker = await start(dir);
});

after(async () => {
  if (broker.process.exitCode === null && broker.process.signalCode === null) await broker.stop();
  for (const d of dirs) removeDir(d);
});

async function createCompacted(address: string, topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'franz-compaction', brokers: [address], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    assert.ok(await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: TOPIC_CONFIGS }], waitForLeaders: true }));
  } finally {
    await admin.disconnect();
  }
}

/** Produces lines `key:value` with kcat; an empty value is a tombstone (-Z). */
async function kcatProduce(address: string, topic: string, lines: string[]): Promise<void> {
  await runOk('kcat', ['-b', address, '-P', '-t', topic, '-p', '0', '-K', ':', '-Z', '-X', 'acks=all'], { input: `${lines.join('\n')}\n` });
}

/** 1.1 MiB of records with keys of their own: they push everything before them out of the active segment. */
function fillers(tag: string): string[] {
  return Array.from({ length: 1100 }, (_, i) => `filler-${tag}-${i}:${'f'.repeat(1024)}`);
}

/** Counts `msg` lines of the broker's log that name `topic`. */
function logLines(b: RunningBroker, msg: string, topic: string): number {
  let n = 0;
  for (const line of b.stderr().split('\n')) if (line.includes(`"msg":"${msg}"`) && line.includes(`"topic":"${topic}"`)) n++;
  return n;
}

/** Resolves once the broker has logged `msg` for `topic` more than `seen` times (checked as its log grows). */
async function logged(b: RunningBroker, msg: string, topic: string, seen: number, timeoutMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const stderr = b.process.stderr!;
    const done = (): void => {
      clearTimeout(timer);
      stderr.off('data', check);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no "${msg}" for ${topic} in ${timeoutMs} ms:\n${b.stderr().slice(-3000)}`));
    }, timeoutMs);
    // The helper's own listener appends to b.stderr() first: it was added when the broker started.
    const check = (): void => {
      const n = logLines(b, msg, topic);
      if (n > seen) {
        done();
        resolve(n);
      }
    };
    stderr.on('data', check);
    check();
  });
}

/** The latest record per key among `written` (key -> {offset, value}); a null value is a tombstone. */
function latest(
  written: Array<{ key: string; value: string | null; offset: number }>,
): Map<string, { offset: number; value: string | null }> {
  const m = new Map<string, { offset: number; value: string | null }>();
  for (const w of written) m.set(w.key, { offset: w.offset, value: w.value });
  return m;
}

/**
 * What a compacted read must show: every key's latest record at its offset; tombstones only
 * while `tombstones` allows; no older version of a key that has a newer one... once the segment
 * holding it was cleaned (records of the active segment may still show older versions).
 */
function checkCompacted(
  records: KcatRecord[],
  want: Map<string, { offset: number; value: string | null }>,
  tombstones: 'kept' | 'gone',
): void {
  const byOffset = new Map(records.map((r) => [r.offset, r]));
  assert.equal(byOffset.size, records.length, 'no offset twice');
  for (let i = 1; i < records.length; i++) assert.ok(records[i]!.offset > records[i - 1]!.offset, 'offsets increase');
  for (const [key, w] of want) {
    const r = byOffset.get(w.offset);
    if (w.value === null && tombstones === 'gone') {
      assert.equal(r, undefined, `tombstone of ${key} at ${w.offset} is gone`);
      continue;
    }
    assert.ok(r !== undefined, `${key}'s latest record at ${w.offset} is there`);
    assert.equal(r.key, key);
    assert.equal(r.payload, w.value);
  }
}

describe('compacted topics and the log cleaner', () => {
  test('kcat: updates and tombstones compact to the latest value per key; tombstones go after delete.retention.ms', async () => {
    const topic = 'compact-kcat';
    await createCompacted(broker.address, topic);
    const written: Array<{ key: string; value: string | null; offset: number }> = [];
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = `k${i % 40}`;
      const value = i % 13 === 0 ? null : `v${i}-${'x'.repeat(500)}`;
      lines.push(`${key}:${value ?? ''}`);
      written.push({ key, value, offset: i });
    }
    const cleanedBefore = logLines(broker, 'cleaned log', topic);
    await kcatProduce(broker.address, topic, lines);
    await kcatProduce(broker.address, topic, fillers('a'));
    // Cleans run until the whole closed part is clean (each may cover part of it).
    let seen = cleanedBefore;
    let records: KcatRecord[] = [];
    for (;;) {
      seen = await logged(broker, 'cleaned log', topic, seen);
      records = await kcatReadAll(broker.address, topic);
      if (records.filter((r) => r.key!.startsWith('k')).length === 40) break;
    }
    const want = latest(written);
    checkCompacted(records, want, 'kept');
    assert.equal(records.filter((r) => r.key!.startsWith('filler-a-')).length, 1100, 'every filler stays');
    const tombstoned = [...want.values()].filter((w) => w.value === null).length;
    assert.ok(tombstoned > 0, 'some keys end with a tombstone');
    // Past delete.retention.ms, a clean removes the tombstones.
    for (;;) {
      seen = await logged(broker, 'cleaned log', topic, seen);
      records = await kcatReadAll(broker.address, topic);
      if (records.every((r) => r.payload !== null)) break;
    }
    checkCompacted(records, want, 'gone');
  });

  test('the Java client: upserts compact the same way', { skip: !haveJars && 'no kafka-clients jar in test/java/lib' }, async () => {
    const topic = 'compact-java';
    await createCompacted(broker.address, topic);
    const r = await runOk('java', [...JAVA, 'upserts', broker.address, topic, '2000', '25', 'acks=all', 'linger.ms=5'], {
      timeoutMs: 90_000,
    });
    const acked = jsonLines<{ i: string; offset: string }>(r.stdout);
    assert.equal(acked.length, 2000);
    const written = acked.map((a) => {
      const i = Number(a.i);
      return { key: `k${i % 25}`, value: i % 13 === 0 ? null : `v${i}-${'x'.repeat(1000)}`, offset: Number(a.offset) };
    });
    let seen = logLines(broker, 'cleaned log', topic);
    await kcatProduce(broker.address, topic, fillers('j'));
    let records: KcatRecord[] = [];
    for (;;) {
      seen = await logged(broker, 'cleaned log', topic, seen);
      records = await kcatReadAll(broker.address, topic);
      if (records.filter((x) => x.key!.startsWith('k')).length <= 25) break;
    }
    checkCompacted(records, latest(written), 'kept');
  });

  test('a keyless record is refused with INVALID_RECORD and nothing is appended', async () => {
    const topic = 'compact-keyless';
    await createCompacted(broker.address, topic);
    const producer = new Kafka({
      clientId: 'franz-compaction',
      brokers: [broker.address],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).producer();
    await producer.connect();
    try {
      await assert.rejects(
        producer.send({ topic, messages: [{ key: 'k', value: 'a' }, { value: 'no key' }] }),
        (e: Error & { type?: string }) =>
          e.type === 'INVALID_RECORD' || /INVALID_RECORD|without key/i.test(String(e.message) + String((e as { cause?: unknown }).cause)),
      );
      await producer.send({ topic, messages: [{ key: 'k', value: 'b' }] });
    } finally {
      await producer.disconnect();
    }
    const records = await kcatReadAll(broker.address, topic);
    assert.deepEqual(
      records.map((x) => [x.offset, x.key, x.payload]),
      [[0, 'k', 'b']],
    );
  });

  test('kill -9 during cleans, again and again: no acknowledged record lost, no offset twice', async () => {
    const topic = 'compact-crash';
    await createCompacted(broker.address, topic);
    const written: Array<{ key: string; value: string | null; offset: number }> = [];
    let next = 0;
    let fillersWritten = 0;
    // Kill points: as a clean starts, a little into it, and as one finishes (after its swap).
    const kills: Array<{ on: 'cleaning log' | 'cleaned log'; delayMs: number }> = [
      { on: 'cleaning log', delayMs: 0 },
      { on: 'cleaning log', delayMs: 40 },
      { on: 'cleaning log', delayMs: 120 },
      { on: 'cleaned log', delayMs: 0 },
    ];
    for (const [round, k] of kills.entries()) {
      // Fresh dirty records for this round's clean, all acknowledged before the kill.
      const lines: string[] = [];
      for (let i = 0; i < 4000; i++, next++) {
        const key = `k${i % 500}`;
        const value = `v${next}-${'y'.repeat(600)}`;
        lines.push(`${key}:${value}`);
        written.push({ key, value, offset: next });
      }
      const seen = logLines(broker, k.on, topic);
      await kcatProduce(broker.address, topic, lines);
      await kcatProduce(broker.address, topic, fillers(`c${round}`));
      next += 1100;
      fillersWritten += 1100;
      await logged(broker, k.on, topic, seen);
      // A crash at a chosen moment of a clean, not a wait for one: the timing is the point.
      if (k.delayMs > 0) await new Promise((r) => setTimeout(r, k.delayMs));
      await broker.kill9();
      broker = await start(broker.dataDir);
      const records = await kcatReadAll(broker.address, topic);
      checkCompacted(records, latest(written), 'kept');
      assert.equal(records.filter((r) => r.key!.startsWith('filler-c')).length, fillersWritten, 'every filler stays');
      const leftovers = readdirSync(join(broker.dataDir, `${topic}-0`)).filter((f) => f.endsWith('.cleaned') || f.endsWith('.swap'));
      assert.deepEqual(leftovers, [], 'no half-swapped file after a restart');
    }
    // And the cleaner finishes the job after all that.
    let seen = 0;
    for (;;) {
      seen = await logged(broker, 'cleaned log', topic, seen);
      const records = await kcatReadAll(broker.address, topic);
      if (records.filter((r) => r.key!.startsWith('k')).length === 500) {
        checkCompacted(records, latest(written), 'kept');
        break;
      }
    }
  });
});
