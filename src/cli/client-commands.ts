/**
 * The client commands `topic`, `produce` and `consume` (`group` is in group-commands.ts). They
 * speak the Kafka protocol through src/client/client.ts, like any other client, so they work
 * against any Kafka-compatible broker.
 *
 * Exit codes: 0 success, 1 an error (one line on stderr: "franz: ..."), 2 a usage error; main.ts
 * maps errors to codes.
 *
 * consume stops, by default, once it has printed every record below the end offsets (high
 * watermarks) it saw when it started, so `franz consume t` prints what the topic holds now and exits,
 * like `cat`. It starts from the beginning unless told otherwise. `--follow` keeps polling for new
 * records instead (like `tail -f`); `-n N` stops after N records in either mode.
 */
import { Command, InvalidArgumentError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import {
  type Client,
  ClientError,
  ConfigSourceId,
  EARLIEST_TIMESTAMP,
  KafkaError,
  LATEST_TIMESTAMP,
  ResourceType,
  type AlterOp,
  type ConfigEntry,
  type OffsetAnswer,
} from '../client/client.js';
import { ErrorCode } from '../protocol/errors.js';
import { Compression, type KafkaRecord } from '../records/record-batch.js';
import { clientCommand, common, integer, keyValue, nonEmpty, repeatable, timestamp } from './args.js';
import { jsonLine, out, withClient } from './io.js';
import { produceLines } from './produce.js';

// ---------------------------------------------------------------------------------------------
// topic

export function topicCommand(): CommandUnknownOpts {
  const topic = new Command('topic').description('create, list, describe, delete and configure topics');

  topic.addCommand(
    clientCommand('create')
      .description('create a topic')
      .argument('<name>', 'topic name')
      .option('--partitions <N>', "number of partitions (default: the broker's num.partitions)", integer(1))
      .option('--replication-factor <N>', "replication factor (default: the broker's)", integer(1))
      .option('--config <key=value>', 'a topic config; repeatable', repeatable(keyValue))
      .action(async (name, opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          await client.createTopics([
            {
              name,
              numPartitions: opts.partitions,
              replicationFactor: opts.replicationFactor,
              configs: Object.fromEntries(opts.config ?? []),
            },
          ]);
          await out(c.json ? jsonLine({ topic: name, created: true }) : `Created topic ${name}.\n`);
        });
      }),
  );

  topic.addCommand(
    clientCommand('list')
      .description('list topics, by name')
      .action(async (opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const md = await client.metadata(null);
          const topics = [...md.topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          await out(
            topics
              .map((t) =>
                c.json
                  ? jsonLine({ name: t.name, topicId: t.topicId, partitions: t.partitions.length, internal: t.isInternal })
                  : `${t.name}\n`,
              )
              .join(''),
          );
        });
      }),
  );

  topic.addCommand(
    clientCommand('describe')
      .description(
        "partitions, leaders, start/end offsets, non-default configs (with --http: the log cleaner's dirty ratio and last clean)",
      )
      .argument('<name>', 'topic name')
      .addOption(
        new Option('--http <HOST:PORT>', "a broker's HTTP listener, for what no Kafka API carries (the cleaner's state)").env('FRANZ_HTTP'),
      )
      .action(async (name, opts) => {
        const c = common(opts);
        const cleaner = opts.http === undefined ? null : await cleanerState(opts.http, name);
        await withClient(c, (client) => describeTopic(client, name, c.json, cleaner));
      }),
  );

  topic.addCommand(
    clientCommand('delete')
      .description('delete a topic')
      .argument('<name>', 'topic name')
      .action(async (name, opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          await client.deleteTopics([name]);
          await out(c.json ? jsonLine({ topic: name, deleted: true }) : `Deleted topic ${name}.\n`);
        });
      }),
  );

  topic.addCommand(
    clientCommand('alter-config')
      .description("set or delete a topic's configs")
      .argument('<name>', 'topic name')
      .option('--set <key=value>', 'set a config; repeatable', repeatable(keyValue))
      .option('--delete <key>', 'delete a config (back to its default); repeatable', repeatable(configName))
      .action(async (name, opts, cmd) => {
        const ops: AlterOp[] = [
          ...(opts.set ?? []).map(([k, v]): AlterOp => ({ op: 'set', name: k, value: v })),
          ...(opts.delete ?? []).map((k): AlterOp => ({ op: 'delete', name: k })),
        ];
        if (ops.length === 0) return cmd.error('alter-config needs at least one --set key=value or --delete key', { exitCode: 2 });
        const c = common(opts);
        await withClient(c, async (client) => {
          await client.incrementalAlterConfigs(ResourceType.TOPIC, name, ops);
          await out(c.json ? jsonLine({ topic: name, altered: ops.map((o) => o.name) }) : `Updated config of topic ${name}.\n`);
        });
      }),
  );

  return topic;
}

