/**
 * The client commands of `franz`: `topic`, `produce`, `consume` and `group` (in group-commands.ts,
 * which uses the helpers exported here). They speak the Kafka protocol
 * through src/client/client.ts, like any other client, so they work against any Kafka-compatible
 * broker.
 *
 * Exit codes: 0 success, 1 an error (one line on stderr: "franz: ..."), 2 a usage error.
 *
 * consume stops, by default, once it has printed every record below the end offsets (high
 * watermarks) it saw when it started, so `franz consume t` prints what the topic holds now and exits,
 * like `cat`. It starts from the beginning unless told otherwise. `--follow` keeps polling for new
 * records instead (like `tail -f`); `-n N` stops after N records in either mode.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  Client,
  ClientError,
  KafkaError,
  ResourceType,
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  type AlterOp,
  type ConfigEntry,
  type TopicMetadata,
} from '../client/client.js';
import { partitionForKey } from '../client/partitioner.js';
import { Compression, RecordsError, type CompressionName, type KafkaRecord, type RecordInput } from '../records/record-batch.js';
import { ErrorCode } from '../protocol/errors.js';

const DEFAULT_BROKERS = '127.0.0.1:9092';

const COMMON_HELP = `common options:
  --brokers HOST:PORT[,HOST:PORT...]   bootstrap brokers (default: $FRANZ_BROKERS or ${DEFAULT_BROKERS})
  --format text|json                   json: one JSON object per line, for scripts`;

const TOPIC_USAGE = `usage:
  franz topic create NAME [--partitions N] [--replication-factor N] [--config k=v ...]
  franz topic list
  franz topic describe NAME          partitions, leaders, start/end offsets, non-default configs
  franz topic delete NAME
  franz topic alter-config NAME [--set k=v ...] [--delete k ...]
${COMMON_HELP}`;

const PRODUCE_USAGE = `usage: franz produce TOPIC [--key-separator SEP] [--header k=v ...] [--partition P]
                     [--compression none|gzip|snappy|lz4]
  Sends each line of stdin as one record (up to 1000 records per request, sent as soon as the
  previous request is answered; acks=all). With --key-separator, the text before the first SEP
  is the key. Keyed records go to the partition the Java client would pick (murmur2); unkeyed
  records of one request go to one partition, rotating between requests.
  --format json prints {"topic","partition","offset"} for each record produced.
${COMMON_HELP}`;

const CONSUME_USAGE = `usage: franz consume TOPIC [--from-beginning | --offset N|earliest|latest | --timestamp T]
                     [--partition P] [-n N] [--follow] [--key-separator SEP]
  Prints each record's value, one per line (key<SEP>value with --key-separator).
  Starts at the beginning by default; --timestamp takes milliseconds since the epoch or an ISO
  date and starts at the first record at or after it (--offset N applies to every partition read).
  Stops at the end offsets seen at start, or after N records with -n N; --follow keeps polling for
  new records instead of stopping at the end.
  --format json prints {"topic","partition","offset","timestamp","key","value","headers"} per record
  (key and value as UTF-8 strings or null; headers as [{"key","value"}]).
${COMMON_HELP}`;

export class UsageError extends Error {}

const commonOptions = {
  brokers: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export interface Common {
  brokers: string[];
  json: boolean;
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...commonOptions, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function common(values: { brokers?: string | undefined; format?: string | undefined }): Common {
  const list = values.brokers ?? process.env.FRANZ_BROKERS ?? DEFAULT_BROKERS;
  const brokers = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (brokers.length === 0) throw new UsageError('--brokers needs at least one HOST:PORT');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not "${format}"`);
  return { brokers, json: format === 'json' };
}

export function intArg(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${name} must be an integer >= ${min}, not "${value}"`);
  }
  return n;
}

function keyValue(option: string, s: string): [string, string] {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new UsageError(`${option} expects key=value, not "${s}"`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return positionals[0]!;
}

// ---------------------------------------------------------------------------------------------
// Output, with backpressure and a quiet exit when the reader goes away (`| head`).

let stdoutClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') {
    stdoutClosed = true;
    process.exit(process.exitCode ?? 0);
  }
});

export async function out(text: string | Buffer): Promise<void> {
  if (stdoutClosed || text.length === 0) return;
  if (!process.stdout.write(text)) {
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }
}

export function jsonLine(o: unknown): string {
  return JSON.stringify(o) + '\n';
}

// ---------------------------------------------------------------------------------------------
// topic

async function topicCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(TOPIC_USAGE + '\n');
    return sub === undefined ? 2 : 0;
  }
  switch (sub) {
    case 'create': {
      const { values, positionals } = parse(rest, {
        partitions: { type: 'string' },
        'replication-factor': { type: 'string' },
        config: { type: 'string', multiple: true },
      });
      if (values.help) return help(TOPIC_USAGE);
      const name = onePositional(positionals, 'topic name');
      const c = common(values);
      const numPartitions = intArg('--partitions', values.partitions, 1);
      const replicationFactor = intArg('--replication-factor', values['replication-factor'], 1);
      const configs: Record<string, string> = {};
      for (const kv of values.config ?? []) {
        const [k, v] = keyValue('--config', kv);
        configs[k] = v;
      }
      return withClient(c, async (client) => {
        await client.createTopics([{ name, numPartitions, replicationFactor, configs }]);
        await out(c.json ? jsonLine({ topic: name, created: true }) : `Created topic ${name}.\n`);
      });
    }
    case 'list': {
      const { values, positionals } = parse(rest, {});
      if (values.help) return help(TOPIC_USAGE);
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const c = common(values);
      return withClient(c, async (client) => {
        const md = await client.metadata(null);
        const topics = [...md.topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        let text = '';
        for (const t of topics) {
          text += c.json
            ? jsonLine({ name: t.name, topicId: t.topicId, partitions: t.partitions.length, internal: t.isInternal })
            : `${t.name}\n`;
        }
        await out(text);
      });
    }
    case 'describe': {
      const { values, positionals } = parse(rest, {});
      if (values.help) return help(TOPIC_USAGE);
      const name = onePositional(positionals, 'topic name');
      const c = common(values);
      return withClient(c, (client) => describeTopic(client, name, c.json));
    }
    case 'delete': {
      const { values, positionals } = parse(rest, {});
      if (values.help) return help(TOPIC_USAGE);
      const name = onePositional(positionals, 'topic name');
      const c = common(values);
      return withClient(c, async (client) => {
        await client.deleteTopics([name]);
        await out(c.json ? jsonLine({ topic: name, deleted: true }) : `Deleted topic ${name}.\n`);
      });
    }
    case 'alter-config': {
      const { values, positionals } = parse(rest, {
        set: { type: 'string', multiple: true },
        delete: { type: 'string', multiple: true },
      });
      if (values.help) return help(TOPIC_USAGE);
      const name = onePositional(positionals, 'topic name');
      const c = common(values);
      const ops: AlterOp[] = [];
      for (const kv of values.set ?? []) {
        const [k, v] = keyValue('--set', kv);
        ops.push({ op: 'set', name: k, value: v });
      }
      for (const k of values.delete ?? []) {
        if (k === '' || k.includes('=')) throw new UsageError(`--delete expects a config name, not "${k}"`);
        ops.push({ op: 'delete', name: k });
      }
      if (ops.length === 0) throw new UsageError('alter-config needs at least one --set k=v or --delete k');
      return withClient(c, async (client) => {
        await client.incrementalAlterConfigs(ResourceType.TOPIC, name, ops);
        await out(c.json ? jsonLine({ topic: name, altered: ops.map((o) => o.name) }) : `Updated config of topic ${name}.\n`);
      });
    }
    default:
      throw new UsageError(`unknown topic command "${sub}"`);
  }
}

/** Non-default configs: a topic override, or a broker setting that differs from Kafka's default. */
function nonDefault(configs: readonly ConfigEntry[]): ConfigEntry[] {
  return configs.filter((e) => e.source !== 5 && e.source !== 0 && e.source !== -1 && !e.sensitive);
}

