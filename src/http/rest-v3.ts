/**
 * REST in the shapes of Confluent's REST Proxy v3 (`/v3/clusters/...`), so that scripts and tools
 * written against it work: the cluster, topics (list, create, describe, delete), partitions,
 * topic configs, consumer groups with their lag, and records produced as JSON, string or binary
 * (base64) keys and values with headers, one per request or streamed (one JSON object after
 * another in the body, one result per line back).
 *
 * Errors are JSON: `error_code` (the HTTP status, or Confluent's five-digit code where it has one:
 * 40401 unknown topic, 40403 unknown partition, 40002 topic exists), `message`, and
 * `kafka_error_code` when a Kafka error is behind it. Nothing of a refused record is appended; a
 * streamed body with a fault produces the records before it (streamRecords).
 */
import type { Logger } from '../logger.js';
import { partitionForKey } from '../client/partitioner.js';
import { assignedPartitionsOf } from '../group/consumer-protocol.js';
import { splitTpKey } from '../group/topic-partition.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { encodeRecordBatch, type RecordInput } from '../records/record-batch.js';
import { CANCEL_HEADER, DELAY_MS_HEADER, DELIVER_AT_HEADER } from '../records/delayed-records.js';
import type { BrokerCalls, ProduceOutcome } from './broker-calls.js';
import { base64Bytes, type Exchange, HttpError, type HttpServer, parseJson, parseJsonText, readBody } from './http-server.js';

/** A record in a produce request: key and value each `{type, data}`. */
interface RecordData {
  type: 'JSON' | 'STRING' | 'BINARY';
  bytes: Buffer;
}

/** What a produced record needs once its body is checked. */
interface ProduceRequest {
  partition: number | null;
  key: RecordData | null;
  value: RecordData | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  timestamp: number | null;
}

const TYPES = new Set(['JSON', 'STRING', 'BINARY']);

/** A key or value `{type, data}` as bytes; 422 for a wrong type or data. */
function recordData(what: string, v: unknown): RecordData | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new HttpError(422, `${what} must be an object with type and data`, 42206);
  const o = v as Record<string, unknown>;
  const type = o.type === undefined ? 'JSON' : o.type;
  if (typeof type !== 'string' || !TYPES.has(type)) throw new HttpError(422, `${what}.type must be JSON, STRING or BINARY`, 42206);
  const data = o.data;
  if (data === undefined) return null;
  if (type === 'JSON') return { type, bytes: Buffer.from(JSON.stringify(data)) };
  if (typeof data !== 'string') throw new HttpError(422, `${what}.data must be a string for type ${type}`, 42206);
  if (type === 'STRING') return { type, bytes: Buffer.from(data, 'utf8') };
  return { type: 'BINARY', bytes: base64Bytes(data, `${what}.data`, 42206) };
}

/** Checks a produce body (one record). */
export function produceRequest(body: unknown): ProduceRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(422, 'the body must be a JSON object', 42206);
  const o = body as Record<string, unknown>;
  let partition: number | null = null;
  if (o.partition_id !== undefined && o.partition_id !== null) {
    if (typeof o.partition_id !== 'number' || !Number.isInteger(o.partition_id) || o.partition_id < 0) {
      throw new HttpError(422, 'partition_id must be a whole number >= 0', 42206);
    }
    partition = o.partition_id;
  }
  const headers: ProduceRequest['headers'] = [];
  if (o.headers !== undefined && o.headers !== null) {
    if (!Array.isArray(o.headers)) throw new HttpError(422, 'headers must be an array of {name, value}', 42206);
    for (const h of o.headers as unknown[]) {
      const hh = h as Record<string, unknown>;
      if (typeof h !== 'object' || h === null || typeof hh.name !== 'string') throw new HttpError(422, 'each header needs a name', 42206);
      if (hh.value !== undefined && hh.value !== null && typeof hh.value !== 'string') {
        throw new HttpError(422, `header ${hh.name}: value must be base64 or null`, 42206);
      }
      headers.push({ key: hh.name, value: typeof hh.value === 'string' ? Buffer.from(hh.value, 'base64') : null });
    }
  }
  let timestamp: number | null = null;
  if (o.timestamp !== undefined && o.timestamp !== null) {
    const t = typeof o.timestamp === 'number' ? o.timestamp : typeof o.timestamp === 'string' ? Date.parse(o.timestamp) : Number.NaN;
    if (!Number.isFinite(t) || t < 0) throw new HttpError(422, 'timestamp must be an ISO date or epoch milliseconds', 42206);
    timestamp = t;
  }
  return { partition, key: recordData('key', o.key), value: recordData('value', o.value), headers, timestamp };
}