function configName(value: string): string {
  if (value === '' || value.includes('=')) throw new InvalidArgumentError('expected a config name');
  return value;
}

/** Non-default configs: a topic override, or a broker setting that differs from Kafka's default. */
function nonDefault(configs: readonly ConfigEntry[]): ConfigEntry[] {
  // -1: a broker too old to say where a config comes from.
  const defaults: ReadonlySet<number> = new Set([ConfigSourceId.DEFAULT_CONFIG, ConfigSourceId.UNKNOWN, -1]);
  return configs.filter((e) => !defaults.has(e.source) && !e.sensitive);
}

interface CleanerState {
  dirtyRatio: number;
  /** Epoch ms of the last clean since the broker started, or null. */
  lastCleanMs: number | null;
}

/**
 * The log cleaner's state of a topic's partitions, from a broker's /metrics
 * (franz_log_cleaner_dirty_ratio, franz_log_cleaner_last_clean_timestamp_seconds): the replicas
 * that broker holds. Kafka has no API for it; Kafka's operators read the same from JMX.
 */
async function cleanerState(address: string, topic: string): Promise<Map<number, CleanerState>> {
  const res = await fetch(`http://${address}/metrics`);
  if (!res.ok) throw new Error(`GET http://${address}/metrics: ${res.status}`);
  const out = new Map<number, CleanerState>();
  const sample = /^(franz_log_cleaner_dirty_ratio|franz_log_cleaner_last_clean_timestamp_seconds)\{([^}]*)\} (\S+)$/;
  for (const line of (await res.text()).split('\n')) {
    const m = sample.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.topic !== topic) continue;
    const p = Number(labels.partition);
    const state = out.get(p) ?? { dirtyRatio: 0, lastCleanMs: null };
    if (m[1] === 'franz_log_cleaner_dirty_ratio') state.dirtyRatio = Number(m[3]);
    else state.lastCleanMs = Number(m[3]) > 0 ? Math.round(Number(m[3]) * 1000) : null;
    out.set(p, state);
  }
  return out;
}

