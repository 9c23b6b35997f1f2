/**
 * A small Kafka client built on franz's own protocol codecs: one TCP connection per broker, requests
 * correlated with responses by correlation id, API versions negotiated with ApiVersions, and
 * helpers for the admin and data-plane requests the `franz` client commands need.
 *
 * Versions: for each API the connection uses the highest version that both the broker advertises
 * and our message descriptions (src/protocol/messages) cover. Every helper builds its request for
 * whatever version was picked (e.g. topic ids instead of names for Fetch v13+).
 *
 * Errors: Kafka error codes in responses become a thrown KafkaError carrying the code and its name
 * (`errorName`); transport problems become a ClientError with a stable `code` (FRANZ_CONNECT,
 * FRANZ_TIMEOUT, FRANZ_CLOSED, FRANZ_PROTOCOL, FRANZ_UNSUPPORTED_API).
 *
 * Scope: a single cluster; requests for a partition go to its leader from Metadata, with a metadata
 * refresh and a few retries when a leader moves or is not yet available. Group requests go to the
 * group's coordinator (FindCoordinator), found again when it moves or is loading. The client can
 * inspect and administer consumer groups (list, describe, fetch and commit offsets, delete) but
 * does not join them; no idempotent or transactional producing.
 */
import { connect, type Socket } from 'node:net';
import { Reader, Writer, ZERO_UUID } from '../protocol/primitives.js';
import { readResponseHeader, responseHeaderFlexible, writeRequestHeader, API_VERSIONS_KEY } from '../protocol/header.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import type { Message, VersionCodec } from '../protocol/codec.js';
import { codecFor } from '../handlers/registry.js';
import {
  Compression,
  decodeRecordBatches,
  encodeRecordBatch,
  type CompressionCodec,
  type KafkaRecord,
  type RecordInput,
} from '../records/record-batch.js';

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DescribeConfigs: 32,
  CreatePartitions: 37,
  DeleteGroups: 42,
  IncrementalAlterConfigs: 44,
  ConsumerGroupDescribe: 69,
} as const;

/** Config resource types (DescribeConfigs, IncrementalAlterConfigs). */
export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** DescribeConfigs config sources, Kafka's numbering. */
export const ConfigSourceName: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'DYNAMIC_TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
  7: 'CLIENT_METRICS_CONFIG',
  8: 'GROUP_CONFIG',
};

/** ListOffsets sentinels. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

const CLIENT_SOFTWARE_NAME = 'franz';
const CLIENT_SOFTWARE_VERSION = '0.1.0';
/** Largest response frame we accept (a Fetch asks for far less). */
const MAX_RESPONSE_BYTES = 512 * 1024 * 1024;

export type ClientErrorCode =
  | 'FRANZ_CONNECT' | 'FRANZ_TIMEOUT' | 'FRANZ_CLOSED' | 'FRANZ_PROTOCOL' | 'FRANZ_UNSUPPORTED_API';

/** A transport or protocol failure (not a Kafka error code). */
export class ClientError extends Error {
  constructor(readonly code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClientError';
  }
}

/** A Kafka error code returned by the broker, with what was being done. */
export class KafkaError extends Error {
  readonly errorName: string;
  constructor(readonly errorCode: number, context: string, serverMessage?: string | null) {
    const name = errorName(errorCode);
    super(`${context}: ${name}${serverMessage ? ` (${serverMessage})` : ''}`);
    this.name = 'KafkaError';
    this.errorName = name;
  }
}

/** Error codes after which a request may be retried once metadata has been refreshed. */
const RETRIABLE_WITH_METADATA: ReadonlySet<number> = new Set([
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
]);

/** Error codes after which a group request may be retried once the coordinator has been found again. */
const RETRIABLE_WITH_COORDINATOR: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = at > 0 ? address.slice(0, at).replace(/^\[(.*)\]$/, '$1') : address;
  const port = at > 0 ? Number(address.slice(at + 1)) : 9092;
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || host === '') {
    throw new ClientError('FRANZ_CONNECT', `bad broker address "${address}" (expected HOST:PORT)`);
  }
  return { host, port };
}

interface Pending {
  apiKey: number;
  codec: VersionCodec;
  resolve(m: Message): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface ConnectionOptions {
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * One connection to one broker. Not safe to share between processes; any number of requests may
 * be in flight (Kafka answers them in order, we match them by correlation id anyway).
 */
export class BrokerConnection {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closedError: Error | null = null;
  /** The version picked for each API both sides support. */
  readonly versions = new Map<number, number>();
  /** The broker's advertised ranges, by API key. */
  readonly brokerRanges = new Map<number, [number, number]>();

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly clientId: string,
    private readonly requestTimeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(new ClientError('FRANZ_CLOSED', `connection to ${address} failed: ${e.message}`, { cause: e })));
    socket.on('close', () => this.fail(new ClientError('FRANZ_CLOSED', `connection to ${address} closed by the broker`)));
  }

