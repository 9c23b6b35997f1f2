/**
 * REST in the shapes of Confluent's REST Proxy v2, for clients written against it: produce
 * (`POST /topics/{t}`, `/topics/{t}/partitions/{p}`, embedded formats json and binary), topic
 * metadata (`GET /topics`, `/topics/{t}`), and consumer instances (`/consumers/{group}`: create,
 * subscribe, poll records, commit, seek, delete).
 *
 * A consumer instance is the broker's own, not a Kafka group member: instances of one group share
 * the partitions of what they subscribe to among themselves (round robin over their names, again
 * at every poll), start from the group's committed offsets (else `auto.offset.reset`), and commit
 * through the OffsetCommit handler as a consumer without a membership does (generation -1), so a
 * group that also has Kafka members refuses their commits. An instance unused for
 * INSTANCE_TIMEOUT_MS is removed, as the REST Proxy's consumer.instance.timeout.ms does.
 */
import { partitionForKey } from '../client/partitioner.js';
import { splitTpKey, tpKey } from '../group/topic-partition.js';
import type { Logger } from '../logger.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { encodeRecordBatch } from '../records/record-batch.js';
import type { BrokerCalls } from './broker-calls.js';
import { base64Bytes, type Exchange, HttpError, type HttpServer, parseJson, readBody } from './http-server.js';
import { readCommitted } from './topic-stream.js';

const INSTANCE_TIMEOUT_MS = 300_000;
const JSON_V2 = 'application/vnd.kafka.json.v2+json';
const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
const V2 = 'application/vnd.kafka.v2+json';

type Format = 'json' | 'binary';

interface Instance {
  readonly group: string;
  readonly name: string;
  readonly format: Format;
  readonly reset: 'earliest' | 'latest';
  readonly autoCommit: boolean;
  topics: string[];
  /** Next offset to read, per `topic\0partition` assigned. */
  readonly positions: Map<string, number>;
  lastUsed: number;
}

function formatOf(contentType: string): Format | null {
  if (contentType.startsWith(JSON_V2)) return 'json';
  if (contentType.startsWith(BINARY_V2)) return 'binary';
  return null;
}

export interface RestV2Options {
  readonly maxRecordBytes: number;
  readonly log: Logger;
  /** The listener's own address, for base_uri. */
  readonly baseUri: () => string;
}