async function describeTopic(client: Client, name: string, json: boolean, cleaner: Map<number, CleanerState> | null = null): Promise<void> {
  const t = await client.topic(name, { refresh: true });
  const ids = t.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
  const none = new Map<number, OffsetAnswer>();
  const [starts, ends] =
    ids.length === 0
      ? [none, none]
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
    await out(
      jsonLine({
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
          ...(cleaner?.has(p.partition)
            ? { dirtyRatio: cleaner.get(p.partition)!.dirtyRatio, lastCleanMs: cleaner.get(p.partition)!.lastCleanMs }
            : {}),
        })),
        configs: configs === null ? null : Object.fromEntries(configs.map((e) => [e.name, e.value])),
        configSources: configs === null ? null : Object.fromEntries(configs.map((e) => [e.name, e.sourceName])),
      }),
    );
    return;
  }
  let text = `Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${rf}`;
  if (t.isInternal) text += '\tInternal: true';
  text += '\n';
  if (configs !== null) {
    const shown = configs.map(
      (e) => `${e.name}=${e.value ?? ''}${e.source === ConfigSourceId.DYNAMIC_TOPIC_CONFIG ? '' : ` (${e.sourceName})`}`,
    );
    text += `Configs: ${shown.length > 0 ? shown.join(', ') : '(all defaults)'}\n`;
  } else {
    text += `Configs: unavailable (${configError})\n`;
  }
  for (const p of t.partitions) {
    text += `\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`;
    if (p.offline.length > 0) text += `\tOffline: ${p.offline.join(',')}`;
    text += `\tStartOffset: ${starts.get(p.partition)?.offset ?? '?'}\tEndOffset: ${ends.get(p.partition)?.offset ?? '?'}`;
    const cs = cleaner?.get(p.partition);
    if (cs !== undefined) {
      text += `\tDirtyRatio: ${cs.dirtyRatio.toFixed(2)}\tLastClean: ${cs.lastCleanMs === null ? 'never' : new Date(cs.lastCleanMs).toISOString()}`;
    }
    text += '\n';
  }
  await out(text);
}

// ---------------------------------------------------------------------------------------------
// produce

