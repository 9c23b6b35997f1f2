/**
 * `npm run crashloop -- --cycles N [--seed S] [--data-dir DIR] [--partitions P] [--producers K]
 *                       [--senders S] [--kill-min-ms A] [--kill-max-ms B] [--keep]`
 *
 * The crash loop (issue 26). Each cycle starts the broker on the same data directory (franz's
 * default durability: fsync before acknowledging), reads every partition from the beginning and
 * checks the log against everything acknowledged so far, then produces acks=all records of 100 B
 * to 20 KiB from K kafkajs producers (a connection each) with S sends in flight each, and
 * SIGKILLs the broker at a random moment between A and B ms into the produce. After the last cycle
 * the broker is started and checked once more.
 *
 * The check: offsets dense from 0 in every partition; every acknowledged record present exactly
 * once, at the offset it was acknowledged with, with its bytes intact; a record that was sent but
 * not acknowledged present at most once (the producers never retry, so none is sent twice).
 * Each record's value is `cl|<id>|<size>|` and padding derived from the id, `size` bytes in all.
 *
 * Prints a line per cycle (records acknowledged, in flight at the kill, recovery time) and exits 1
 * on a lost, duplicated, misplaced or damaged record, keeping the data directory.
 */
import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import { Client } from '../src/client/client.js';
import { type RunningBroker, removeDir, tempDir } from '../test/helpers/broker.js';
import { Args, randomSeed, runAsProgram } from './args.js';
import { startToolBroker } from './brokers.js';
import { Rng } from './rng.js';

const { Kafka, logLevel } = kafkajs;

const USAGE =
  'usage: npm run crashloop -- --cycles N [--seed S] [--data-dir DIR] [--partitions P] [--producers K] [--senders S] [--kill-min-ms A] [--kill-max-ms B] [--keep]';
const TOPIC = 'crashloop';
const MIN_RECORD = 100;
const MAX_RECORD = 20 * 1024;

export interface CrashloopOptions {
  readonly cycles: number;
  readonly seed: number;
  /** Defaults to a new temporary directory, removed at the end unless `keep` or a failure. */
  readonly dataDir?: string;
  readonly partitions: number;
  readonly producers: number;
  readonly senders: number;
  readonly killMinMs: number;
  readonly killMaxMs: number;
  readonly keep?: boolean;
  readonly log: (line: string) => void;
}

export interface CycleStats {
  readonly cycle: number;
  /** From spawning the broker to its ready line (recovery included). */
  readonly recoveryMs: number;
  readonly recovered: boolean;
  /** "recovery cut" lines in the broker's log. */
  readonly cuts: number;
  readonly verifyMs: number;
  /** Records in the log at the check, and how many of them were never acknowledged. */
  readonly logRecords: number;
  readonly unackedPresent: number;
  /** Records acknowledged in this cycle, and their bytes. */
  readonly acked: number;
  readonly ackedBytes: number;
  /** Records sent and not acknowledged when the broker was killed. */
  readonly inFlight: number;
  readonly killAtMs: number;
}

export interface CrashloopResult {
  readonly cycles: CycleStats[];
  readonly totalAcked: number;
  readonly failure: string | null;
  readonly dataDir: string;
}

interface Position {
  readonly partition: number;
  readonly offset: number;
  readonly size: number;
}

/** Padding that depends on the id, so a record's bytes can be checked without keeping them. */
function recordValue(id: string, size: number): Buffer {
  const head = `cl|${id}|${size}|`;
  const b = Buffer.alloc(size);
  b.write(head, 0, 'latin1');
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  for (let i = head.length; i < size; i++) {
    h = (Math.imul(h, 1103515245) + 12345) >>> 0;
    b[i] = 97 + ((h >>> 16) % 26);
  }
  return b;
}

class CheckFailed extends Error {}

/**
 * Reads every partition from offset 0 to its high watermark and checks it against `acked`
 * (id -> position) and `sent` (every id ever sent). Returns the records seen and how many were
 * not acknowledged.
 */