export function registerRestV2(server: HttpServer, calls: BrokerCalls, opts: RestV2Options): () => void {
  const s = calls.services;
  const instances = new Map<string, Instance>();
  const key = (group: string, name: string) => `${group}\u0000${name}`;
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, i] of instances) if (now - i.lastUsed > INSTANCE_TIMEOUT_MS) instances.delete(k);
  }, 10_000);
  sweep.unref();

  const json = (x: Exchange, status: number, body: unknown) => x.send(status, V2, JSON.stringify(body));
  const topicOf = (name: string) => {
    const t = s.topics.get(name);
    if (t === undefined) throw new HttpError(404, `Topic ${name} not found.`, 40401, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return t;
  };

  // Topics.
  server.route('get', '/topics', ({ x }) =>
    json(
      x,
      200,
      s.topics
        .list()
        .filter((t) => !t.internal)
        .map((t) => t.name)
        .sort(),
    ),
  );
  server.route('get', '/topics/:topic_name', ({ x, params }) => {
    const t = topicOf(params[0]!);
    const configs = Object.fromEntries(s.topics.describeTopicConfigs(t).map((c) => [c.name, c.value]));
    const partitions = Array.from({ length: t.partitions }, (_, p) => {
      const rs = s.cluster.replicaState(t.name, p);
      return {
        partition: p,
        leader: rs?.leader ?? -1,
        replicas: (rs?.replicas ?? []).map((b) => ({ broker: b, leader: b === rs?.leader, in_sync: rs?.isr.includes(b) ?? false })),
      };
    });
    json(x, 200, { name: t.name, configs, partitions });
  });

  // Produce.
  const roundRobin = new Map<string, number>();
  const produce = async (x: Exchange, topicName: string, fixedPartition: number | null, contentType: string) => {
    const t = topicOf(topicName);
    const format = formatOf(contentType);
    if (format === null) throw new HttpError(415, `send ${JSON_V2} or ${BINARY_V2}`, 41501);
    const body = parseJson(await readBody(x, opts.maxRecordBytes * 4 + 4096)) as { records?: unknown };
    if (typeof body !== 'object' || body === null || !Array.isArray(body.records))
      throw new HttpError(422, 'records must be an array', 42201);
    const bytes = (v: unknown, what: string): Buffer | null => {
      if (v === undefined || v === null) return null;
      if (format === 'json') return Buffer.from(JSON.stringify(v));
      if (typeof v !== 'string') throw new HttpError(422, `${what} must be base64 for the binary format`, 42201);
      return base64Bytes(v, what, 42201);
    };
    // Every record is checked before any is produced: a bad one fails the request, nothing appended.
    const records = (body.records as Array<Record<string, unknown>>).map((r, i) => {
      if (typeof r !== 'object' || r === null) throw new HttpError(422, `records[${i}] must be an object`, 42201);
      const p = fixedPartition ?? (r.partition === undefined || r.partition === null ? null : r.partition);
      if (p !== null && (typeof p !== 'number' || !Number.isInteger(p) || p < 0))
        throw new HttpError(422, `records[${i}].partition must be a whole number`, 42201);
      return { key: bytes(r.key, `records[${i}].key`), value: bytes(r.value, `records[${i}].value`), partition: p as number | null };
    });
    const offsets = [];
    for (const r of records) {
      let partition = r.partition;
      if (partition === null) {
        if (r.key !== null) partition = partitionForKey(r.key, t.partitions);
        else {
          const n = roundRobin.get(t.name) ?? 0;
          roundRobin.set(t.name, n + 1);
          partition = n % t.partitions;
        }
      }
      if (partition >= t.partitions) {
        offsets.push({ partition, offset: null, error_code: 40402, error: 'Partition not found.' });
        continue;
      }
      const out = await calls.produce(t.name, partition, encodeRecordBatch([{ key: r.key, value: r.value }]), x.peer);
      offsets.push(
        out.errorCode === ErrorCode.NONE
          ? { partition, offset: out.baseOffset, error_code: null, error: null }
          : { partition, offset: null, error_code: 50002, error: out.errorMessage ?? errorName(out.errorCode) },
      );
    }
    json(x, 200, { key_schema_id: null, value_schema_id: null, offsets });
  };
  server.route('post', '/topics/:topic_name', ({ x, params, contentType }) => produce(x, params[0]!, null, contentType));
  server.route('post', '/topics/:topic_name/partitions/:partition_id', ({ x, params, contentType }) => {
    const p = Number(params[1]);
    if (!Number.isInteger(p) || p < 0) throw new HttpError(404, 'Partition not found.', 40402);
    return produce(x, params[0]!, p, contentType);
  });

  // Consumer instances.
  const instanceOf = (group: string, name: string): Instance => {
    const i = instances.get(key(group, name));
    if (i === undefined) throw new HttpError(404, 'Consumer instance not found.', 40403);
    i.lastUsed = Date.now();
    return i;
  };
  /** The partitions this instance reads now: its topics' partitions, shared round robin among the group's instances that read them. */
  const assign = (i: Instance): void => {
    const peers = [...instances.values()].filter((o) => o.group === i.group).sort((a, b) => a.name.localeCompare(b.name));
    const mine = new Set<string>();
    for (const topic of [...i.topics].sort()) {
      const t = s.topics.get(topic);
      if (t === undefined) continue;
      const readers = peers.filter((o) => o.topics.includes(topic));
      const at = readers.indexOf(i);
      for (let p = 0; p < t.partitions; p++) if (p % readers.length === at) mine.add(tpKey(topic, p));
    }
    for (const k of [...i.positions.keys()]) if (!mine.has(k)) i.positions.delete(k);
    for (const k of mine) {
      if (i.positions.has(k)) continue;
      const { topic, partition } = splitTpKey(k);
      const log = s.logs.partition(topic, partition);
      const committed = s.groups.committedOffset(i.group, topic, partition)?.offset;
      const start = committed ?? (i.reset === 'earliest' ? (log?.logStartOffset ?? 0) : (log?.lastStableOffset ?? 0));
      i.positions.set(k, start);
    }
  };
  const commit = async (i: Instance, offsets: Array<{ topic: string; partition: number; offset: number }>, peer: string) => {
    const refused = await calls.commitOffsets(i.group, offsets, peer);
    if (refused.length > 0) {
      throw new HttpError(
        409,
        `commit refused: ${refused.map((f) => `${f.topic}-${f.partition} ${errorName(f.errorCode)}`).join(', ')}`,
        40901,
        refused[0]!.errorCode,
      );
    }
  };

  server.route('post', '/consumers/:group_name', async ({ x, params }) => {
    const group = params[0]!;
    const body = parseJson(await readBody(x, 64 * 1024)) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null) throw new HttpError(422, 'the body must be an object', 42204);
    const name = typeof body.name === 'string' && body.name !== '' ? body.name : `rest-consumer-${Math.random().toString(36).slice(2, 10)}`;
    const format = body.format ?? 'binary';
    if (format !== 'json' && format !== 'binary') throw new HttpError(422, 'format must be json or binary', 42204);
    const reset = body['auto.offset.reset'] ?? 'latest';
    if (reset !== 'earliest' && reset !== 'latest') throw new HttpError(422, 'auto.offset.reset must be earliest or latest', 42204);
    if (instances.has(key(group, name)))
      throw new HttpError(409, `Consumer with specified consumer ID already exists in the specified consumer group.`, 40902);
    const autoCommit = String(body['auto.commit.enable'] ?? 'true') === 'true';
    instances.set(key(group, name), { group, name, format, reset, autoCommit, topics: [], positions: new Map(), lastUsed: Date.now() });
    json(x, 200, {
      instance_id: name,
      base_uri: `${opts.baseUri()}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(name)}`,
    });
  });
  server.route('del', '/consumers/:group_name/instances/:instance', ({ x, params }) => {
    instanceOf(params[0]!, params[1]!);
    instances.delete(key(params[0]!, params[1]!));
    x.send(204, V2, '');
  });
  server.route('post', '/consumers/:group_name/instances/:instance/subscription', async ({ x, params }) => {
    const i = instanceOf(params[0]!, params[1]!);
    const body = parseJson(await readBody(x, 64 * 1024)) as { topics?: unknown };
    if (!Array.isArray(body?.topics) || !body.topics.every((t) => typeof t === 'string'))
      throw new HttpError(422, 'topics must be an array of names', 42204);
    for (const t of body.topics as string[]) topicOf(t);
    i.topics = [...new Set(body.topics as string[])];
    x.send(204, V2, '');
  });
  server.route('get', '/consumers/:group_name/instances/:instance/subscription', ({ x, params }) => {
    json(x, 200, { topics: instanceOf(params[0]!, params[1]!).topics });
  });
  server.route('del', '/consumers/:group_name/instances/:instance/subscription', ({ x, params }) => {
    const i = instanceOf(params[0]!, params[1]!);
    i.topics = [];
    i.positions.clear();
    x.send(204, V2, '');
  });
  server.route('get', '/consumers/:group_name/instances/:instance/records', async ({ x, params, query }) => {
    const i = instanceOf(params[0]!, params[1]!);
    const timeout = Math.min(Math.max(0, Number(query.get('timeout') ?? 1000) || 0), 30_000);
    let budget = Math.max(1024, Number(query.get('max_bytes') ?? 16 * 1024 * 1024) || 16 * 1024 * 1024);
    assign(i);
    const out: unknown[] = [];
    const poll = () => {
      for (const [k, pos] of i.positions) {
        if (budget <= 0) break;
        const { topic, partition } = splitTpKey(k);
        const log = s.logs.partition(topic, partition);
        if (log === undefined) continue;
        const r = readCommitted(log, Math.max(pos, log.logStartOffset), Math.min(budget, 1024 * 1024));
        i.positions.set(k, r.next);
        for (const rec of r.records) {
          budget -= (rec.key?.length ?? 0) + (rec.value?.length ?? 0);
          let keyOut: unknown = null;
          let valueOut: unknown = null;
          if (i.format === 'binary') {
            keyOut = rec.key?.toString('base64') ?? null;
            valueOut = rec.value?.toString('base64') ?? null;
          } else {
            try {
              keyOut = rec.key === null ? null : JSON.parse(rec.key.toString('utf8'));
              valueOut = rec.value === null ? null : JSON.parse(rec.value.toString('utf8'));
            } catch {
              throw new HttpError(
                500,
                `the record at ${topic}-${partition}@${rec.offset} is not JSON (create the consumer with format binary)`,
                50002,
              );
            }
          }
          out.push({ topic, key: keyOut, value: valueOut, partition, offset: rec.offset });
        }
      }
    };
    poll();
    if (out.length === 0 && timeout > 0 && i.positions.size > 0) {
      // Long poll: the first high-watermark move of an assigned partition, or the timeout.
      await new Promise<void>((resolve) => {
        const cancels: Array<() => void> = [];
        const done = () => {
          for (const c of cancels) c();
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, timeout);
        for (const k of i.positions.keys()) {
          const { topic, partition } = splitTpKey(k);
          const log = s.logs.partition(topic, partition);
          if (log !== undefined) cancels.push(log.onHighWatermark(done));
        }
        x.onAbort(done);
      });
      if (!x.aborted) poll();
    }
    if (i.autoCommit && out.length > 0) {
      await commit(
        i,
        [...i.positions].map(([k, offset]) => ({ ...splitTpKey(k), offset })),
        x.peer,
      );
    }
    x.send(200, i.format === 'json' ? JSON_V2 : BINARY_V2, JSON.stringify(out));
  });
  server.route('post', '/consumers/:group_name/instances/:instance/offsets', async ({ x, params }) => {
    const i = instanceOf(params[0]!, params[1]!);
    const raw = await readBody(x, 1 << 20);
    let offsets: Array<{ topic: string; partition: number; offset: number }>;
    if (raw.length === 0) offsets = [...i.positions].map(([k, offset]) => ({ ...splitTpKey(k), offset }));
    else {
      const body = parseJson(raw) as { offsets?: unknown };
      if (!Array.isArray(body?.offsets)) throw new HttpError(422, 'offsets must be an array of {topic, partition, offset}', 42204);
      offsets = (body.offsets as Array<Record<string, unknown>>).map((o) => {
        if (typeof o?.topic !== 'string' || !Number.isInteger(o.partition) || !Number.isInteger(o.offset)) {
          throw new HttpError(422, 'each offset needs topic, partition and offset', 42204);
        }
        return { topic: o.topic, partition: o.partition as number, offset: o.offset as number };
      });
    }
    if (offsets.length > 0) await commit(i, offsets, x.peer);
    x.send(200, V2, '');
  });
  server.route('post', '/consumers/:group_name/instances/:instance/positions', async ({ x, params }) => {
    const i = instanceOf(params[0]!, params[1]!);
    const body = parseJson(await readBody(x, 1 << 20)) as { offsets?: Array<{ topic: string; partition: number; offset: number }> };
    if (!Array.isArray(body?.offsets)) throw new HttpError(422, 'offsets must be an array of {topic, partition, offset}', 42204);
    assign(i);
    for (const o of body.offsets) {
      const k = tpKey(o.topic, o.partition);
      if (!i.positions.has(k)) throw new HttpError(409, `${o.topic}-${o.partition} is not assigned to this instance`, 40903);
      i.positions.set(k, o.offset);
    }
    x.send(204, V2, '');
  });
  return () => clearInterval(sweep);
}