/** An object of a streamed body: its text, and its value when the splitter parsed it already. */
export interface JsonObjectText {
  readonly text: string;
  readonly parsed: boolean;
  readonly value: unknown;
}

const WHITESPACE = new Set([0x20, 0x0a, 0x0d, 0x09]);

/**
 * Splits a streamed body into its JSON objects as bytes arrive: top-level `{...}` values, one per
 * line or back to back (Confluent's streaming produce sends them so). It works on bytes: quotes
 * and brackets are ASCII, so a chunk may end anywhere (inside a multi-byte character too) and each
 * object is decoded once, whole.
 *
 * Most bodies are one object per line (JSON never holds a raw newline inside a string), so a line
 * that starts with `{` and ends with `}` is parsed as it is, and only when that fails (two objects
 * on a line, an object over several lines, a bad one) are its bytes scanned for the objects' ends:
 * scanning in JavaScript costs several times the parse.
 */
export class JsonObjectSplitter {
  /** The unfinished object's bytes from earlier chunks (copied: uWS lends a chunk only for its callback). */
  private pending: Buffer = Buffer.alloc(0);
  private depth = 0;
  private inString = false;

  constructor(private readonly maxObjectBytes: number) {}

  /**
   * Why the body is refused (400 stray text between objects, 413 an object past the bound), once
   * it is; the objects before the fault were returned, nothing after it is read.
   */
  failure: HttpError | null = null;

  /** The objects completed by `chunk` (up to a fault: see `failure`). */
  push(chunk: Buffer): JsonObjectText[] {
    const out: JsonObjectText[] = [];
    if (this.failure !== null) return out;
    try {
      this.scan(chunk, out);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      this.failure = err;
    }
    return out;
  }

  private scan(chunk: Buffer, out: JsonObjectText[]): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let i = this.pending.length;
    let start = this.depth > 0 ? 0 : -1;
    /** The next newline at or after i (buf.length: none), and the end of a line found not to be one object. */
    let newline = -1;
    let scanUntil = -1;
    while (i < buf.length) {
      if (this.depth === 0) {
        const c = buf[i]!;
        if (WHITESPACE.has(c)) {
          i++;
          continue;
        }
        if (c !== 0x7b)
          throw new HttpError(400, `unexpected ${JSON.stringify(String.fromCharCode(c))} between records: each record is a JSON object`);
        if (i >= scanUntil) {
          if (newline < i) {
            newline = buf.indexOf(0x0a, i);
            if (newline < 0) newline = buf.length;
          }
          let end = newline;
          while (end > i && WHITESPACE.has(buf[end - 1]!)) end--;
          if (newline < buf.length && buf[end - 1] === 0x7d && end - i <= this.maxObjectBytes) {
            const text = buf.toString('utf8', i, end);
            try {
              out.push({ text, parsed: true, value: JSON.parse(text) });
              i = newline + 1;
              continue;
            } catch {
              // Not one object: scan the line.
            }
          }
          scanUntil = newline;
        }
        this.depth = 1;
        start = i++;
        continue;
      }
      if (this.inString) {
        // Strings are most of a record: jump to the next quote (indexOf runs natively) and count
        // the backslashes before it (the string's opening quote, kept in `pending`, stops the count).
        const q = buf.indexOf(0x22, i);
        if (q < 0) {
          i = buf.length;
          break;
        }
        let n = 0;
        while (buf[q - n - 1] === 0x5c) n++;
        i = q + 1;
        if (n % 2 === 0) this.inString = false;
        continue;
      }
      const c = buf[i++]!;
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--this.depth === 0) {
          out.push({ text: buf.toString('utf8', start, i), parsed: false, value: undefined });
          start = -1;
        }
      }
    }
    // Keep only what an unfinished object needs (between objects the loop ran to the end).
    this.pending = this.depth === 0 ? Buffer.alloc(0) : Buffer.from(buf.subarray(start));
    if (this.pending.length > this.maxObjectBytes) throw new HttpError(413, `a record is larger than ${this.maxObjectBytes} bytes`);
  }

  /** True when the body ended inside an object. */
  get unfinished(): boolean {
    return this.depth > 0;
  }
}