async function verify(
  address: string,
  partitions: number,
  acked: ReadonlyMap<string, Position>,
  sent: ReadonlySet<string>,
): Promise<{ records: number; unackedPresent: number }> {
  const client = new Client({ brokers: [address], clientId: 'franz-crashloop-check' });
  const seen = new Map<string, { partition: number; offset: number }>();
  let unackedPresent = 0;
  try {
    const ends = await client.listOffsets(
      TOPIC,
      Array.from({ length: partitions }, (_, p) => p),
      -1,
    );
    for (let p = 0; p < partitions; p++) {
      const end = ends.get(p)!.offset;
      let next = 0;
      while (next < end) {
        const [got] = await client.fetch(TOPIC, new Map([[p, next]]), { maxWaitMs: 0, maxBytes: 16 << 20, partitionMaxBytes: 8 << 20 });
        if (got === undefined || got.errorCode !== 0)
          throw new CheckFailed(`partition ${p}: fetch at ${next} answered error ${got?.errorCode}`);
        if (got.records.length === 0) throw new CheckFailed(`partition ${p}: no record at ${next} below the high watermark ${end}`);
        for (const r of got.records) {
          if (r.offset !== next) throw new CheckFailed(`partition ${p}: offset ${r.offset} where ${next} was expected (offsets not dense)`);
          next++;
          const v = r.value ?? Buffer.alloc(0);
          const m = /^cl\|([^|]+)\|(\d+)\|/.exec(v.subarray(0, 64).toString('latin1'));
          if (m === null) throw new CheckFailed(`partition ${p} offset ${r.offset}: not a crashloop record`);
          const id = m[1]!;
          const size = Number(m[2]);
          if (v.length !== size || !v.equals(recordValue(id, size))) {
            throw new CheckFailed(`partition ${p} offset ${r.offset}: record ${id} damaged (${v.length} bytes, ${size} expected)`);
          }
          const before = seen.get(id);
          if (before !== undefined) {
            throw new CheckFailed(`record ${id} stored twice: ${before.partition}/${before.offset} and ${p}/${r.offset}`);
          }
          seen.set(id, { partition: p, offset: r.offset });
          const a = acked.get(id);
          if (a === undefined) {
            if (!sent.has(id)) throw new CheckFailed(`partition ${p} offset ${r.offset}: record ${id} was never sent`);
            unackedPresent++;
          } else if (a.partition !== p || a.offset !== r.offset) {
            throw new CheckFailed(`record ${id} acknowledged at ${a.partition}/${a.offset}, found at ${p}/${r.offset}`);
          }
        }
      }
    }
  } finally {
    await client.close();
  }
  const lost = [...acked.keys()].filter((id) => !seen.has(id));
  if (lost.length > 0) {
    const where = lost.slice(0, 5).map((id) => `${id} at ${acked.get(id)!.partition}/${acked.get(id)!.offset}`);
    throw new CheckFailed(`${lost.length} acknowledged records lost: ${where.join(', ')}`);
  }
  return { records: seen.size, unackedPresent };
}

/**
 * Produces from `producers` kafkajs producers, `senders` sends in flight on each, until the
 * broker is killed `killAtMs` after the first send. Each send: 1-4 records to one partition.
 */
async function produceUntilKilled(
  broker: RunningBroker,
  o: CrashloopOptions,
  rng: Rng,
  cycle: number,
  killAtMs: number,
  acked: Map<string, Position>,
  sent: Set<string>,
): Promise<{ acked: number; ackedBytes: number; inFlight: number }> {
  const kafka = new Kafka({ clientId: 'franz-crashloop', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producers = Array.from({ length: o.producers }, () => kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false }));
  await Promise.all(producers.map((p) => p.connect()));
  let killed: Promise<void> | null = null;
  let ackedNow = 0;
  let ackedBytes = 0;
  let inFlight = 0;
  let seq = 0;
  const timer = setTimeout(() => {
    killed = broker.kill9();
  }, killAtMs);
  const sender = async (producer: kafkajs.Producer, k: number): Promise<void> => {
    while (killed === null) {
      const partition = rng.int(o.partitions);
      const records = Array.from({ length: 1 + rng.int(4) }, () => {
        const id = `${cycle}.${k}.${seq++}`;
        const size = MIN_RECORD + rng.int(MAX_RECORD - MIN_RECORD + 1);
        return { id, size, value: recordValue(id, size) };
      });
      for (const r of records) sent.add(r.id);
      inFlight += records.length;
      let res: kafkajs.RecordMetadata[];
      try {
        res = await producer.send({ topic: TOPIC, acks: -1, messages: records.map((r) => ({ value: r.value, partition })) });
      } catch {
        return; // the broker is gone: this send stays unacknowledged (never re-sent)
      }
      inFlight -= records.length;
      const meta = res[0];
      if (res.length !== 1 || meta === undefined || meta.partition !== partition || meta.errorCode !== 0) {
        throw new CheckFailed(`an acknowledgement that does not match its send: ${JSON.stringify(res)}`);
      }
      const base = Number(meta.baseOffset);
      for (const [j, r] of records.entries()) {
        acked.set(r.id, { partition, offset: base + j, size: r.size });
        ackedNow++;
        ackedBytes += r.size;
      }
    }
  };
  try {
    await Promise.all(producers.flatMap((p, k) => Array.from({ length: o.senders }, (_, s) => sender(p, k * o.senders + s))));
  } finally {
    clearTimeout(timer);
    if (killed === null) killed = broker.kill9();
    await killed;
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  }
  return { acked: ackedNow, ackedBytes, inFlight };
}

