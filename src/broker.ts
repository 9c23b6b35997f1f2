/**
 * The single-node broker, as a composition root: it builds the parts (log manager, topic
 * registry and manager, producer ids, group coordinator, handler registry, listener), hands each
 * the narrow ports it needs, and starts and stops them in order. No part reaches the Broker
 * itself; handlers see only `BrokerServices`.
 */
import { join, resolve } from 'node:path';
import { connectionOverrides, type BrokerConfig } from './config.js';
import { GroupCoordinator } from './group/coordinator.js';
import { OFFSETS_TOPIC } from './group/group-store.js';
import { createRegistry } from './handlers/index.js';
import type { BrokerServices, HandlerRegistry } from './handlers/registry.js';
import type { Logger } from './logger.js';
import type { BrokerEndpoint, ClusterInfo, Endpoint, PartitionLogs, ReplicaState } from './metadata/ports.js';
import { ProducerIdManager } from './metadata/producer-ids.js';
import { ErrorCode } from './protocol/errors.js';
import { TopicManager } from './metadata/topic-manager.js';
import { TopicRegistry } from './metadata/topics.js';
import { KafkaListener } from './server/listener.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { parseClusterUrl } from './cluster/etcd-store.js';
import { DelayScheduler } from './delay/delay-scheduler.js';
import { LogCleaner } from './storage/log-cleaner.js';
import { LogManager } from './storage/log-manager.js';
import { Recompressor } from './storage/recompressor.js';
import { TRACE_TOPIC } from './records/trace-records.js';
import { Tracer } from './trace/tracer.js';
import { BrokerCalls } from './http/broker-calls.js';
import { startHttpApi } from './http/http-api.js';
import type { HttpServer } from './http/http-server.js';
import { BrokerMetrics } from './http/metrics.js';
import { observeFsync } from './storage/log.js';
import { TRANSACTION_STATE_TOPIC } from './txn/transaction-store.js';
import { Transactions } from './txn/transactions.js';
import type { ProducerIds } from './metadata/ports.js';

export const FRANZ_VERSION = '0.1.0';

/** How long a shutdown waits for requests already received to be answered. */
const SHUTDOWN_GRACE_MS = 2000;