/** Confluent's error_code for a Kafka error of a produce. */
function produceHttpError(code: number, message: string | null): HttpError {
  const text = message ?? errorName(code);
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return new HttpError(404, text, 40403, code);
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return new HttpError(413, text, 41301, code);
    case ErrorCode.INVALID_RECORD:
    case ErrorCode.CORRUPT_MESSAGE:
    case ErrorCode.INVALID_TIMESTAMP:
      return new HttpError(422, text, 42206, code);
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.LEADER_NOT_AVAILABLE:
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return new HttpError(503, text, 50301, code);
    case ErrorCode.REQUEST_TIMED_OUT:
      return new HttpError(408, text, 40801, code);
    default:
      return new HttpError(500, text, 50001, code);
  }
}

export interface RestV3Options {
  readonly maxRecordBytes: number;
  readonly log: Logger;
}

export function registerRestV3(server: HttpServer, calls: BrokerCalls, opts: RestV3Options): void {
  const s = calls.services;
  const { log } = opts;
  const base = () => `/v3/clusters/${s.cluster.clusterId}`;
  const checkCluster = (id: string): void => {
    if (id !== s.cluster.clusterId) throw new HttpError(404, `cluster ${id} not found`, 40401);
  };
  const topicOf = (name: string) => {
    const t = s.topics.get(name);
    if (t === undefined)
      throw new HttpError(404, `This server does not host this topic-partition.`, 40403, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return t;
  };
  const related = (path: string) => ({ related: `${base()}${path}` });
  const clusterView = () => ({
    kind: 'KafkaCluster',
    metadata: { self: base(), resource_name: `crn:///kafka=${s.cluster.clusterId}` },
    cluster_id: s.cluster.clusterId,
    controller: related(`/brokers/${s.cluster.controllerId}`),
    brokers: related('/brokers'),
    consumer_groups: related('/consumer-groups'),
    topics: related('/topics'),
  });
  const topicView = (t: { name: string; partitions: number; internal: boolean }) => {
    const rs = s.cluster.replicaState(t.name, 0);
    return {
      kind: 'KafkaTopic',
      metadata: { self: `${base()}/topics/${t.name}`, resource_name: `crn:///kafka=${s.cluster.clusterId}/topic=${t.name}` },
      cluster_id: s.cluster.clusterId,
      topic_name: t.name,
      is_internal: t.internal,
      replication_factor: rs?.replicas.length ?? 1,
      partitions_count: t.partitions,
      partitions: related(`/topics/${t.name}/partitions`),
      configs: related(`/topics/${t.name}/configs`),
    };
  };
  const partitionView = (topic: string, p: number) => {
    const rs = s.cluster.replicaState(topic, p);
    const log = s.logs.partition(topic, p);
    return {
      kind: 'KafkaPartition',
      metadata: { self: `${base()}/topics/${topic}/partitions/${p}` },
      cluster_id: s.cluster.clusterId,
      topic_name: topic,
      partition_id: p,
      leader: rs === undefined || rs.leader < 0 ? null : related(`/topics/${topic}/partitions/${p}/replicas/${rs.leader}`),
      replicas: related(`/topics/${topic}/partitions/${p}/replicas`),
      // franz's additions (the console shows them): null where this broker does not lead the partition.
      log_start_offset: log?.logStartOffset ?? null,
      log_end_offset: log?.highWatermark ?? null,
      size_bytes: log?.sizeBytes ?? null,
    };
  };
  const list = (kind: string, self: string, data: unknown[]) => ({ kind, metadata: { self: `${base()}${self}`, next: null }, data });

  server.route('get', '/v3/clusters', ({ x }) =>
    x.json(200, { kind: 'KafkaClusterList', metadata: { self: '/v3/clusters', next: null }, data: [clusterView()] }),
  );
  server.route('get', '/v3/clusters/:cluster_id', ({ x, params }) => {
    checkCluster(params[0]!);
    x.json(200, clusterView());
  });
  server.route('get', '/v3/clusters/:cluster_id/brokers', ({ x, params }) => {
    checkCluster(params[0]!);
    const data = s.cluster.brokers().map((b) => ({
      kind: 'KafkaBroker',
      metadata: { self: `${base()}/brokers/${b.nodeId}` },
      cluster_id: s.cluster.clusterId,
      broker_id: b.nodeId,
      host: b.host,
      port: b.port,
      rack: b.rack,
    }));
    x.json(200, list('KafkaBrokerList', '/brokers', data));
  });
  server.route('get', '/v3/clusters/:cluster_id/topics', ({ x, params }) => {
    checkCluster(params[0]!);
    const data = s.topics
      .list()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(topicView);
    x.json(200, list('KafkaTopicList', '/topics', data));
  });
  server.route('post', '/v3/clusters/:cluster_id/topics', async ({ x, params }) => {
    checkCluster(params[0]!);
    const body = parseJson(await readBody(x, 1 << 20)) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || typeof body.topic_name !== 'string')
      throw new HttpError(422, 'topic_name is required', 42206);
    const partitions = body.partitions_count ?? s.config.num('num.partitions');
    const rf = body.replication_factor ?? s.config.num('default.replication.factor');
    if (typeof partitions !== 'number' || typeof rf !== 'number')
      throw new HttpError(422, 'partitions_count and replication_factor are numbers', 42206);
    const configs: Record<string, string> = {};
    if (body.configs !== undefined) {
      if (!Array.isArray(body.configs)) throw new HttpError(422, 'configs must be an array of {name, value}', 42206);
      for (const c of body.configs as Array<Record<string, unknown>>) {
        if (typeof c?.name !== 'string' || (typeof c.value !== 'string' && c.value !== null))
          throw new HttpError(422, 'each config needs a name and a string value', 42206);
        if (typeof c.value === 'string') configs[c.name] = c.value;
      }
    }
    const r = s.topics.createTopic(body.topic_name, partitions, rf, configs);
    if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)
      throw new HttpError(400, r.message ?? `Topic '${body.topic_name}' already exists.`, 40002, r.errorCode);
    if (r.errorCode !== ErrorCode.NONE) throw new HttpError(400, r.message ?? errorName(r.errorCode), 40002, r.errorCode);
    x.json(201, topicView(topicOf(body.topic_name)));
  });
  server.route('get', '/v3/clusters/:cluster_id/topics/:topic_name', ({ x, params }) => {
    checkCluster(params[0]!);
    x.json(200, topicView(topicOf(params[1]!)));
  });
  server.route('del', '/v3/clusters/:cluster_id/topics/:topic_name', ({ x, params }) => {
    checkCluster(params[0]!);
    topicOf(params[1]!);
    const code = s.topics.deleteTopic(params[1]!);
    if (code !== ErrorCode.NONE) throw new HttpError(400, errorName(code), 40002, code);
    x.send(204, 'application/json', '');
  });
  server.route('get', '/v3/clusters/:cluster_id/topics/:topic_name/partitions', ({ x, params }) => {
    checkCluster(params[0]!);
    const t = topicOf(params[1]!);
    x.json(
      200,
      list(
        'KafkaPartitionList',
        `/topics/${t.name}/partitions`,
        Array.from({ length: t.partitions }, (_, p) => partitionView(t.name, p)),
      ),
    );
  });
  server.route('get', '/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id', ({ x, params }) => {
    checkCluster(params[0]!);
    const t = topicOf(params[1]!);
    const p = Number(params[2]);
    if (!Number.isInteger(p) || p < 0 || p >= t.partitions)
      throw new HttpError(404, 'This server does not host this topic-partition.', 40403);
    x.json(200, partitionView(t.name, p));
  });
  server.route('get', '/v3/clusters/:cluster_id/topics/:topic_name/configs', ({ x, params }) => {
    checkCluster(params[0]!);
    const t = topicOf(params[1]!);
    const data = s.topics.describeTopicConfigs(t).map((c) => ({
      kind: 'KafkaTopicConfig',
      metadata: { self: `${base()}/topics/${t.name}/configs/${c.name}` },
      cluster_id: s.cluster.clusterId,
      topic_name: t.name,
      name: c.name,
      value: c.value,
      is_default: c.source === 'DEFAULT_CONFIG',
      is_read_only: c.readOnly,
      is_sensitive: c.sensitive,
      source: c.source,
      synonyms: [],
    }));
    x.json(200, list('KafkaTopicConfigList', `/topics/${t.name}/configs`, data));
  });

  // Consumer groups: those this broker coordinates (every group, on a single node).
  const groupView = (id: string) => ({
    kind: 'KafkaConsumerGroup',
    metadata: { self: `${base()}/consumer-groups/${id}` },
    cluster_id: s.cluster.clusterId,
    consumer_group_id: id,
    is_simple: s.groups.classic.get(id) === undefined && s.groups.consumer.get(id) === undefined,
    state: s.groups.stateOf(id).toUpperCase(),
    lags: related(`/consumer-groups/${id}/lags`),
  });
  server.route('get', '/v3/clusters/:cluster_id/consumer-groups', ({ x, params }) => {
    checkCluster(params[0]!);
    x.json(200, list('KafkaConsumerGroupList', '/consumer-groups', s.groups.groupIds().sort().map(groupView)));
  });
  server.route('get', '/v3/clusters/:cluster_id/consumer-groups/:group_id', ({ x, params }) => {
    checkCluster(params[0]!);
    if (s.groups.stateOf(params[1]!) === 'Dead') throw new HttpError(404, `consumer group ${params[1]} not found`, 40403);
    x.json(200, groupView(params[1]!));
  });
  server.route('get', '/v3/clusters/:cluster_id/consumer-groups/:group_id/lags', ({ x, params }) => {
    checkCluster(params[0]!);
    const id = params[1]!;
    const committed = s.groups.committed(id);
    if (committed === undefined && s.groups.stateOf(id) === 'Dead') throw new HttpError(404, `consumer group ${id} not found`, 40403);
    const data = groupLags(calls, id).map((l) => ({
      kind: 'KafkaConsumerLag',
      metadata: { self: `${base()}/consumer-groups/${id}/lags/${l.topic}/partitions/${l.partition}` },
      cluster_id: s.cluster.clusterId,
      consumer_group_id: id,
      topic_name: l.topic,
      partition_id: l.partition,
      current_offset: l.committed,
      log_end_offset: l.end,
      lag: l.lag,
    }));
    x.json(200, list('KafkaConsumerLagList', `/consumer-groups/${id}/lags`, data));
  });

  // A group's members (consumers) and their assignments: classic members once the group is
  // Stable (Kafka shows assignments only then), KIP-848 members as they stand.
  const consumersOf = (id: string) => {
    const classic = s.groups.classic.get(id);
    if (classic !== undefined) {
      const stable = classic.state === 'Stable' && classic.protocolType === 'consumer';
      return [...classic.members.values()].map((m) => ({
        id: m.memberId,
        instanceId: m.groupInstanceId,
        clientId: m.clientId,
        host: m.clientHost,
        assigned: stable ? (assignedPartitionsOf(m.assignment) ?? []) : [],
      }));
    }
    const g = s.groups.consumer.get(id);
    if (g === undefined) return [];
    return [...g.members.values()].map((m) => ({
      id: m.memberId,
      instanceId: m.instanceId,
      clientId: m.clientId,
      host: m.clientHost,
      assigned: [...m.assigned].map(([topicId, ps]) => ({ topic: g.topicName(topicId), partitions: [...ps].sort((a, b) => a - b) })),
    }));
  };
  const groupOf = (id: string) => {
    if (s.groups.stateOf(id) === 'Dead') throw new HttpError(404, `consumer group ${id} not found`, 40403);
    return id;
  };
  server.route('get', '/v3/clusters/:cluster_id/consumer-groups/:group_id/consumers', ({ x, params }) => {
    checkCluster(params[0]!);
    const id = groupOf(params[1]!);
    const g = encodeURIComponent(id);
    const data = consumersOf(id).map((m) => ({
      kind: 'KafkaConsumer',
      metadata: { self: `${base()}/consumer-groups/${g}/consumers/${encodeURIComponent(m.id)}` },
      cluster_id: s.cluster.clusterId,
      consumer_group_id: id,
      consumer_id: m.id,
      instance_id: m.instanceId,
      client_id: m.clientId,
      host: m.host,
      assignments: related(`/consumer-groups/${g}/consumers/${encodeURIComponent(m.id)}/assignments`),
    }));
    x.json(200, list('KafkaConsumerList', `/consumer-groups/${g}/consumers`, data));
  });
  server.route('get', '/v3/clusters/:cluster_id/consumer-groups/:group_id/consumers/:consumer_id/assignments', ({ x, params }) => {
    checkCluster(params[0]!);
    const id = groupOf(params[1]!);
    const m = consumersOf(id).find((c) => c.id === params[2]);
    if (m === undefined) throw new HttpError(404, `consumer ${params[2]} not found in group ${id}`, 40403);
    const self = `/consumer-groups/${encodeURIComponent(id)}/consumers/${encodeURIComponent(m.id)}/assignments`;
    const data = m.assigned.flatMap((t) =>
      t.partitions.map((p) => ({
        kind: 'KafkaConsumerAssignment',
        metadata: { self: `${base()}${self}/${t.topic}/partitions/${p}` },
        cluster_id: s.cluster.clusterId,
        consumer_group_id: id,
        consumer_id: m.id,
        topic_name: t.topic,
        partition_id: p,
        partition: related(`/topics/${t.topic}/partitions/${p}`),
      })),
    );
    x.json(200, list('KafkaConsumerAssignmentList', self, data));
  });

  // Records.
  const roundRobin = new Map<string, number>();
  /**
   * Produces records (each a JSON object's text) and answers each in order: its offset, or its own
   * error. Records go out a Produce request at a time with one batch per partition (a partition's
   * batch within its max.message.bytes); a record asking for delay or cancellation has a batch of
   * its own (the broker stores a delayed batch whole); and when the broker refuses a batch of
   * several records for what one of them is (INVALID_RECORD, a timestamp, a size), each is sent
   * again alone, so that a bad record fails alone.
   */
  const produceSome = async (topic: string, partitions: number, texts: readonly JsonObjectText[], peer: string): Promise<Outcome[]> => {
    const results: Outcome[] = new Array(texts.length);
    const byPartition = new Map<number, Pending[]>();
    for (let i = 0; i < texts.length; i++) {
      try {
        const o = texts[i]!;
        const r = produceRequest(o.parsed ? o.value : parseJsonText(o.text));
        let partition = r.partition;
        if (partition !== null && partition >= partitions)
          throw new HttpError(404, 'This server does not host this topic-partition.', 40403, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (partition === null) {
          if (r.key !== null) partition = partitionForKey(r.key.bytes, partitions);
          else {
            const next = roundRobin.get(topic) ?? 0;
            roundRobin.set(topic, next + 1);
            partition = next % partitions;
          }
        }
        let size = RECORD_OVERHEAD + (r.key?.bytes.length ?? 0) + (r.value?.bytes.length ?? 0);
        let alone = false;
        for (const h of r.headers) {
          size += Buffer.byteLength(h.key) + (h.value?.length ?? 0);
          if (h.key === DELIVER_AT_HEADER || h.key === DELAY_MS_HEADER || h.key === CANCEL_HEADER) alone = true;
        }
        if (size > opts.maxRecordBytes)
          throw new HttpError(413, `the record is ${size} bytes, past ${opts.maxRecordBytes}`, 41301, ErrorCode.MESSAGE_TOO_LARGE);
        let list = byPartition.get(partition);
        if (list === undefined) {
          list = [];
          byPartition.set(partition, list);
        }
        // No object spreads here: this runs per record of a streamed produce.
        const record: RecordInput = {
          key: r.key?.bytes ?? null,
          value: r.value?.bytes ?? null,
          headers: r.headers,
          timestamp: r.timestamp ?? undefined,
        };
        list.push({ at: i, request: r, record, size, alone });
      } catch (err) {
        results[i] = failure(err, log);
      }
    }
    // Each partition's records cut into batches, then sent in rounds: the k-th batch of every partition in one request.
    const batches = new Map<number, Pending[][]>();
    for (const [partition, list] of byPartition) {
      const limit = s.logs.partition(topic, partition)?.config.maxMessageBytes ?? opts.maxRecordBytes;
      const cut: Pending[][] = [];
      let current: Pending[] = [];
      let bytes = BATCH_OVERHEAD;
      for (const p of list) {
        if (current.length > 0 && (p.alone || current[0]!.alone || bytes + p.size > limit)) {
          cut.push(current);
          current = [];
          bytes = BATCH_OVERHEAD;
        }
        current.push(p);
        bytes += p.size;
      }
      if (current.length > 0) cut.push(current);
      batches.set(partition, cut);
    }
    const answerTo = new AnswerWriter(s.cluster.clusterId, topic, results, log);
    for (let k = 0; ; k++) {
      const round = [...batches].filter(([, cut]) => cut.length > k).map(([partition, cut]) => ({ partition, batch: cut[k]! }));
      if (round.length === 0) break;
      const outs = await calls.produceMany(
        topic,
        round.map((r) => ({ partition: r.partition, batch: encodeRecordBatch(r.batch.map((p) => p.record)) })),
        peer,
      );
      for (let j = 0; j < round.length; j++) {
        const { partition, batch } = round[j]!;
        const out = outs[j]!;
        if (batch.length > 1 && RECORD_ERRORS.has(out.errorCode)) {
          // Which record was it: each again on its own.
          for (const p of batch) {
            const [alone] = await calls.produceMany(topic, [{ partition, batch: encodeRecordBatch([p.record]) }], peer);
            answerTo.write(partition, [p], alone!);
          }
        } else answerTo.write(partition, batch, out);
      }
    }
    return results;
  };
  server.route('post', '/v3/clusters/:cluster_id/topics/:topic_name/records', ({ x, params, contentType }) => {
    checkCluster(params[0]!);
    const t = topicOf(params[1]!);
    if (contentType !== '' && !contentType.startsWith('application/json')) throw new HttpError(415, 'send application/json', 415);
    streamRecords(x, opts.maxRecordBytes, (texts) => produceSome(t.name, t.partitions, texts, x.peer), log);
  });
}