export function produceCommand(): CommandUnknownOpts {
  return clientCommand('produce')
    .description('send each line of stdin as one record')
    .argument('<topic>', 'topic name')
    .option('--key-separator <SEP>', 'the text before the first SEP of a line is the key', nonEmpty)
    .option('--header <key=value>', 'a header for every record; repeatable', repeatable(keyValue))
    .option('--partition <P>', 'send every record to this partition', integer(0))
    .addOption(new Option('--compression <codec>', 'compress batches').choices(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'))
    .addHelpText(
      'after',
      `
Records go up to 1000 per request, each request sent as soon as the previous one is answered
(acks=all). Keyed records go to the partition the Java client would pick (murmur2); unkeyed
records of one request go to one partition, rotating between requests.
--format json prints {"topic","partition","offset"} for each record produced.`,
    )
    .action(async (topic, opts) => {
      const c = common(opts);
      await withClient(c, (client) =>
        produceLines(client, topic, process.stdin, {
          keySeparator: opts.keySeparator,
          headers: (opts.header ?? []).map(([key, value]) => ({ key, value: Buffer.from(value, 'utf8') })),
          partition: opts.partition,
          compression: Compression[opts.compression],
          json: c.json,
        }),
      );
    });
}

// ---------------------------------------------------------------------------------------------
// consume

/** Where consume starts in every partition it reads. */
type StartAt = { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'time'; readonly timestamp: number };

function startOffset(value: string): StartAt {
  if (value === 'earliest' || value === 'beginning') return { kind: 'time', timestamp: EARLIEST_TIMESTAMP };
  if (value === 'latest' || value === 'end') return { kind: 'time', timestamp: LATEST_TIMESTAMP };
  return { kind: 'offset', offset: integer(0)(value) };
}

export function consumeCommand(): CommandUnknownOpts {
  return clientCommand('consume')
    .description("print each record's value, one per line")
    .argument('<topic>', 'topic name')
    .addOption(new Option('--from-beginning', 'start at the beginning (the default)').conflicts(['offset', 'timestamp']))
    .addOption(
      new Option('--offset <N|earliest|latest>', 'start at this offset of every partition read')
        .argParser(startOffset)
        .conflicts('timestamp'),
    )
    .addOption(
      new Option('--timestamp <T>', 'start at the first record at or after T (ms since the epoch, or an ISO date)').argParser(timestamp),
    )
    .option('--partition <P>', 'read only this partition', integer(0))
    .option('-n, --max-messages <N>', 'stop after N records', integer(0))
    .option('-f, --follow', 'keep polling for new records instead of stopping at the end')
    .option('--key-separator <SEP>', 'print key<SEP>value')
    .addHelpText(
      'after',
      `
Stops at the end offsets seen at start, or after N records with -n N; --follow keeps polling for
new records instead of stopping at the end.
--format json prints {"topic","partition","offset","timestamp","key","value","headers"} per record
(key and value as UTF-8 strings or null; headers as [{"key","value"}]).`,
    )
    .action(async (topic, opts) => {
      const c = common(opts);
      const startAt: StartAt = opts.offset ?? { kind: 'time', timestamp: opts.timestamp ?? EARLIEST_TIMESTAMP };
      await withClient(c, (client) =>
        consume(client, topic, {
          startAt,
          partition: opts.partition,
          max: opts.maxMessages ?? Infinity,
          follow: opts.follow === true,
          format: recordFormatter(topic, c.json, opts.keySeparator),
        }),
      );
    });
}

interface ConsumeOptions {
  readonly startAt: StartAt;
  /** Only this partition; every partition without it. */
  readonly partition: number | undefined;
  readonly max: number;
  readonly follow: boolean;
  readonly format: (r: KafkaRecord, partition: number) => string;
}

function utf8(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

function recordFormatter(topic: string, json: boolean, keySeparator: string | undefined): (r: KafkaRecord, partition: number) => string {
  if (json) {
    return (r, partition) =>
      jsonLine({
        topic,
        partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: utf8(r.key),
        value: utf8(r.value),
        headers: r.headers.map((h) => ({ key: h.key, value: utf8(h.value) })),
      });
  }
  return (r) => {
    const value = utf8(r.value) ?? '';
    return keySeparator === undefined ? `${value}\n` : `${utf8(r.key) ?? ''}${keySeparator}${value}\n`;
  };
}

/** The offset to start at in each partition; partitions already at their end (`ends`) are left out. */
async function startPositions(
  client: Client,
  topic: string,
  partitions: readonly number[],
  startAt: StartAt,
  ends: ReadonlyMap<number, OffsetAnswer> | null,
): Promise<Map<number, number>> {
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
  return positions;
}

/** Partition errors after which consume finds the leader again instead of failing. */
const LEADER_MOVED: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.FENCED_LEADER_EPOCH,
]);

async function consume(client: Client, topic: string, opts: ConsumeOptions): Promise<void> {
  const meta = await client.topic(topic, { refresh: true });
  const all = meta.partitions.map((p) => p.partition);
  if (opts.partition !== undefined && !all.includes(opts.partition)) {
    throw new KafkaError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `topic "${topic}" has ${all.length} partition(s), no partition ${opts.partition}`,
    );
  }
  const partitions = opts.partition !== undefined ? [opts.partition] : all;
  if (opts.max === 0 || partitions.length === 0) return;

  const ends = opts.follow ? null : await client.listOffsets(topic, partitions, LATEST_TIMESTAMP);
  const positions = await startPositions(client, topic, partitions, opts.startAt, ends);
  let printed = 0;
  let partitionMaxBytes = 1024 * 1024;
  let retries = 0;
  while (positions.size > 0 && printed < opts.max) {
    const results = await client.fetch(topic, positions, { maxWaitMs: opts.follow ? 1000 : 500, partitionMaxBytes });
    let text = '';
    let refresh = false;
    for (const res of results) {
      const p = res.partition;
      if (!positions.has(p)) continue;
      if (res.errorCode !== ErrorCode.NONE) {
        if (res.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          throw new KafkaError(
            res.errorCode,
            `offset ${positions.get(p)} of ${topic}-${p} (log start ${res.logStartOffset}, end ${res.highWatermark})`,
          );
        }
        if (!LEADER_MOVED.has(res.errorCode)) throw new KafkaError(res.errorCode, `fetch ${topic}-${p}`);
        refresh = true;
        continue;
      }
      // Only part of a batch came back: ask for more next time.
      if (res.truncated) partitionMaxBytes = Math.min(partitionMaxBytes * 2, 64 * 1024 * 1024);
      const end = ends?.get(p)?.offset ?? Infinity;
      for (const r of res.records) {
        if (r.offset >= end || printed >= opts.max) break;
        text += opts.format(r, p);
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
}