export class Broker implements ClusterInfo {
  readonly registry: HandlerRegistry;
  readonly logs: LogManager;
  /** Compaction of the compacted topics' logs, in worker threads. */
  readonly cleaner: LogCleaner;
  /** Broker-side compression (compression.type naming a codec), in worker threads. */
  private readonly recompressor: Recompressor;
  /** Delayed delivery's scheduler (franz.delay.enable); a cluster broker makes it once it has joined. */
  delays: DelayScheduler | undefined;
  /** Message trace's writer (franz.trace.enable, per topic or broker). */
  readonly tracer: Tracer;
  /** The HTTP listener (franz.http.listeners), and what /metrics reads. */
  private http: HttpServer | undefined;
  private metrics: BrokerMetrics | undefined;
  private readonly services: BrokerServices;
  /** Set once start() is done: /readyz answers ready. */
  private serving = false;
  /** The single-node topics (undefined in cluster mode). */
  private readonly single: TopicManager | undefined;
  /** Cluster mode: this broker's part of the cluster (undefined for a single node). */
  readonly cluster: ClusterNode | undefined;
  private groupCoordinator: GroupCoordinator | undefined;
  private txnCoordinator: Transactions | undefined;
  private readonly producerIds: ProducerIds;
  readonly nodeId: number;
  readonly dataDir: string;
  private ownClusterId: string;
  private readonly listenerSocket: KafkaListener;
  listener: Endpoint = { host: '127.0.0.1', port: 9092 };
  advertised: Endpoint = { host: '127.0.0.1', port: 9092 };
  private advertisedSet = false;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.nodeId = config.nodeId;
    this.dataDir = resolve(config.dataDir);
    this.logs = new LogManager(this.dataDir, (msg, extra) => log.warn(msg, extra));
    this.recompressor = new Recompressor(config.num('franz.compression.threads'));
    this.logs.recompressor = this.recompressor;
    this.cleaner = new LogCleaner(
      {
        enabled: config.bool('log.cleaner.enable') && config.num('log.cleaner.threads') > 0,
        threads: config.num('log.cleaner.threads'),
        dedupeBufferBytes: config.num('log.cleaner.dedupe.buffer.size'),
        backoffMs: config.num('log.cleaner.backoff.ms'),
      },
      () => this.logs.all(),
      (msg, extra) => log.info(msg, extra),
    );
    // The cleaner checkpoint moves with each clean: a restart then does not clean it all again.
    this.cleaner.onCleaned = () => {
      this.logs.writeCheckpoints().catch((err: unknown) => log.warn('could not write checkpoints', { err: String(err) }));
    };
    const clusterUrl = config.get('franz.cluster');
    let parts: TopicManager | ClusterNode;
    if (clusterUrl !== '') {
      const address = parseClusterUrl(clusterUrl);
      if (typeof address === 'string') throw new Error(`franz.cluster: ${address}`);
      this.single = undefined;
      this.cluster = new ClusterNode({
        address,
        nodeId: this.nodeId,
        rack: config.get('broker.rack') || null,
        config,
        logs: this.logs,
        log,
        dataDir: this.dataDir,
      });
      this.ownClusterId = '';
      parts = this.cluster;
      this.producerIds = this.cluster.producerIds;
    } else {
      const registry = new TopicRegistry(this.dataDir, this.nodeId, config.get('cluster.id'));
      this.ownClusterId = registry.clusterId;
      this.single = new TopicManager(registry, this.logs, config, log, this.dataDir);
      this.cluster = undefined;
      parts = this.single;
      this.producerIds = new ProducerIdManager(this.dataDir);
      // Replays __consumer_offsets and __transaction_state before the listener opens, so no
      // request ever meets a loading coordinator.
      this.groupCoordinator = this.makeGroups(parts);
      this.txnCoordinator = this.makeTransactions(parts, this.groupCoordinator);
      this.txnCoordinator.loadAll();
      this.delays = this.makeDelays(parts, false);
    }
    this.registry = createRegistry();
    const info: ClusterInfo = this.cluster ?? this;
    const broker = this;
    this.tracer = new Tracer({
      logs: parts,
      topics: parts,
      config,
      log,
      now: () => Date.now(),
      groupsOf: (clientId, host) => broker.groupCoordinator?.groupsOfClient(clientId, host) ?? [],
      forward:
        this.cluster === undefined
          ? undefined
          : (p, batch) => broker.cluster!.forwardBatch(TRACE_TOPIC, p, batch).then((code) => code === ErrorCode.NONE),
    });
    const services: BrokerServices = {
      logs: parts,
      topics: parts,
      // A cluster broker makes its coordinator once it has joined; the listener holds connections until then.
      get groups() {
        return broker.groups;
      },
      get transactions() {
        return broker.transactions;
      },
      producerIds: this.producerIds,
      cluster: info,
      logDirs: parts,
      config,
      log,
      trace: this.tracer,
      apiVersions: () => this.registry.apiVersions(),
    };
    this.services = services;
    this.listenerSocket = new KafkaListener(
      {
        registry: this.registry,
        services,
        log,
        maxRequestBytes: config.num('socket.request.max.bytes'),
        useSendfile: process.env.FRANZ_SENDFILE !== '0',
        maxQueuedRequests: config.num('queued.max.requests'),
        onAnswered: (apiKey, seconds) => this.metrics?.request(apiKey, seconds),
      },
      {
        maxSegmentBytes: config.num('franz.socket.max.segment.bytes'),
        sendBufferBytes: config.num('socket.send.buffer.bytes'),
        receiveBufferBytes: config.num('socket.receive.buffer.bytes'),
      },
      {
        maxConnections: config.num('max.connections'),
        maxPerIp: config.num('max.connections.per.ip'),
        perIpOverrides: connectionOverrides(config.get('max.connections.per.ip.overrides')),
        idleMs: config.num('connections.max.idle.ms'),
        readTimeoutMs: config.num('franz.request.read.timeout.ms'),
      },
      log,
    );
  }

  /** Delayed delivery over these partition logs (franz.delay.enable), told of each delayed record a log appends. */
  private makeDelays(logs: PartitionLogs, clustered: boolean): DelayScheduler | undefined {
    if (!this.config.bool('franz.delay.enable')) return undefined;
    const delays = new DelayScheduler(join(this.dataDir, 'delay-index'), {
      logs,
      log: this.log,
      maxDelayMs: this.config.num('franz.delay.max.ms'),
      clustered,
      now: () => Date.now(),
      delivered: (topic, p, deliveries) => this.tracer.delivered(topic, p, deliveries),
    });
    this.logs.delayed = (topic, p, due) => {
      delays.scheduled(topic, p, due);
      this.tracer.scheduled(topic, p, due);
    };
    return delays;
  }

  private makeGroups(parts: TopicManager | ClusterNode): GroupCoordinator {
    const groups = new GroupCoordinator({ logs: parts, topics: parts, config: this.config, log: this.log });
    parts.onTopicDeleted = (name) => {
      groups.onTopicDeleted(name).catch((err: unknown) => {
        this.log.error('could not remove the committed offsets of a deleted topic', { topic: name, err: String(err) });
      });
    };
    return groups;
  }

  private makeTransactions(parts: TopicManager | ClusterNode, groups: GroupCoordinator): Transactions {
    const txns = new Transactions({ logs: parts, topics: parts, config: this.config, log: this.log, producerIds: this.producerIds });
    // Offsets committed in a transaction count once its marker reaches their offsets partition.
    txns.onMarker = (topic, p, producerId, commit) => {
      if (topic === OFFSETS_TOPIC) groups.completeTransaction(p, producerId, commit);
    };
    return txns;
  }

  get transactions(): Transactions {
    if (this.txnCoordinator === undefined) throw new Error('the transaction coordinator is made when the broker has joined its cluster');
    return this.txnCoordinator;
  }

  get groups(): GroupCoordinator {
    if (this.groupCoordinator === undefined) throw new Error('the group coordinator is made when the broker has joined its cluster');
    return this.groupCoordinator;
  }

  /** The single node's topics (tests and tools reach into them); a cluster broker has none of its own. */
  get topics(): TopicManager {
    if (this.single === undefined) throw new Error('a cluster broker keeps its topics in the cluster');
    return this.single;
  }

  get clusterId(): string {
    return this.cluster?.clusterId ?? this.ownClusterId;
  }

  /** A single node is its own controller. */
  get controllerId(): number {
    return this.nodeId;
  }

  brokers(): BrokerEndpoint[] {
    return [{ nodeId: this.nodeId, host: this.advertised.host, port: this.advertised.port, rack: this.config.get('broker.rack') || null }];
  }

  /** Every partition has one replica, this node, which leads it unless its log went offline (a storage error). */
  replicaState(topic: string, partition: number): ReplicaState | undefined {
    const t = this.single?.get(topic);
    if (t === undefined || partition < 0 || partition >= t.partitions) return undefined;
    const offline = this.single?.partition(topic, partition)?.offlineError != null;
    const me = [this.nodeId];
    return offline
      ? { leader: -1, leaderEpoch: 0, replicas: me, isr: [], offline: me, storageFailed: true }
      : { leader: this.nodeId, leaderEpoch: 0, replicas: me, isr: me, offline: [] };
  }

  /** The port listened on (the one the OS chose for port 0). */
  get port(): number {
    return this.listener.port;
  }

  /** Sets the address given to clients (by default the listener's own). */
  advertise(host: string, port: number): void {
    this.advertised = { host, port };
    this.advertisedSet = true;
  }

  /**
   * Listens, and serves once ready. A cluster broker first joins its cluster (registered at the
   * address `advertise` gives for the port listened on) and holds connections until then.
   */
  async start(host: string, port: number, advertise?: (boundPort: number) => Endpoint): Promise<void> {
    if (this.cluster !== undefined) this.listenerSocket.hold();
    await this.listenerSocket.start(host, port);
    await this.startHttp();
    this.listener = { host, port: this.listenerSocket.port };
    if (advertise !== undefined) {
      const a = advertise(this.listenerSocket.port);
      this.advertise(a.host, a.port);
    }
    if (!this.advertisedSet) this.advertised = { host: this.advertised.host, port: this.listenerSocket.port };
    if (this.cluster !== undefined) {
      await this.cluster.start(this.listener, this.advertised);
      const groups = this.makeGroups(this.cluster);
      this.groupCoordinator = groups;
      const txns = this.makeTransactions(this.cluster, groups);
      const cluster = this.cluster;
      txns.remoteMarker = (topic, p, marker) => cluster.sendTxnMarker(topic, p, marker);
      txns.remoteAdd = async (transactionalId, producerId, producerEpoch, partitions, verifyOnly) => {
        const statePartition = txns.statePartitionOf(transactionalId);
        if (statePartition === undefined) return partitions.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
        return cluster.checkTxnPartitions(TRANSACTION_STATE_TOPIC, statePartition, {
          transactionalId,
          producerId,
          producerEpoch,
          partitions,
          verifyOnly,
        });
      };
      this.txnCoordinator = txns;
      txns.loadAll();
      // A group's (a transactional id's) coordinator is the leader of its offsets (transaction
      // state) partition: coordinators move with leaderships.
      // Delayed delivery: the leader of a partition delivers what waits in it.
      const delays = this.makeDelays(cluster, true);
      this.delays = delays;
      delays?.start();
      this.cluster.onLeadershipChange = (topic, p, leading) => {
        if (topic === OFFSETS_TOPIC) groups.onOffsetsPartition(p, leading);
        else if (topic === TRANSACTION_STATE_TOPIC) txns.onStatePartition(p, leading);
        else if (leading) delays?.lead(topic, p);
        else delays?.release(topic, p);
      };
      // The partitions led since the join, before the callback was set.
      for (const { key, log } of this.logs.all()) {
        if (log.hasDelayBatches && cluster.partition(key.topic, key.partition) === log) delays?.lead(key.topic, key.partition);
      }
      this.listenerSocket.release();
    }
    this.logs.startBackgroundWork(this.config.num('log.retention.check.interval.ms'));
    this.cleaner.start();
    if (this.cluster === undefined) this.delays?.start();
    this.groups.startExpiry();
    this.transactions.start();
    this.serving = true;
  }

  /** The HTTP listener, when franz.http.listeners names one (its routes call what the Kafka handlers call). */
  private async startHttp(): Promise<void> {
    const address = this.config.get('franz.http.listeners');
    if (address === '') return;
    const cut = address.lastIndexOf(':');
    const host = address.slice(0, cut).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(cut + 1));
    if (cut < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`franz.http.listeners: expected HOST:PORT, got "${address}"`);
    const calls = new BrokerCalls(this.services, this.registry);
    const metrics = new BrokerMetrics(calls, {
      logs: () => this.logs.all(),
      delay: () => this.delays?.stats(),
      trace: () => ({ written: this.tracer.written, dropped: this.tracer.dropped }),
      apiName: (apiKey) => this.registry.get(apiKey)?.handler.spec.name ?? String(apiKey),
    });
    this.metrics = metrics;
    observeFsync((seconds) => metrics.fsynced(seconds));
    this.http = await startHttpApi({
      host: host === '' ? '0.0.0.0' : host,
      port,
      calls,
      metrics,
      notReady: () => (this.serving ? null : this.cluster !== undefined ? 'joining the cluster' : 'starting'),
      maxRecordBytes: this.config.num('message.max.bytes'),
      log: this.log,
    });
  }

  /** The HTTP listener's port (0 when there is none). */
  get httpPort(): number {
    return this.http?.port ?? 0;
  }

  /** Stops accepting, lets in-flight requests finish briefly, flushes, and marks the shutdown clean. */
  async stop(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    // A cluster broker hands its leaderships over first (controlled shutdown), then drains.
    this.serving = false;
    this.http?.close();
    observeFsync(null);
    await this.cluster?.resign(graceMs * 2);
    await this.listenerSocket.stop(graceMs);
    this.tracer.stop();
    this.groupCoordinator?.shutdown();
    this.txnCoordinator?.stop();
    // A creation under way stops at its next step; the next start opens what it made.
    await this.single?.stop();
    await this.cluster?.stop();
    await this.delays?.stop();
    await this.cleaner.stop();
    await this.logs.close();
    await this.recompressor.close();
  }
}