  /** Connects and negotiates API versions. */
  static async open(address: string, opts: ConnectionOptions = {}): Promise<BrokerConnection> {
    const { host, port } = parseAddress(address);
    const timeout = opts.connectTimeoutMs ?? 10_000;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ClientError('FRANZ_CONNECT', `cannot connect to ${address}: timed out after ${timeout} ms`));
      }, timeout);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'unknown host' : e.message;
        reject(new ClientError('FRANZ_CONNECT', `cannot connect to ${address}: ${why}`, { cause: e }));
      });
    });
    const c = new BrokerConnection(socket, address, opts.clientId ?? 'franz-cli', opts.requestTimeoutMs ?? 30_000);
    try {
      await c.negotiate();
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  close(): void {
    this.fail(new ClientError('FRANZ_CLOSED', `connection to ${this.address} closed`));
  }

  private fail(e: Error): void {
    if (this.closedError === null) this.closedError = e;
    this.socket.destroy();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(this.closedError);
    }
  }

  /** ApiVersions: ask at our highest version; a broker that knows less answers with its ranges (KIP-511). */
  private async negotiate(): Promise<void> {
    const codec = codecFor(API_VERSIONS_KEY)!;
    let version = codec.spec.validVersions[1];
    let res = await this.send(API_VERSIONS_KEY, version, this.apiVersionsRequest());
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      const theirs = (res.apiKeys as Message[]).find((k) => k.apiKey === API_VERSIONS_KEY);
      const fallback = theirs ? Math.min(theirs.maxVersion as number, version) : 0;
      if (fallback >= version) throw new ClientError('FRANZ_PROTOCOL', `${this.address}: ApiVersions negotiation failed`);
      version = fallback;
      res = await this.send(API_VERSIONS_KEY, version, this.apiVersionsRequest());
    }
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode as number, `ApiVersions from ${this.address}`);
    for (const k of res.apiKeys as Message[]) {
      const key = k.apiKey as number;
      const lo = k.minVersion as number;
      const hi = k.maxVersion as number;
      this.brokerRanges.set(key, [lo, hi]);
      const ours = codecFor(key);
      if (ours === undefined) continue;
      const [ourLo, ourHi] = ours.spec.validVersions;
      const pick = Math.min(hi, ourHi);
      if (pick >= Math.max(lo, ourLo)) this.versions.set(key, pick);
    }
  }

  private apiVersionsRequest(): Message {
    return { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION };
  }

  /** The negotiated version of an API; throws FRANZ_UNSUPPORTED_API when there is none. */
  version(apiKey: number): number {
    const v = this.versions.get(apiKey);
    if (v === undefined) {
      const name = codecFor(apiKey)?.spec.name ?? `API ${apiKey}`;
      const range = this.brokerRanges.get(apiKey);
      const why = range === undefined ? 'does not support it' : `offers only v${range[0]}-${range[1]}`;
      throw new ClientError('FRANZ_UNSUPPORTED_API', `the broker at ${this.address} ${why}: ${name}`);
    }
    return v;
  }

  supports(apiKey: number): boolean {
    return this.versions.has(apiKey);
  }

  /** Sends a request at the negotiated version; resolves with the decoded response body. */
  request(apiKey: number, body: Message): Promise<Message> {
    return this.send(apiKey, this.version(apiKey), body);
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  requestNoResponse(apiKey: number, body: Message): void {
    this.write(apiKey, this.version(apiKey), body);
  }

  private write(apiKey: number, version: number, body: Message): { id: number; codec: VersionCodec } {
    if (this.closedError !== null) throw this.closedError;
    const codec = codecFor(apiKey)!.at(version);
    const id = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const w = new Writer(256);
    w.int32(0); // size, patched below
    writeRequestHeader(w, { apiKey, apiVersion: version, correlationId: id, clientId: this.clientId }, codec.flexible);
    codec.encodeRequest(w, { ...codec.requestDefaults(), ...body });
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    this.socket.write(frame);
    return { id, codec };
  }

  private send(apiKey: number, version: number, body: Message): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      let sent: { id: number; codec: VersionCodec };
      try {
        sent = this.write(apiKey, version, body);
      } catch (e) {
        reject(e as Error);
        return;
      }
      const name = codecFor(apiKey)!.spec.name;
      const timer = setTimeout(() => {
        this.pending.delete(sent.id);
        reject(new ClientError('FRANZ_TIMEOUT', `${name} to ${this.address} timed out after ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(sent.id, { apiKey, codec: sent.codec, resolve, reject, timer });
    });
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const size = head.readInt32BE(0);
      if (size < 4 || size > MAX_RESPONSE_BYTES) {
        this.fail(new ClientError('FRANZ_PROTOCOL', `${this.address} sent a response frame of ${size} bytes`));
        return;
      }
      if (this.buffered < 4 + size) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (p === undefined) return; // timed out earlier
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    let codec = p.codec;
    if (p.apiKey === API_VERSIONS_KEY && frame.length >= 6 && frame.readInt16BE(4) === ErrorCode.UNSUPPORTED_VERSION) {
      codec = codecFor(API_VERSIONS_KEY)!.at(0); // KIP-511: the error comes in a v0 body
    }
    const r = new Reader(frame);
    readResponseHeader(r, responseHeaderFlexible(p.apiKey, codec.flexible));
    const body = codec.decodeResponse(r);
    if (r.bad) {
      const name = codecFor(p.apiKey)!.spec.name;
      const e = new ClientError('FRANZ_PROTOCOL', `cannot decode the ${name} v${codec.version} response from ${this.address}`);
      p.reject(e);
      this.fail(e);
      return;
    }
    p.resolve(body);
  }
}

export interface PartitionMetadata {
  readonly partition: number;
  readonly errorCode: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly errorCode: number;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionMetadata[];
}

export interface BrokerMetadata {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface ClusterMetadata {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: readonly BrokerMetadata[];
  readonly topics: readonly TopicMetadata[];
}

export interface NewTopic {
  readonly name: string;
  /** -1 (the default) lets the broker choose (CreateTopics v4+). */
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly source: number;
  readonly sourceName: string;
  readonly sensitive: boolean;
}

export type AlterOp = { readonly op: 'set'; readonly name: string; readonly value: string } | { readonly op: 'delete'; readonly name: string };

export interface OffsetAnswer {
  readonly offset: number;
  readonly timestamp: number;
}

export interface FetchedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Records at or after the requested offset, control batches left out. */
  readonly records: KafkaRecord[];
  /** The offset to fetch next (past every batch seen, control batches included). */
  readonly nextOffset: number;
  /** True when the answer held only part of a batch: ask again with a larger partitionMaxBytes. */
  readonly truncated: boolean;
}

export interface FetchOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
}

export interface ProduceOptions {
  compression?: CompressionCodec;
  /** -1 (all, the default), 1 or 0. */
  acks?: number;
  timeoutMs?: number;
}

export interface GroupListing {
  readonly groupId: string;
  /** "consumer" for consumer groups, "" for groups that only hold committed offsets. */
  readonly protocolType: string;
  /** Kafka's state name (ListGroups v4+), or null from an older broker. */
  readonly state: string | null;
  /** "classic" or "consumer" (ListGroups v5+), or null from an older broker. */
  readonly type: string | null;
}

export interface GroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** The member's metadata for the group's protocol (a consumer subscription for consumers). */
  readonly metadata: Buffer;
  /** Its assignment (a consumer assignment for consumers); empty until the group is Stable. */
  readonly assignment: Buffer;
}

export interface GroupDescription {
  readonly groupId: string;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable or Dead (a group the broker does not know). */
  readonly state: string;
  readonly protocolType: string;
  /** The chosen protocol, e.g. the assignor's name; "" while there is none. */
  readonly protocol: string;
  readonly members: readonly GroupMember[];
  /** The coordinator's node id. */
  readonly coordinator: number;
}

export interface ConsumerGroupMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly memberEpoch: number;
  readonly clientId: string;
  readonly clientHost: string;
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  /** What the member owns now. */
  readonly assignment: readonly TopicPartitions[];
  /** What the coordinator wants it to own once it has reconciled. */
  readonly targetAssignment: readonly TopicPartitions[];
}

/** A KIP-848 consumer group, from ConsumerGroupDescribe. */
export interface ConsumerGroupDescription {
  readonly groupId: string;
  /** Empty, Assigning, Reconciling, Stable, or Dead when the broker has no such consumer group. */
  readonly state: string;
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly assignor: string;
  readonly members: readonly ConsumerGroupMember[];
  readonly coordinator: number;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch?: number;
  readonly metadata?: string | null;
}

export interface CommitOptions {
  /** -1 with member id "" (the defaults) is a commit from outside the group, accepted while it has no members. */
  readonly generationId?: number;
  readonly memberId?: string;
  readonly groupInstanceId?: string | null;
}

export interface DeleteGroupResult {
  readonly groupId: string;
  /** Kafka's error code, 0 when the group was deleted (e.g. NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND). */
  readonly errorCode: number;
}

export interface ClientOptions extends ConnectionOptions {
  /** Bootstrap addresses, HOST:PORT, tried in order. */
  brokers: readonly string[];
  /** Attempts for a request whose partition leader is not (yet) available. */
  retries?: number;
  retryBackoffMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A client of one Kafka cluster. */
export class Client {
  private readonly connections = new Map<string, Promise<BrokerConnection>>();
  private bootstrap: Promise<BrokerConnection> | null = null;
  private brokers = new Map<number, BrokerMetadata>();
  private readonly topicCache = new Map<string, TopicMetadata>();
  /** Group id -> its coordinator, from FindCoordinator. */
  private readonly coordinators = new Map<string, BrokerMetadata>();

  constructor(private readonly opts: ClientOptions) {
    if (opts.brokers.length === 0) throw new ClientError('FRANZ_CONNECT', 'no broker address given');
  }

  /** The connection used for cluster-wide requests (metadata, admin). */
  connection(): Promise<BrokerConnection> {
    if (this.bootstrap === null) {
      this.bootstrap = this.connectBootstrap();
      this.bootstrap.catch(() => (this.bootstrap = null));
    }
    return this.bootstrap;
  }

  private async connectBootstrap(): Promise<BrokerConnection> {
    let last: unknown;
    for (const address of this.opts.brokers) {
      try {
        return await this.connectTo(address);
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  private connectTo(address: string): Promise<BrokerConnection> {
    let c = this.connections.get(address);
    if (c === undefined) {
      c = BrokerConnection.open(address, this.opts);
      this.connections.set(address, c);
      c.catch(() => this.connections.delete(address));
    }
    return c;
  }

  /** The connection to a broker by node id, from the last metadata. */
  private async nodeConnection(nodeId: number): Promise<BrokerConnection> {
    const b = this.brokers.get(nodeId);
    if (b === undefined) throw new ClientError('FRANZ_PROTOCOL', `broker ${nodeId} is not in the cluster metadata`);
    return this.brokerConnection(b);
  }

  private brokerConnection(b: { host: string; port: number }): Promise<BrokerConnection> {
    const host = b.host.includes(':') ? `[${b.host}]` : b.host;
    return this.connectTo(`${host}:${b.port}`);
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    this.bootstrap = null;
    for (const c of await Promise.allSettled(all)) if (c.status === 'fulfilled') c.value.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata

  /** Metadata for the given topics, or every topic for null. */
  async metadata(topics: readonly string[] | null, opts: { allowAutoCreate?: boolean } = {}): Promise<ClusterMetadata> {
    const c = await this.connection();
    const v = c.version(ApiKey.Metadata);
    let requested: Message[] | null = topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name }));
    if (v === 0 && requested === null) requested = [];
    if (v === 0 && topics !== null && topics.length === 0) return { clusterId: null, controllerId: -1, brokers: [], topics: [] };
    const res = await c.request(ApiKey.Metadata, {
      topics: requested,
      allowAutoTopicCreation: opts.allowAutoCreate ?? false,
      includeTopicAuthorizedOperations: false,
    });
    if ((res.errorCode ?? 0) !== 0) throw new KafkaError(res.errorCode as number, 'metadata');
    const brokers: BrokerMetadata[] = (res.brokers as Message[]).map((b) => ({
      nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null,
    }));
    this.brokers = new Map(brokers.map((b) => [b.nodeId, b]));
    const out: TopicMetadata[] = (res.topics as Message[]).map((t) => ({
      name: t.name as string,
      topicId: t.topicId as string,
      errorCode: t.errorCode as number,
      isInternal: Boolean(t.isInternal),
      partitions: (t.partitions as Message[])
        .map((p) => ({
          partition: p.partitionIndex as number,
          errorCode: p.errorCode as number,
          leader: p.leaderId as number,
          leaderEpoch: p.leaderEpoch as number,
          replicas: p.replicaNodes as number[],
          isr: p.isrNodes as number[],
          offline: p.offlineReplicas as number[],
        }))
        .sort((a, b) => a.partition - b.partition),
    }));
    for (const t of out) {
      if (t.errorCode === ErrorCode.NONE) this.topicCache.set(t.name, t);
      else this.topicCache.delete(t.name);
    }
    return { clusterId: res.clusterId ?? null, controllerId: res.controllerId as number, brokers, topics: out };
  }

  /** Exponential backoff between retries: base, 2x, 4x, ... capped at 1 s. */
  private backoff(attempt: number): Promise<void> {
    return sleep(Math.min(1000, (this.opts.retryBackoffMs ?? 100) * 2 ** attempt));
  }

  /**
   * One topic's metadata; throws KafkaError (e.g. UNKNOWN_TOPIC_OR_PARTITION) for a topic in error.
   * While a topic is being created Kafka answers LEADER_NOT_AVAILABLE, or UNKNOWN_TOPIC_OR_PARTITION
   * to the request that triggered auto-creation: those answers are retried (up to `retries` times,
   * with backoff). Partitions without a leader are returned as they are.
   */
  async topic(name: string, opts: { allowAutoCreate?: boolean; refresh?: boolean } = {}): Promise<TopicMetadata> {
    if (!opts.refresh) {
      const cached = this.topicCache.get(name);
      if (cached !== undefined) return cached;
    }
    const retries = this.opts.retries ?? 8;
    for (let i = 0; ; i++) {
      const md = await this.metadata([name], opts);
      const t = md.topics.find((x) => x.name === name);
      const code = t === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : t.errorCode;
      const settling = code === ErrorCode.LEADER_NOT_AVAILABLE
        || (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && opts.allowAutoCreate === true);
      if (settling && i < retries) {
        await this.backoff(i);
        continue;
      }
      if (code !== ErrorCode.NONE) throw new KafkaError(code, `topic "${name}"`);
      return t!;
    }
  }

  /** Groups partitions by their leader's connection. */
  private async byLeader(topic: TopicMetadata, partitions: Iterable<number>): Promise<Map<BrokerConnection, number[]>> {
    const out = new Map<BrokerConnection, number[]>();
    for (const p of partitions) {
      const pm = topic.partitions.find((x) => x.partition === p);
      if (pm === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic.name}" has no partition ${p}`);
      if (pm.leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic.name}-${p}`);
      const c = await this.nodeConnection(pm.leader);
      const list = out.get(c);
      if (list === undefined) out.set(c, [p]);
      else list.push(p);
    }
    return out;
  }

  /**
   * Runs `attempt` against fresh-enough metadata; when it reports a leader-related error code
   * (returned, not thrown), refreshes the topic and tries again, up to `retries` times.
   */
  private async withLeaderRetry<T>(topicName: string, allowAutoCreate: boolean,
    attempt: (t: TopicMetadata) => Promise<{ result: T; retriable: number | null }>): Promise<T> {
    const retries = this.opts.retries ?? 8;
    let refresh = false;
    for (let i = 0; ; i++) {
      const t = await this.topic(topicName, { allowAutoCreate, refresh });
      let outcome: { result: T; retriable: number | null };
      try {
        outcome = await attempt(t);
      } catch (e) {
        // byLeader: a partition with no leader yet (just created, or its leader moving).
        if (!(e instanceof KafkaError && RETRIABLE_WITH_METADATA.has(e.errorCode)) || i >= retries) throw e;
        outcome = { result: undefined as T, retriable: e.errorCode };
      }
      const { result, retriable } = outcome;
      if (retriable === null || i >= retries) return result;
      refresh = true;
      await this.backoff(i);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Admin

  async createTopics(topics: readonly NewTopic[], opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const c = await this.connection();
    const v = c.version(ApiKey.CreateTopics);
    const res = await c.request(ApiKey.CreateTopics, {
      topics: topics.map((t) => ({
        name: t.name,
        // v4+ accept -1 for "the broker's default"; older versions need a number.
        numPartitions: t.numPartitions ?? (v >= 4 ? -1 : 1),
        replicationFactor: t.replicationFactor ?? (v >= 4 ? -1 : 1),
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: opts.timeoutMs ?? 30_000,
      validateOnly: opts.validateOnly ?? false,
    });
    for (const t of res.topics as Message[]) {
      if (t.errorCode !== ErrorCode.NONE) throw new KafkaError(t.errorCode, `create topic "${t.name}"`, t.errorMessage);
    }
    for (const t of topics) this.topicCache.delete(t.name);
  }

  /** CreatePartitions: grows a topic to `count` partitions in total. */
  async createPartitions(topic: string, count: number, opts: { timeoutMs?: number } = {}): Promise<void> {
    const c = await this.connection();
    const res = await c.request(ApiKey.CreatePartitions, {
      topics: [{ name: topic, count, assignments: null }],
      timeoutMs: opts.timeoutMs ?? 30_000,
      validateOnly: false,
    });
    for (const r of res.results as Message[]) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode as number, `grow topic "${r.name}" to ${count} partitions`, r.errorMessage);
    }
    this.topicCache.delete(topic);
  }

  async deleteTopics(names: readonly string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const c = await this.connection();
    const v = c.version(ApiKey.DeleteTopics);
    const res = await c.request(ApiKey.DeleteTopics, {
      topics: v >= 6 ? names.map((name) => ({ name, topicId: ZERO_UUID })) : [],
      topicNames: v < 6 ? names : [],
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
    for (const t of res.responses as Message[]) {
      if (t.errorCode !== ErrorCode.NONE) throw new KafkaError(t.errorCode, `delete topic "${t.name}"`, t.errorMessage);
    }
    for (const n of names) this.topicCache.delete(n);
  }

  /** Every config of a resource (or the named keys), with source and flags. */
  async describeConfigs(resourceType: number, name: string, keys: readonly string[] | null = null): Promise<ConfigEntry[]> {
    const c = await this.connection();
    const res = await c.request(ApiKey.DescribeConfigs, {
      resources: [{ resourceType, resourceName: name, configurationKeys: keys }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const r = (res.results as Message[])[0];
    if (r === undefined) throw new ClientError('FRANZ_PROTOCOL', `DescribeConfigs answered no result for "${name}"`);
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `describe configs of "${name}"`, r.errorMessage);
    return (r.configs as Message[]).map((e) => ({
      name: e.name as string,
      value: (e.value ?? null) as string | null,
      readOnly: Boolean(e.readOnly),
      source: e.configSource as number,
      sourceName: ConfigSourceName[e.configSource as number] ?? String(e.configSource),
      sensitive: Boolean(e.isSensitive),
    }));
  }

  async incrementalAlterConfigs(resourceType: number, name: string, ops: readonly AlterOp[], opts: { validateOnly?: boolean } = {}): Promise<void> {
    const c = await this.connection();
    const res = await c.request(ApiKey.IncrementalAlterConfigs, {
      resources: [{
        resourceType,
        resourceName: name,
        configs: ops.map((o) => ({ name: o.name, configOperation: o.op === 'set' ? 0 : 1, value: o.op === 'set' ? o.value : null })),
      }],
      validateOnly: opts.validateOnly ?? false,
    });
    for (const r of res.responses as Message[]) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `alter configs of "${r.resourceName}"`, r.errorMessage);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer groups

  /** FindCoordinator: the broker that coordinates a group (cached; `refresh` asks again). */
  async findCoordinator(groupId: string, opts: { refresh?: boolean } = {}): Promise<BrokerMetadata> {
    if (!opts.refresh) {
      const cached = this.coordinators.get(groupId);
      if (cached !== undefined) return cached;
    }
    const c = await this.connection();
    const v = c.version(ApiKey.FindCoordinator);
    const res = await c.request(ApiKey.FindCoordinator, v >= 4 ? { keyType: 0, coordinatorKeys: [groupId] } : { key: groupId, keyType: 0 });
    const r = v >= 4 ? (res.coordinators as Message[]).find((k) => k.key === groupId) : res;
    if (r === undefined) throw new ClientError('FRANZ_PROTOCOL', `FindCoordinator answered nothing for group "${groupId}"`);
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode as number, `find the coordinator of group "${groupId}"`, r.errorMessage);
    const b: BrokerMetadata = { nodeId: r.nodeId as number, host: r.host as string, port: r.port as number, rack: null };
    this.coordinators.set(groupId, b);
    return b;
  }

  /**
   * Runs `attempt` against the group's coordinator. When it throws a KafkaError saying the
   * coordinator moved, is loading or is not available, finds the coordinator again and retries, up
   * to `retries` times with backoff.
   */
  private async withCoordinator<T>(groupId: string, attempt: (c: BrokerConnection, coordinator: BrokerMetadata) => Promise<T>): Promise<T> {
    const retries = this.opts.retries ?? 8;
    for (let i = 0; ; i++) {
      try {
        const b = await this.findCoordinator(groupId, { refresh: i > 0 });
        return await attempt(await this.brokerConnection(b), b);
      } catch (e) {
        if (!(e instanceof KafkaError && RETRIABLE_WITH_COORDINATOR.has(e.errorCode)) || i >= retries) throw e;
        this.coordinators.delete(groupId);
        await this.backoff(i);
      }
    }
  }

  /** ListGroups from every broker in the cluster (each lists the groups it coordinates). */
  async listGroups(opts: { states?: readonly string[] } = {}): Promise<GroupListing[]> {
    const md = await this.metadata([]);
    const connections = md.brokers.length > 0
      ? await Promise.all(md.brokers.map((b) => this.brokerConnection(b)))
      : [await this.connection()];
    const out = new Map<string, GroupListing>();
    for (const c of new Set(connections)) {
      const v = c.version(ApiKey.ListGroups);
      const res = await c.request(ApiKey.ListGroups, { statesFilter: opts.states ?? [], typesFilter: [] });
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode as number, `list groups on ${c.address}`);
      for (const g of res.groups as Message[]) {
        out.set(g.groupId as string, {
          groupId: g.groupId as string,
          protocolType: g.protocolType as string,
          state: v >= 4 ? (g.groupState as string) : null,
          type: v >= 5 ? (g.groupType as string) : null,
        });
      }
    }
    const all = [...out.values()];
    // Before v4 the broker cannot filter by state.
    const states = opts.states?.map((s) => s.toLowerCase());
    return states === undefined || states.length === 0 ? all : all.filter((g) => g.state === null || states.includes(g.state.toLowerCase()));
  }

  /**
   * DescribeGroups, each group asked of its coordinator. A group the broker does not know is
   * returned in state "Dead" (what Kafka answers before v6; v6 answers GROUP_ID_NOT_FOUND instead).
   */
  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return Promise.all(groupIds.map((groupId) => this.withCoordinator(groupId, async (c, coordinator) => {
      const res = await c.request(ApiKey.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
      const g = (res.groups as Message[]).find((x) => x.groupId === groupId);
      if (g === undefined) throw new ClientError('FRANZ_PROTOCOL', `DescribeGroups answered nothing for group "${groupId}"`);
      const code = g.errorCode as number;
      if (code === ErrorCode.GROUP_ID_NOT_FOUND) {
        return { groupId, state: 'Dead', protocolType: '', protocol: '', members: [], coordinator: coordinator.nodeId };
      }
      if (code !== ErrorCode.NONE) throw new KafkaError(code, `describe group "${groupId}"`, g.errorMessage);
      return {
        groupId,
        state: g.groupState as string,
        protocolType: g.protocolType as string,
        protocol: g.protocolData as string,
        members: (g.members as Message[]).map((m) => ({
          memberId: m.memberId as string,
          groupInstanceId: (m.groupInstanceId ?? null) as string | null,
          clientId: m.clientId as string,
          clientHost: m.clientHost as string,
          metadata: m.memberMetadata as Buffer,
          assignment: m.memberAssignment as Buffer,
        })),
        coordinator: coordinator.nodeId,
      };
    })));
  }

  /**
   * ConsumerGroupDescribe (KIP-848 groups), each group asked of its coordinator. A group that is not
   * a consumer group (GROUP_ID_NOT_FOUND) is returned in state "Dead".
   */
  async consumerGroupDescribe(groupIds: readonly string[]): Promise<ConsumerGroupDescription[]> {
    const partitions = (a: Message): TopicPartitions[] =>
      (a.topicPartitions as Message[]).map((tp) => ({ topic: tp.topicName as string, partitions: [...(tp.partitions as number[])].sort((x, y) => x - y) }));
    return Promise.all(groupIds.map((groupId) => this.withCoordinator(groupId, async (c, coordinator) => {
      const res = await c.request(ApiKey.ConsumerGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false });
      const g = (res.groups as Message[]).find((x) => x.groupId === groupId);
      if (g === undefined) throw new ClientError('FRANZ_PROTOCOL', `ConsumerGroupDescribe answered nothing for group "${groupId}"`);
      const code = g.errorCode as number;
      if (code === ErrorCode.GROUP_ID_NOT_FOUND) {
        return { groupId, state: 'Dead', groupEpoch: -1, assignmentEpoch: -1, assignor: '', members: [], coordinator: coordinator.nodeId };
      }
      if (code !== ErrorCode.NONE) throw new KafkaError(code, `describe consumer group "${groupId}"`, g.errorMessage);
      return {
        groupId,
        state: g.groupState as string,
        groupEpoch: g.groupEpoch as number,
        assignmentEpoch: g.assignmentEpoch as number,
        assignor: g.assignorName as string,
        members: (g.members as Message[]).map((m) => ({
          memberId: m.memberId as string,
          instanceId: (m.instanceId ?? null) as string | null,
          memberEpoch: m.memberEpoch as number,
          clientId: m.clientId as string,
          clientHost: m.clientHost as string,
          subscribedTopicNames: m.subscribedTopicNames as string[],
          subscribedTopicRegex: (m.subscribedTopicRegex ?? null) as string | null,
          assignment: partitions(m.assignment as Message),
          targetAssignment: partitions(m.targetAssignment as Message),
        })),
        coordinator: coordinator.nodeId,
      };
    })));
  }

  /** True when the bootstrap broker serves this API at a version both sides know. */
  async supports(apiKey: number): Promise<boolean> {
    return (await this.connection()).supports(apiKey);
  }

  /**
   * OffsetFetch: the group's committed offsets of the given partitions, or of every partition it
   * has committed (null; OffsetFetch v2+). Partitions without a committed offset are left out.
   */
  async offsetFetch(groupId: string, topics: readonly TopicPartitions[] | null = null): Promise<CommittedOffset[]> {
    return this.withCoordinator(groupId, async (c) => {
      const v = c.version(ApiKey.OffsetFetch);
      if (topics === null && v < 2) {
        throw new ClientError('FRANZ_UNSUPPORTED_API', `the broker at ${c.address} offers only OffsetFetch v${v}, which cannot fetch every committed offset of a group`);
      }
      const wanted = topics === null ? null : topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions }));
      const res = await c.request(ApiKey.OffsetFetch, v >= 8
        ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: wanted }], requireStable: false }
        : { groupId, topics: wanted, requireStable: false });
      let answer: Message = res;
      if (v >= 8) {
        const g = (res.groups as Message[]).find((x) => x.groupId === groupId);
        if (g === undefined) throw new ClientError('FRANZ_PROTOCOL', `OffsetFetch answered nothing for group "${groupId}"`);
        answer = g;
      }
      if ((answer.errorCode ?? 0) !== ErrorCode.NONE) throw new KafkaError(answer.errorCode as number, `fetch offsets of group "${groupId}"`);
      const out: CommittedOffset[] = [];
      for (const t of answer.topics as Message[]) {
        for (const p of t.partitions as Message[]) {
          const code = p.errorCode as number;
          if (code !== ErrorCode.NONE) throw new KafkaError(code, `fetch the offset of ${t.name}-${p.partitionIndex} for group "${groupId}"`);
          if ((p.committedOffset as number) < 0) continue;
          out.push({
            topic: t.name as string,
            partition: p.partitionIndex as number,
            offset: p.committedOffset as number,
            leaderEpoch: (p.committedLeaderEpoch ?? -1) as number,
            metadata: (p.metadata ?? null) as string | null,
          });
        }
      }
      return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    });
  }

  /**
   * OffsetCommit. By default a commit from outside the group (generation -1, member id ""), which
   * the coordinator accepts only while the group has no members (UNKNOWN_MEMBER_ID otherwise).
   * Throws the first partition error.
   */
  async offsetCommit(groupId: string, offsets: readonly OffsetToCommit[], opts: CommitOptions = {}): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, (list = []));
      list.push({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch ?? -1,
        committedMetadata: o.metadata ?? '',
      });
    }
    await this.withCoordinator(groupId, async (c) => {
      const res = await c.request(ApiKey.OffsetCommit, {
        groupId,
        generationIdOrMemberEpoch: opts.generationId ?? -1,
        memberId: opts.memberId ?? '',
        groupInstanceId: opts.groupInstanceId ?? null,
        retentionTimeMs: -1,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      });
      for (const t of res.topics as Message[]) {
        for (const p of t.partitions as Message[]) {
          if (p.errorCode !== ErrorCode.NONE) {
            throw new KafkaError(p.errorCode as number, `commit the offset of ${t.name}-${p.partitionIndex} for group "${groupId}"`);
          }
        }
      }
    });
  }

  /** DeleteGroups, each group asked of its coordinator; one result per group, errors included. */
  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    return Promise.all(groupIds.map((groupId) => this.withCoordinator(groupId, async (c) => {
      const res = await c.request(ApiKey.DeleteGroups, { groupsNames: [groupId] });
      const r = (res.results as Message[]).find((x) => x.groupId === groupId);
      if (r === undefined) throw new ClientError('FRANZ_PROTOCOL', `DeleteGroups answered nothing for group "${groupId}"`);
      const code = r.errorCode as number;
      if (RETRIABLE_WITH_COORDINATOR.has(code)) throw new KafkaError(code, `delete group "${groupId}"`);
      if (code === ErrorCode.NONE) this.coordinators.delete(groupId);
      return { groupId, errorCode: code };
    })));
  }

  // ---------------------------------------------------------------------------------------------
  // Data plane

  /**
   * Produces one batch per partition (acks=-1 by default) and resolves with each partition's base
   * offset (-1 for acks=0). Creates the topic if the broker auto-creates topics.
   */
  async produce(topicName: string, byPartition: ReadonlyMap<number, readonly RecordInput[]>, opts: ProduceOptions = {}): Promise<Map<number, number>> {
    const acks = opts.acks ?? -1;
    const compression = opts.compression ?? Compression.none;
    const batches = new Map<number, Buffer>();
    for (const [p, records] of byPartition) if (records.length > 0) batches.set(p, encodeRecordBatch(records, { compression }));
    const done = new Map<number, number>();
    return this.withLeaderRetry(topicName, true, async (topic) => {
      const todo = [...batches.keys()].filter((p) => !done.has(p));
      const groups = await this.byLeader(topic, todo);
      let retriable: number | null = null;
      await Promise.all([...groups].map(async ([c, partitions]) => {
        const body = {
          transactionalId: null,
          acks,
          timeoutMs: opts.timeoutMs ?? 30_000,
          topicData: [{ name: topicName, partitionData: partitions.map((index) => ({ index, records: batches.get(index)! })) }],
        };
        if (acks === 0) {
          c.requestNoResponse(ApiKey.Produce, body);
          for (const p of partitions) done.set(p, -1);
          return;
        }
        const res = await c.request(ApiKey.Produce, body);
        for (const t of res.responses as Message[]) {
          for (const pr of t.partitionResponses as Message[]) {
            const code = pr.errorCode as number;
            if (code === ErrorCode.NONE) done.set(pr.index, pr.baseOffset);
            else if (RETRIABLE_WITH_METADATA.has(code)) retriable = code;
            else throw new KafkaError(code, `produce to ${topicName}-${pr.index}`, pr.errorMessage);
          }
        }
      }));
      if (retriable !== null && done.size < batches.size) return { result: done, retriable };
      if (done.size < batches.size) {
        const missing = [...batches.keys()].find((p) => !done.has(p))!;
        throw new KafkaError(retriable ?? ErrorCode.UNKNOWN_SERVER_ERROR, `produce to ${topicName}-${missing}`);
      }
      return { result: done, retriable: null };
    });
  }

  /**
   * ListOffsets: for each partition, the first offset whose timestamp is >= `timestamp`, or the
   * earliest (-2) or latest (-1) offset. An offset of -1 means no record is that recent.
   */
  async listOffsets(topicName: string, partitions: readonly number[], timestamp: number): Promise<Map<number, OffsetAnswer>> {
    const out = new Map<number, OffsetAnswer>();
    return this.withLeaderRetry(topicName, false, async (topic) => {
      const todo = partitions.filter((p) => !out.has(p));
      const groups = await this.byLeader(topic, todo);
      let retriable: number | null = null;
      await Promise.all([...groups].map(async ([c, ps]) => {
        const res = await c.request(ApiKey.ListOffsets, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{ name: topicName, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) }],
          timeoutMs: 30_000,
        });
        for (const t of res.topics as Message[]) {
          for (const p of t.partitions as Message[]) {
            const code = p.errorCode as number;
            if (code === ErrorCode.NONE) out.set(p.partitionIndex, { offset: p.offset, timestamp: p.timestamp });
            else if (RETRIABLE_WITH_METADATA.has(code)) retriable = code;
            else throw new KafkaError(code, `list offsets of ${topicName}-${p.partitionIndex}`);
          }
        }
      }));
      if (retriable !== null && out.size < partitions.length) return { result: out, retriable };
      const missing = partitions.find((p) => !out.has(p));
      if (missing !== undefined) throw new KafkaError(retriable ?? ErrorCode.UNKNOWN_SERVER_ERROR, `list offsets of ${topicName}-${missing}`);
      return { result: out, retriable: null };
    });
  }

  /**
   * One Fetch round for the given partitions (partition -> offset), sent to each leader. Partition
   * errors are returned in `errorCode`, not thrown, so the caller decides (e.g. OFFSET_OUT_OF_RANGE).
   */
  async fetch(topicName: string, positions: ReadonlyMap<number, number>, opts: FetchOptions = {}): Promise<FetchedPartition[]> {
    const topic = await this.topic(topicName);
    const groups = await this.byLeader(topic, positions.keys());
    const results = await Promise.all([...groups].map(async ([c, ps]) => {
      const v = c.version(ApiKey.Fetch);
      const res = await c.request(ApiKey.Fetch, {
        clusterId: null,
        replicaId: -1,
        maxWaitMs: opts.maxWaitMs ?? 500,
        minBytes: opts.minBytes ?? 1,
        maxBytes: opts.maxBytes ?? 50 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{
          topic: topicName,
          topicId: topic.topicId,
          partitions: ps.map((partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: positions.get(partition)!,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: opts.partitionMaxBytes ?? 1024 * 1024,
          })),
        }],
        forgottenTopicsData: [],
        rackId: '',
      });
      if ((res.errorCode ?? 0) !== ErrorCode.NONE) throw new KafkaError(res.errorCode as number, `fetch from ${topicName}`);
      const out: FetchedPartition[] = [];
      for (const t of res.responses as Message[]) {
        const matches = v >= 13 ? t.topicId === topic.topicId : t.topic === topicName;
        if (!matches) continue;
        for (const p of t.partitions as Message[]) {
          const partition = p.partitionIndex as number;
          const from = positions.get(partition);
          if (from === undefined) continue;
          const records: KafkaRecord[] = [];
          let nextOffset = from;
          let truncated = false;
          const code = p.errorCode as number;
          if (code === ErrorCode.NONE && p.records !== null && (p.records as Buffer).length > 0) {
            const { batches, partialBytes } = decodeRecordBatches(p.records as Buffer);
            truncated = batches.length === 0 && partialBytes > 0;
            for (const b of batches) {
              const end = b.baseOffset + b.lastOffsetDelta + 1;
              if (end > nextOffset) nextOffset = end;
              if (b.control) continue;
              for (const r of b.records) if (r.offset >= from) records.push(r);
            }
          }
          out.push({
            partition,
            errorCode: code,
            highWatermark: p.highWatermark as number,
            logStartOffset: p.logStartOffset as number,
            records,
            nextOffset,
            truncated,
          });
        }
      }
      return out;
    }));
    return results.flat().sort((a, b) => a.partition - b.partition);
  }
}