/** A record of a REST produce, checked and placed, waiting for its batch. */
interface Pending {
  /** Its place in the request (the answer's line). */
  readonly at: number;
  readonly request: ProduceRequest;
  readonly record: RecordInput;
  /** Its bytes in a batch (about). */
  readonly size: number;
  /** It asks for delay or cancellation: a batch of its own. */
  readonly alone: boolean;
}

/** The errors a broker gives a whole batch for what one of its records is. */
const RECORD_ERRORS = new Set<number>([
  ErrorCode.INVALID_RECORD,
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.INVALID_TIMESTAMP,
]);

/** A record batch's own bytes (its header). */
const BATCH_OVERHEAD = 61;

/** Writes the answers of produced batches into a request's results, as JSON text (no per-record JSON.stringify). */
class AnswerWriter {
  private readonly head: string;
  private lastMs = -1;
  private lastIso = '';

  constructor(
    clusterId: string,
    topic: string,
    private readonly results: Outcome[],
    private readonly log: Logger,
  ) {
    this.head = `{"error_code":200,"cluster_id":${JSON.stringify(clusterId)},"topic_name":${JSON.stringify(topic)},"partition_id":`;
  }

  write(partition: number, batch: readonly Pending[], out: ProduceOutcome): void {
    for (let j = 0; j < batch.length; j++) {
      const { at, request: r } = batch[j]!;
      if (out.errorCode !== ErrorCode.NONE) {
        this.results[at] = failure(produceHttpError(out.errorCode, out.errorMessage), this.log);
        continue;
      }
      const when = out.logAppendTimeMs >= 0 ? out.logAppendTimeMs : (r.timestamp ?? Date.now());
      if (when !== this.lastMs) {
        this.lastMs = when;
        this.lastIso = new Date(when).toISOString();
      }
      let line = `${this.head}${partition},"offset":${out.baseOffset + j},"timestamp":"${this.lastIso}"`;
      if (r.key !== null) line += `,"key":{"type":"${r.key.type}","size":${r.key.bytes.length}}`;
      if (r.value !== null) line += `,"value":{"type":"${r.value.type}","size":${r.value.bytes.length}}`;
      this.results[at] = { status: 200, line: `${line}}` };
    }
  }
}