export async function runCrashloop(o: CrashloopOptions): Promise<CrashloopResult> {
  const rng = new Rng(o.seed);
  const dataDir = o.dataDir ?? tempDir('franz-crashloop-');
  const acked = new Map<string, Position>();
  const sent = new Set<string>();
  const cycles: CycleStats[] = [];
  let failure: string | null = null;
  let broker: RunningBroker | null = null;
  o.log(
    `crashloop: seed ${o.seed}, ${o.cycles} cycles, data dir ${dataDir}, ${o.partitions} partitions, ${o.producers} producers x ${o.senders} sends in flight, kill ${o.killMinMs}-${o.killMaxMs} ms into the produce`,
  );
  try {
    for (let cycle = 0; cycle <= o.cycles; cycle++) {
      const t0 = performance.now();
      broker = await startToolBroker({ dataDir });
      const recoveryMs = performance.now() - t0;
      const cuts = broker
        .stderr()
        .split('\n')
        .filter((l) => l.includes('recovery cut')).length;
      if (cycle === 0) {
        const admin = new Client({ brokers: [broker.address], clientId: 'franz-crashloop-admin' });
        try {
          await admin.createTopics([{ name: TOPIC, numPartitions: o.partitions, replicationFactor: 1 }]);
        } finally {
          await admin.close();
        }
      }
      const v0 = performance.now();
      const check = await verify(broker.address, o.partitions, acked, sent);
      const verifyMs = performance.now() - v0;
      if (cycle === o.cycles) {
        o.log(
          `final check: ${check.records} records in the log (${check.unackedPresent} never acknowledged), every one of ${acked.size} acknowledged there once; recovery ${recoveryMs.toFixed(0)} ms, check ${verifyMs.toFixed(0)} ms`,
        );
        break;
      }
      const killAtMs = o.killMinMs + rng.int(o.killMaxMs - o.killMinMs + 1);
      const p = await produceUntilKilled(broker, o, rng, cycle, killAtMs, acked, sent);
      const s: CycleStats = {
        cycle: cycle + 1,
        recoveryMs,
        recovered: /recovery done/.test(broker.readyLine),
        cuts,
        verifyMs,
        logRecords: check.records,
        unackedPresent: check.unackedPresent,
        acked: p.acked,
        ackedBytes: p.ackedBytes,
        inFlight: p.inFlight,
        killAtMs,
      };
      cycles.push(s);
      o.log(
        `cycle ${s.cycle}/${o.cycles}: start ${s.recoveryMs.toFixed(0)} ms (${cycle === 0 ? 'new' : s.recovered ? 'recovered' : 'no recovery'}${s.cuts > 0 ? `, ${s.cuts} tail cut` : ''}), check of ${s.logRecords} records ${s.verifyMs.toFixed(0)} ms (${s.unackedPresent} unacknowledged present); then ${s.acked} records (${(s.ackedBytes / 1048576).toFixed(1)} MiB) acknowledged, killed at ${s.killAtMs} ms with ${s.inFlight} in flight`,
      );
    }
  } catch (e) {
    if (!(e instanceof CheckFailed)) throw e;
    failure = e.message;
    o.log(`FAILED: ${failure}`);
  } finally {
    if (broker !== null && broker.process.exitCode === null && broker.process.signalCode === null) await broker.stop();
    if (failure === null && o.keep !== true && o.dataDir === undefined) removeDir(dataDir);
    else o.log(`data dir kept: ${dataDir}`);
  }
  return { cycles, totalAcked: acked.size, failure, dataDir };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = new Args(argv, ['keep']);
  const known = ['cycles', 'seed', 'data-dir', 'partitions', 'producers', 'senders', 'kill-min-ms', 'kill-max-ms', 'keep'];
  const unknown = args.unknown(known);
  if (unknown.length > 0) {
    console.error(`unknown option --${unknown[0]}\n${USAGE}`);
    return 2;
  }
  const seed = args.number('seed', randomSeed()) >>> 0;
  const r = await runCrashloop({
    cycles: args.number('cycles', 10),
    seed,
    dataDir: args.string('data-dir'),
    partitions: args.number('partitions', 3),
    producers: args.number('producers', 3),
    senders: args.number('senders', 3),
    killMinMs: args.number('kill-min-ms', 100),
    killMaxMs: args.number('kill-max-ms', 1500),
    keep: args.flag('keep'),
    log: (line) => console.log(line),
  });
  const rec = r.cycles.filter((c) => c.cycle > 1).map((c) => c.recoveryMs);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log(
    `\ncrashloop summary (seed ${seed}): ${r.cycles.length} cycles, ${r.totalAcked} records acknowledged in all; restart after kill -9: mean ${mean(rec).toFixed(0)} ms, max ${Math.max(0, ...rec).toFixed(0)} ms`,
  );
  if (r.failure !== null) {
    console.log(`FAILED: ${r.failure}`);
    return 1;
  }
  console.log('crashloop passed: every acknowledged record present exactly once');
  return 0;
}

runAsProgram('crashloop.js', main);