async function describeTopic(client: Client, name: string, json: boolean): Promise<void> {
  const t = await client.topic(name, { refresh: true });
  const ids = t.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
  const [starts, ends] = ids.length === 0
    ? [new Map(), new Map()]
    : await Promise.all([client.listOffsets(name, ids, EARLIEST_TIMESTAMP), client.listOffsets(name, ids, LATEST_TIMESTAMP)]);
  let configs: ConfigEntry[] | null = null;
  let configError: string | null = null;
  try {
    configs = nonDefault(await client.describeConfigs(ResourceType.TOPIC, name));
  } catch (e) {
    if (e instanceof ClientError && e.code === 'FRANZ_UNSUPPORTED_API') configError = e.message;
    else throw e;
  }
  const rf = t.partitions[0]?.replicas.length ?? 0;
  if (json) {
    await out(jsonLine({
      name: t.name,
      topicId: t.topicId,
      internal: t.isInternal,
      replicationFactor: rf,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        offline: p.offline,
        startOffset: starts.get(p.partition)?.offset ?? null,
        endOffset: ends.get(p.partition)?.offset ?? null,
      })),
      configs: configs === null ? null : Object.fromEntries(configs.map((e) => [e.name, e.value])),
      configSources: configs === null ? null : Object.fromEntries(configs.map((e) => [e.name, e.sourceName])),
    }));
    return;
  }
  let text = `Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${rf}`;
  if (t.isInternal) text += '\tInternal: true';
  text += '\n';
  if (configs !== null) {
    const shown = configs.map((e) => `${e.name}=${e.value ?? ''}${e.source === 1 ? '' : ` (${e.sourceName})`}`);
    text += `Configs: ${shown.length > 0 ? shown.join(', ') : '(all defaults)'}\n`;
  } else {
    text += `Configs: unavailable (${configError})\n`;
  }
  for (const p of t.partitions) {
    text += `\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`;
    if (p.offline.length > 0) text += `\tOffline: ${p.offline.join(',')}`;
    text += `\tStartOffset: ${starts.get(p.partition)?.offset ?? '?'}\tEndOffset: ${ends.get(p.partition)?.offset ?? '?'}\n`;
  }
  await out(text);
}