/** A streamed produce stops reading its body while this many requests' worth (message.max.bytes each) waits. */
const QUEUE_BYTES_PER_REQUEST = 4;

/** A record's bytes in a batch beyond its key, value and headers (lengths, deltas, attributes; the batch header). */
const RECORD_OVERHEAD = 96;

/** A record's answer in a produce: its status and its JSON text. */
interface Outcome {
  status: number;
  line: string;
}

function failure(err: unknown, log: Logger): Outcome {
  if (err instanceof HttpError) {
    const body: Record<string, unknown> = { error_code: err.errorCode, message: err.message };
    if (err.kafkaErrorCode !== undefined) body.kafka_error_code = err.kafkaErrorCode;
    return { status: err.status, line: JSON.stringify(body) };
  }
  log.error('REST produce failed', { err: String(err) });
  return { status: 500, line: '{"error_code":500,"message":"internal error"}' };
}

/**
 * Produces each JSON object of the body as it arrives, in order, and answers each with one line:
 * its result or its error (error_code and message), so one bad record does not fail the others.
 * What arrived while a Produce was in flight goes out in the next (objects of at most about
 * `maxBytes` of text together; produceSome cuts them into batches). A body with a single object
 * gets a single answer, not a stream: the status is then its own. A fault in the body (stray
 * text, an object past the bound, an unfinished last object) stops the reading: the objects before
 * it are produced and answered, then one line (or, with nothing before it, the answer) gives the fault.
 */
