/**
 * What the client knows of the cluster and how it reaches it: connections by address (bootstrap
 * first), brokers by node id and topics with their partition leaders, from Metadata.
 *
 * Requests for a partition go to its leader. While a topic is being created, or a leader moves,
 * Kafka answers with a leader-related error code; `withLeaderRetry` then refreshes the topic and
 * tries again, a few times with backoff. The cache is only a routing hint: any answer that says it
 * is stale sends the next attempt to fresh metadata.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec as metadataSpec } from '../protocol/messages/03-metadata.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { BrokerConnection, ClientError, KafkaError } from './connection.js';
import type { BrokerMetadata, ClientOptions, ClusterMetadata, TopicMetadata } from './types.js';

/** Error codes after which a request may be retried once metadata has been refreshed. */
export const RETRIABLE_WITH_METADATA: ReadonlySet<number> = new Set([
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connections to the cluster's brokers and the metadata that routes requests to them. */
export class Cluster {
  private readonly connections = new Map<string, Promise<BrokerConnection>>();
  private bootstrap: Promise<BrokerConnection> | null = null;
  private brokers = new Map<number, BrokerMetadata>();
  private readonly topics = new Map<string, TopicMetadata>();
  /** Attempts after a retriable answer (leader moved, coordinator loading, ...). */
  readonly retries: number;

  constructor(private readonly opts: ClientOptions) {
    if (opts.brokers.length === 0) throw new ClientError('FRANZ_CONNECT', 'no broker address given');
    this.retries = opts.retries ?? 8;
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  /** The connection used for cluster-wide requests (metadata, admin): the first bootstrap broker that answers. */
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

  /** The connection to a broker by address (from Metadata or FindCoordinator). */
  brokerConnection(b: { readonly host: string; readonly port: number }): Promise<BrokerConnection> {
    const host = b.host.includes(':') ? `[${b.host}]` : b.host;
    return this.connectTo(`${host}:${b.port}`);
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    this.bootstrap = null;
    for (const c of await Promise.allSettled(all)) if (c.status === 'fulfilled') c.value.close();
  }

  /** Exponential backoff between retries: base, 2x, 4x, ... capped at 1 s. */
  backoff(attempt: number): Promise<void> {
    return sleep(Math.min(1000, (this.opts.retryBackoffMs ?? 100) * 2 ** attempt));
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata

  /** Metadata for the given topics, or every topic for null. */
  async metadata(topics: readonly string[] | null, opts: { allowAutoCreate?: boolean } = {}): Promise<ClusterMetadata> {
    const c = await this.connection();
    const v = c.version(metadataSpec);
    // v0 has no null: an empty list asks for every topic, so it cannot ask for none.
    if (v === 0 && topics !== null && topics.length === 0) return { clusterId: null, controllerId: -1, brokers: [], topics: [] };
    const requested = topics === null ? (v === 0 ? [] : null) : topics.map((name) => ({ topicId: ZERO_UUID, name }));
    const res = await c.request(metadataSpec, {
      topics: requested,
      allowAutoTopicCreation: opts.allowAutoCreate ?? false,
      includeTopicAuthorizedOperations: false,
    });
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, 'metadata');
    const brokers: BrokerMetadata[] = res.brokers.map(({ nodeId, host, port, rack }) => ({ nodeId, host, port, rack }));
    this.brokers = new Map(brokers.map((b) => [b.nodeId, b]));
    // Asked by name, answered by name: an entry without one is not an answer to this request.
    const out = res.topics.flatMap((t): TopicMetadata[] =>
      t.name === null
        ? []
        : [
            {
              name: t.name,
              topicId: t.topicId,
              errorCode: t.errorCode,
              isInternal: t.isInternal,
              partitions: t.partitions
                .map((p) => ({
                  partition: p.partitionIndex,
                  errorCode: p.errorCode,
                  leader: p.leaderId,
                  leaderEpoch: p.leaderEpoch,
                  replicas: p.replicaNodes,
                  isr: p.isrNodes,
                  offline: p.offlineReplicas,
                }))
                .sort((a, b) => a.partition - b.partition),
            },
          ],
    );
    for (const t of out) {
      if (t.errorCode === ErrorCode.NONE) this.topics.set(t.name, t);
      else this.topics.delete(t.name);
    }
    return { clusterId: res.clusterId, controllerId: res.controllerId, brokers, topics: out };
  }

  /**
   * One topic's metadata; throws KafkaError (e.g. UNKNOWN_TOPIC_OR_PARTITION) for a topic in error.
   * While a topic is being created Kafka answers LEADER_NOT_AVAILABLE, or UNKNOWN_TOPIC_OR_PARTITION
   * to the request that triggered auto-creation: those answers are retried (up to `retries` times,
   * with backoff). Partitions without a leader are returned as they are.
   */
  async topic(name: string, opts: { allowAutoCreate?: boolean; refresh?: boolean } = {}): Promise<TopicMetadata> {
    if (!opts.refresh) {
      const cached = this.topics.get(name);
      if (cached !== undefined) return cached;
    }
    for (let i = 0; ; i++) {
      const md = await this.metadata([name], opts);
      const t = md.topics.find((x) => x.name === name);
      const code = t === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : t.errorCode;
      const settling =
        code === ErrorCode.LEADER_NOT_AVAILABLE || (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && opts.allowAutoCreate === true);
      if (settling && i < this.retries) {
        await this.backoff(i);
        continue;
      }
      if (t === undefined || code !== ErrorCode.NONE) throw new KafkaError(code, `topic "${name}"`);
      return t;
    }
  }

  /** Drops a topic from the cache (after creating, growing or deleting it). */
  forget(topic: string): void {
    this.topics.delete(topic);
  }

  /** Groups partitions by their leader's connection. */
  async byLeader(topic: TopicMetadata, partitions: Iterable<number>): Promise<Map<BrokerConnection, number[]>> {
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
   * Runs `attempt` against fresh-enough metadata; when it throws a KafkaError with a leader-related
   * code (RETRIABLE_WITH_METADATA), refreshes the topic and tries again, up to `retries` times.
   * An attempt that keeps what it got done between calls retries only the rest.
   */
  async withLeaderRetry<T>(topicName: string, allowAutoCreate: boolean, attempt: (t: TopicMetadata) => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      const t = await this.topic(topicName, { allowAutoCreate, refresh: i > 0 });
      try {
        return await attempt(t);
      } catch (e) {
        if (!(e instanceof KafkaError && RETRIABLE_WITH_METADATA.has(e.errorCode)) || i >= this.retries) throw e;
        await this.backoff(i);
      }
    }
  }
}