// ---------------------------------------------------------------------------------------------
// produce

const MAX_RECORDS_PER_REQUEST = 1000;
/** Below the broker's default max.message.bytes (1 MiB), counting uncompressed bytes. */
const MAX_BYTES_PER_REQUEST = 512 * 1024;
/** Read-ahead before stdin is paused. */
const MAX_PENDING_RECORDS = 20_000;

interface Line {
  key: Buffer | null;
  value: Buffer;
}

async function produceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    'key-separator': { type: 'string' },
    header: { type: 'string', multiple: true },
    partition: { type: 'string' },
    compression: { type: 'string' },
  });
  if (values.help) return help(PRODUCE_USAGE);
  const topic = onePositional(positionals, 'topic name');
  const c = common(values);
  const sep = values['key-separator'];
  if (sep === '') throw new UsageError('--key-separator must not be empty');
  const sepBytes = sep === undefined ? null : Buffer.from(sep, 'utf8');
  const headers = (values.header ?? []).map((kv) => {
    const [key, value] = keyValue('--header', kv);
    return { key, value: Buffer.from(value, 'utf8') };
  });
  const fixedPartition = intArg('--partition', values.partition, 0);
  const compressionName = values.compression ?? 'none';
  if (!(compressionName in Compression)) throw new UsageError(`--compression must be none, gzip, snappy or lz4, not "${compressionName}"`);
  if (compressionName === 'zstd') throw new RecordsError('UNSUPPORTED_COMPRESSION', 'zstd is not supported by this client');
  const compression = Compression[compressionName as CompressionName];

  return withClient(c, async (client) => {
    const meta = await client.topic(topic, { allowAutoCreate: true, refresh: true });
    const partitionCount = meta.partitions.length;
    if (partitionCount === 0) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" has no partitions`);
    if (fixedPartition !== undefined && fixedPartition >= partitionCount) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" has ${partitionCount} partition(s), no partition ${fixedPartition}`);
    }
    let sticky = Math.floor(Math.random() * partitionCount);

    const pending: Line[] = [];
    let inflight = false;
    let eof = false;
    let failure: Error | null = null;
    let lineNo = 0;
    let produced = 0;
    let carry: Buffer = Buffer.alloc(0);
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));

    const stop = (e: Error): void => {
      if (failure === null) failure = e;
      process.stdin.pause();
      if (!inflight) finish();
    };

    const takeLine = (raw: Buffer): void => {
      lineNo++;
      const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
      if (sepBytes === null) {
        pending.push({ key: null, value: Buffer.from(line) });
        return;
      }
      const at = line.indexOf(sepBytes);
      if (at < 0) throw new Error(`line ${lineNo} has no key separator ${JSON.stringify(sep)}`);
      pending.push({ key: Buffer.from(line.subarray(0, at)), value: Buffer.from(line.subarray(at + sepBytes.length)) });
    };

    const send = async (lines: Line[]): Promise<void> => {
      const byPartition = new Map<number, RecordInput[]>();
      const order: Array<[number, number]> = []; // per line: partition, index within its batch
      const stickyPartition = sticky;
      sticky = (sticky + 1) % partitionCount;
      for (const l of lines) {
        const p = fixedPartition ?? (l.key !== null ? partitionForKey(l.key, partitionCount) : stickyPartition);
        let list = byPartition.get(p);
        if (list === undefined) byPartition.set(p, (list = []));
        order.push([p, list.length]);
        list.push({ key: l.key, value: l.value, headers });
      }
      const base = await client.produce(topic, byPartition, { compression, acks: -1 });
      produced += lines.length;
      if (c.json) {
        let text = '';
        for (const [p, i] of order) text += jsonLine({ topic, partition: p, offset: base.get(p)! + i });
        await out(text);
      }
    };

    const pump = (): void => {
      if (inflight || failure !== null) return;
      if (pending.length === 0) {
        if (eof) finish();
        return;
      }
      let n = 0;
      let bytes = 0;
      while (n < pending.length && n < MAX_RECORDS_PER_REQUEST) {
        const l = pending[n]!;
        const size = l.value.length + (l.key?.length ?? 0) + 16;
        if (n > 0 && bytes + size > MAX_BYTES_PER_REQUEST) break;
        bytes += size;
        n++;
      }
      const lines = pending.splice(0, n);
      if (pending.length < MAX_PENDING_RECORDS && !eof) process.stdin.resume();
      inflight = true;
      send(lines).then(
        () => {
          inflight = false;
          pump();
        },
        (e: Error) => {
          inflight = false;
          stop(e);
        },
      );
    };

    process.stdin.on('data', (chunk: Buffer) => {
      if (failure !== null) return;
      let data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      let at = 0;
      try {
        for (;;) {
          const nl = data.indexOf(0x0a, at);
          if (nl < 0) break;
          takeLine(data.subarray(at, nl));
          at = nl + 1;
        }
      } catch (e) {
        stop(e as Error);
        return;
      }
      carry = Buffer.from(data.subarray(at));
      data = Buffer.alloc(0);
      if (pending.length >= MAX_PENDING_RECORDS) process.stdin.pause();
      pump();
    });
    process.stdin.on('end', () => {
      if (failure !== null) return;
      try {
        if (carry.length > 0) takeLine(carry);
      } catch (e) {
        stop(e as Error);
        return;
      }
      eof = true;
      pump();
    });
    process.stdin.on('error', (e) => stop(e));
    process.stdin.resume();

    await finished;
    process.stdin.destroy();
    if (failure !== null) {
      const f = failure as Error;
      if (produced > 0) f.message += ` (${produced} record(s) before it were produced)`;
      throw f;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// consume

function parseTimestamp(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new UsageError(`--timestamp must be milliseconds since the epoch or an ISO date, not "${s}"`);
  return t;
}

function utf8(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

async function consumeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    'from-beginning': { type: 'boolean' },
    offset: { type: 'string' },
    timestamp: { type: 'string' },
    partition: { type: 'string' },
    'max-messages': { type: 'string', short: 'n' },
    follow: { type: 'boolean', short: 'f' },
    'key-separator': { type: 'string' },
  });
  if (values.help) return help(CONSUME_USAGE);
  const topic = onePositional(positionals, 'topic name');
  const c = common(values);
  const starts = [values['from-beginning'] ? 1 : 0, values.offset !== undefined ? 1 : 0, values.timestamp !== undefined ? 1 : 0];
  if (starts.reduce((a, b) => a + b, 0) > 1) throw new UsageError('use only one of --from-beginning, --offset and --timestamp');
  let startAt: { kind: 'offset'; offset: number } | { kind: 'time'; timestamp: number } = { kind: 'time', timestamp: EARLIEST_TIMESTAMP };
  if (values.offset !== undefined) {
    const o = values.offset;
    if (o === 'earliest' || o === 'beginning') startAt = { kind: 'time', timestamp: EARLIEST_TIMESTAMP };
    else if (o === 'latest' || o === 'end') startAt = { kind: 'time', timestamp: LATEST_TIMESTAMP };
    else startAt = { kind: 'offset', offset: intArg('--offset', o, 0)! };
  }
  if (values.timestamp !== undefined) startAt = { kind: 'time', timestamp: parseTimestamp(values.timestamp) };
  const onlyPartition = intArg('--partition', values.partition, 0);
  const max = intArg('-n', values['max-messages'], 0) ?? Infinity;
  const follow = values.follow === true;
  const sep = values['key-separator'];

  return withClient(c, async (client) => {
    const meta: TopicMetadata = await client.topic(topic, { refresh: true });
    const all = meta.partitions.map((p) => p.partition);
    if (onlyPartition !== undefined && !all.includes(onlyPartition)) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" has ${all.length} partition(s), no partition ${onlyPartition}`);
    }
    const partitions = onlyPartition !== undefined ? [onlyPartition] : all;
    if (max === 0 || partitions.length === 0) return;

    const ends = follow ? null : await client.listOffsets(topic, partitions, LATEST_TIMESTAMP);
    const positions = new Map<number, number>();
    if (startAt.kind === 'offset') {
      for (const p of partitions) {
        const end = ends?.get(p)?.offset;
        if (end !== undefined && startAt.offset > end) {
          throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${startAt.offset} of ${topic}-${p} is past its end offset ${end}`);
        }
        positions.set(p, startAt.offset);
      }
    } else {
      const found = await client.listOffsets(topic, partitions, startAt.timestamp);
      // No record at or after a timestamp: start at the end.
      const latest = [...found.values()].some((a) => a.offset < 0) ? await client.listOffsets(topic, partitions, LATEST_TIMESTAMP) : null;
      for (const p of partitions) {
        const o = found.get(p)!.offset;
        positions.set(p, o >= 0 ? o : latest!.get(p)!.offset);
      }
    }
    if (ends !== null) {
      for (const p of partitions) if (positions.get(p)! >= ends.get(p)!.offset) positions.delete(p);
    }

    let printed = 0;
    let partitionMaxBytes = 1024 * 1024;
    let retries = 0;
    const format = (r: KafkaRecord, partition: number): string => {
      if (c.json) {
        return jsonLine({
          topic, partition, offset: r.offset, timestamp: r.timestamp,
          key: utf8(r.key), value: utf8(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: utf8(h.value) })),
        });
      }
      const value = utf8(r.value) ?? '';
      return sep === undefined ? `${value}\n` : `${utf8(r.key) ?? ''}${sep}${value}\n`;
    };

    while (positions.size > 0 && printed < max) {
      const results = await client.fetch(topic, positions, { maxWaitMs: follow ? 1000 : 500, partitionMaxBytes });
      let text = '';
      let refresh = false;
      for (const res of results) {
        const p = res.partition;
        if (!positions.has(p)) continue;
        if (res.errorCode !== ErrorCode.NONE) {
          if (res.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
            throw new KafkaError(res.errorCode, `offset ${positions.get(p)} of ${topic}-${p} (log start ${res.logStartOffset}, end ${res.highWatermark})`);
          }
          if (res.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || res.errorCode === ErrorCode.LEADER_NOT_AVAILABLE
            || res.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || res.errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
            refresh = true;
            continue;
          }
          throw new KafkaError(res.errorCode, `fetch ${topic}-${p}`);
        }
        if (res.truncated) partitionMaxBytes = Math.min(partitionMaxBytes * 2, 64 * 1024 * 1024);
        const end = ends?.get(p)?.offset ?? Infinity;
        for (const r of res.records) {
          if (r.offset >= end || printed >= max) break;
          text += format(r, p);
          printed++;
        }
        positions.set(p, res.nextOffset);
        if (res.nextOffset >= end) positions.delete(p);
      }
      await out(text);
      if (refresh) {
        if (++retries > 20) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `fetch from ${topic}`);
        await new Promise((r) => setTimeout(r, 200));
        await client.topic(topic, { refresh: true });
      } else {
        retries = 0;
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------

export function help(usage: string): number {
  process.stdout.write(usage + '\n');
  return 0;
}

export async function withClient(c: Common, fn: (client: Client) => Promise<void>): Promise<number> {
  const client = new Client({ brokers: c.brokers, clientId: 'franz-cli' });
  try {
    await fn(client);
    return 0;
  } finally {
    await client.close();
  }
}

async function usageFor(command: string): Promise<string> {
  if (command === 'group') return (await import('./group-commands.js')).GROUP_USAGE;
  return command === 'topic' ? TOPIC_USAGE : command === 'produce' ? PRODUCE_USAGE : CONSUME_USAGE;
}

export async function runClientCommand(command: string, args: string[]): Promise<number> {
  try {
    switch (command) {
      case 'topic': return await topicCommand(args);
      case 'produce': return await produceCommand(args);
      case 'consume': return await consumeCommand(args);
      case 'group': return await (await import('./group-commands.js')).groupCommand(args);
      default: throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`franz ${command}: ${e.message}\n${await usageFor(command)}\n`);
      return 2;
    }
    if (e instanceof KafkaError || e instanceof ClientError || e instanceof RecordsError) {
      process.stderr.write(`franz: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`franz: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