function streamRecords(
  x: Exchange,
  maxBytes: number,
  produce: (texts: readonly JsonObjectText[]) => Promise<Outcome[]>,
  log: Logger,
): void {
  const splitter = new JsonObjectSplitter(maxBytes * 2 + 4096);
  const queue: JsonObjectText[] = [];
  let queued = 0;
  let paused = false;
  let ended = false;
  let fault: HttpError | null = null;
  let running = false;
  let answered = 0;
  // A client gone: nothing more is produced for it (what is in flight completes).
  x.onAbort(() => {
    queue.length = 0;
    queued = 0;
  });
  /** The next objects to produce together: the first always, then while they fit in `maxBytes`. */
  const take = (): JsonObjectText[] => {
    let size = queue[0]!.text.length;
    let n = 1;
    while (n < queue.length && size + queue[n]!.text.length <= maxBytes) size += queue[n++]!.text.length;
    queued -= size;
    // A client sending faster than records are appended is not read from (TCP pushes back)
    // while more than a few Produce requests' worth waits.
    if (paused && !x.aborted && queued < QUEUE_BYTES_PER_REQUEST * maxBytes) {
      paused = false;
      x.res.resume();
    }
    return queue.splice(0, n);
  };
  const finish = (): void => {
    if (fault !== null) {
      if (answered === 0) x.error(fault, log);
      else {
        const body: Record<string, unknown> = { error_code: fault.errorCode, message: fault.message };
        x.end(`${JSON.stringify(body)}\n`);
      }
    } else if (answered === 0) x.json(400, { error_code: 400, message: 'the body holds no record' });
    else x.end();
  };
  // One pump at a time; objects that arrive meanwhile are taken by its loop, and the end of the
  // body, if it comes meanwhile, by its last check.
  const pump = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0 && !x.aborted) {
        const texts = take();
        let results: Outcome[];
        try {
          results = await produce(texts);
        } catch (err) {
          const f = failure(err, log);
          results = texts.map(() => f);
        }
        if (answered === 0 && texts.length === 1 && queue.length === 0 && ended && fault === null) {
          // A single record: a plain answer with its own status.
          x.send(results[0]!.status, 'application/json', results[0]!.line);
          return;
        }
        if (answered === 0) x.begin(200, 'application/json');
        answered += results.length;
        let lines = '';
        for (const r of results) lines += `${r.line}\n`;
        x.write(lines);
      }
      if (ended && queue.length === 0 && !x.aborted) finish();
    } finally {
      running = false;
    }
  };
  x.res.onData((ab, isLast) => {
    if (x.aborted || ended) return;
    for (const o of splitter.push(Buffer.from(ab))) {
      queue.push(o);
      queued += o.text.length;
    }
    if (splitter.failure !== null) {
      fault = splitter.failure;
      ended = true;
    } else if (isLast) {
      if (splitter.unfinished) fault = new HttpError(400, 'the body ends inside a record');
      ended = true;
    } else if (!paused && queued >= QUEUE_BYTES_PER_REQUEST * maxBytes) {
      paused = true;
      x.res.pause();
    }
    pump().catch((err: unknown) => x.error(err, log));
  });
}

/** Each partition a group has committed: committed offset, the partition's end (high watermark) and the lag. */
export function groupLags(
  calls: BrokerCalls,
  group: string,
): Array<{ topic: string; partition: number; committed: number; end: number; lag: number }> {
  const s = calls.services;
  const committed = s.groups.committed(group);
  if (committed === undefined) return [];
  const out: Array<{ topic: string; partition: number; committed: number; end: number; lag: number }> = [];
  for (const [key, c] of committed) {
    const { topic, partition } = splitTpKey(key);
    const log = s.logs.partition(topic, partition);
    if (log === undefined) continue;
    const end = log.highWatermark;
    out.push({ topic, partition, committed: c.offset, end, lag: Math.max(0, end - c.offset) });
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
