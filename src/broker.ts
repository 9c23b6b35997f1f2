/**
 * The single-node broker: configuration, the topic registry, the partition logs, the producer id
 * allocator, and the Kafka listener. Handlers reach all broker state through this object.
 */
import { createServer, type Server } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BrokerConfig, TOPIC_KEYS, toNumber, validateTopicConfigs, type ConfigSource } from './config.js';
import { LogManager, writeFileDurably, type CreationStop } from './storage/log-manager.js';
import type { Log, LogConfig } from './storage/log.js';
import { TopicRegistry, invalidTopicName, type TopicInfo } from './metadata/topics.js';
import { HandlerRegistry } from './handlers/registry.js';
import { registerAll } from './handlers/index.js';
import { Connection } from './server/connection.js';
import * as native from './native/index.js';
import { GroupCoordinator } from './group/coordinator.js';
import { ErrorCode } from './protocol/errors.js';
import type { Logger } from './logger.js';

export const FRANZ_VERSION = '0.1.0';

/** Producer ids are handed out from blocks whose end is persisted first, so none is reused after a crash. */
class ProducerIdManager {
  private next: number;
  private blockEnd: number;
  private readonly path: string;
  private static readonly BLOCK = 1000;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'franz-producer-ids');
    const saved = existsSync(this.path) ? Number(readFileSync(this.path, 'utf8').trim()) : 0;
    this.next = Number.isFinite(saved) ? saved : 0;
    this.blockEnd = this.next;
  }

  allocate(): number {
    if (this.next >= this.blockEnd) {
      this.blockEnd = this.next + ProducerIdManager.BLOCK;
      writeFileDurably(this.path, String(this.blockEnd));
    }
    return this.next++;
  }
}

/** How a background creation ended: Kafka's error code and message. */
export interface Outcome {
  errorCode: number;
  message: string | null;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: ConfigSource;
  readOnly: boolean;
  sensitive: boolean;
}

export class Broker {
  readonly registry = new HandlerRegistry();
  readonly logs: LogManager;
  readonly topics: TopicRegistry;
  readonly nodeId: number;
  readonly dataDir: string;
  private readonly producerIds: ProducerIdManager;
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  host = '127.0.0.1';
  port = 9092;
  advertisedHost = '127.0.0.1';
  advertisedPort = 9092;
  /** Leader epoch of every partition on a single node. */
  readonly leaderEpoch = 0;
  readonly startedAt = Date.now();
  readonly useSendfile: boolean;
  readonly groups: GroupCoordinator;
  /** Topics with partition creations queued or running, and how many. */
  private readonly creating = new Map<string, number>();
  private creationQueue: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.nodeId = config.nodeId;
    this.dataDir = resolve(config.dataDir);
    this.logs = new LogManager(this.dataDir, (msg, extra) => log.warn(msg, extra));
    this.topics = new TopicRegistry(this.dataDir, this.nodeId, config.get('cluster.id'));
    this.producerIds = new ProducerIdManager(this.dataDir);
    this.useSendfile = process.env.FRANZ_SENDFILE !== '0';
    registerAll(this.registry);
    for (const t of this.topics.list()) this.openTopicLogs(t);
    // Replays __consumer_offsets before the listener opens, so no request ever meets a loading coordinator.
    this.groups = new GroupCoordinator(this);
  }

  get clusterId(): string {
    return this.topics.clusterId;
  }

  /** Opens (creating what is missing: a crash may have cut a creation short) every log of a topic. */
  private openTopicLogs(t: TopicInfo): void {
    const cfg = this.logConfig(t);
    for (let p = 0; p < t.partitions; p++) {
      this.topics.ensurePartitionMetadata(t, p);
      this.logs.open(t.name, p, cfg);
    }
  }

  /** The effective value of a topic config key: the topic's override, else the broker default. */
  topicConfigValue(t: TopicInfo, key: string): { value: string; source: ConfigSource } {
    const own = t.configs[key];
    if (own !== undefined) return { value: own, source: 'DYNAMIC_TOPIC_CONFIG' };
    return this.config.topicDefault(key);
  }

  /** Every topic config with value and source, for DescribeConfigs. */
  describeTopicConfigs(t: TopicInfo): ConfigEntry[] {
    return Object.keys(TOPIC_KEYS).map((name) => {
      const { value, source } = this.topicConfigValue(t, name);
      return { name, value, source, readOnly: false, sensitive: false };
    });
  }

  logConfig(t: TopicInfo): LogConfig {
    const n = (key: string): number => toNumber(this.topicConfigValue(t, key).value);
    const flushSet = t.configs['flush.messages'] !== undefined || t.configs['flush.ms'] !== undefined;
    return {
      segmentBytes: n('segment.bytes'),
      segmentMs: n('segment.ms'),
      indexIntervalBytes: n('index.interval.bytes'),
      maxMessageBytes: n('max.message.bytes'),
      retentionMs: n('retention.ms'),
      retentionBytes: n('retention.bytes'),
      durable: this.config.durable && !flushSet,
      flushMessages: n('flush.messages'),
      flushMs: n('flush.ms'),
      logAppendTime: this.topicConfigValue(t, 'message.timestamp.type').value === 'LogAppendTime',
    };
  }

  partition(topic: string, partition: number): Log | undefined {
    const t = this.topics.get(topic);
    if (t === undefined || partition < 0 || partition >= t.partitions) return undefined;
    return this.logs.get(topic, partition);
  }

  /**
   * The error for a partition `partition()` did not find: NOT_LEADER_OR_FOLLOWER while the topic
   * has it but its log is still being made (what a Kafka broker answers before it has applied its
   * controller's record; clients refresh metadata and retry), else UNKNOWN_TOPIC_OR_PARTITION.
   */
  missingPartitionError(topic: string, partition: number): number {
    const t = this.topics.get(topic);
    return t !== undefined && partition >= 0 && partition < t.partitions ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }

  get autoCreateTopics(): boolean {
    return this.config.bool('auto.create.topics.enable');
  }

  /**
   * Checks a new topic; returns Kafka's error, or the partition count with the defaults applied.
   * An internal topic's configs come from broker keys checked at start-up against their own
   * ranges (offsets.topic.segment.bytes may be under the 1 MiB a user's segment.bytes needs).
   */
  private checkNewTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    internal = false,
  ): { errorCode: number; message: string | null } | number {
    const bad = invalidTopicName(name);
    if (bad !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: bad };
    if (this.topics.get(name) !== undefined) {
      return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${name}' already exists.` };
    }
    if (this.creating.has(name)) {
      // Deleted while its partitions were being made: the name is free once that work has cleaned up.
      return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${name}' is still being removed.` };
    }
    if (partitions === -1) partitions = this.config.num('num.partitions');
    if (replicationFactor === -1) replicationFactor = this.config.num('default.replication.factor');
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 100_000) {
      return { errorCode: ErrorCode.INVALID_PARTITIONS, message: `Number of partitions must be at least 1, got ${partitions}.` };
    }
    if (replicationFactor !== 1) {
      return {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        message: `Replication factor ${replicationFactor} is larger than the 1 available broker.`,
      };
    }
    const configError = internal ? null : validateTopicConfigs(configs);
    if (configError !== null) return { errorCode: ErrorCode.INVALID_CONFIG, message: configError };
    return partitions;
  }

  /**
   * Validates and creates a topic with all its logs before returning (auto-creation and internal
   * topics, which have few partitions). Returns Kafka's error code and message.
   */
  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly = false,
    internal = false,
  ): { errorCode: number; message: string | null; topic?: TopicInfo } {
    const checked = this.checkNewTopic(name, partitions, replicationFactor, configs, internal);
    if (typeof checked !== 'number') return checked;
    partitions = checked;
    if (validateOnly) return { errorCode: ErrorCode.NONE, message: null };
    const t = this.topics.create(name, partitions, configs, internal);
    try {
      this.openTopicLogs(t);
    } catch (err) {
      // Out of descriptors or disk: no half-made topic stays behind. The logs go first, which
      // gives their descriptors back for rewriting the topic registry.
      for (let p = 0; p < partitions; p++) this.logs.drop(name, p);
      this.topics.delete(name);
      this.log.error('topic creation failed', { topic: name, partitions, err: String(err) });
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: `Could not create the logs of topic '${name}': ${String(err)}` };
    }
    this.log.info('topic created', { topic: name, partitions });
    return { errorCode: ErrorCode.NONE, message: null, topic: t };
  }

  /**
   * Validates and registers a topic at once, and makes its logs in the background (CreateTopics):
   * `ready` settles when they are all open, with NONE or the error that undid the topic. Until then
   * Metadata lists the topic with this node as every partition's leader, as Kafka 4 does once its
   * controller has recorded a topic, and requests to a partition whose log is not open yet get
   * NOT_LEADER_OR_FOLLOWER (see missingPartitionError).
   */
  createTopicAsync(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): { errorCode: number; message: string | null; topic?: TopicInfo; ready?: Promise<Outcome> } {
    const checked = this.checkNewTopic(name, partitions, replicationFactor, configs);
    if (typeof checked !== 'number') return checked;
    const t = this.topics.create(name, checked, configs);
    const ready = this.createPartitionLogs(t, 0, checked, () => {
      if (this.topics.get(name)?.id === t.id) this.topics.delete(name);
    });
    return { errorCode: ErrorCode.NONE, message: null, topic: t, ready };
  }

  /**
   * Queues the making of partitions [from, to) of `t`, which the registry already counts. Creations
   * run one at a time, in the order asked (a CreatePartitions after its CreateTopics). `undo` takes
   * the partitions back out of the registry when their files cannot be made; a creation whose topic
   * was deleted, or shrunk back by such an undo, removes what it made.
   */
  private createPartitionLogs(t: TopicInfo, from: number, to: number, undo: () => void): Promise<Outcome> {
    this.creating.set(t.name, (this.creating.get(t.name) ?? 0) + 1);
    const stop = (): CreationStop => {
      if (this.stopping) return 'stop';
      const now = this.topics.get(t.name);
      return now === undefined || now.id !== t.id || now.partitions < to ? 'delete' : null;
    };
    const run = async (): Promise<Outcome> => {
      try {
        const r = await this.logs.createLogs(t.name, from, to, this.logConfig(t), [this.topics.partitionMetadata(t)], stop);
        // A shutdown leaves the topic for the next start to complete.
        if (r === 'stop') return { errorCode: ErrorCode.NONE, message: null };
        if (r === 'delete') {
          return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `Topic '${t.name}' was deleted while its partitions were being created.` };
        }
        // Configs may have changed while the logs were being made.
        const cfg = this.logConfig(this.topics.get(t.name)!);
        for (let p = from; p < to; p++) this.logs.get(t.name, p)!.config = cfg;
        this.log.info(from === 0 ? 'topic created' : 'partitions added', { topic: t.name, partitions: to });
        return { errorCode: ErrorCode.NONE, message: null };
      } catch (err) {
        this.log.error('partition creation failed', { topic: t.name, from, to, err: String(err) });
        try {
          undo();
        } catch (undoErr) {
          this.log.error('could not undo the partitions in the topic registry', { topic: t.name, err: String(undoErr) });
        }
        return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: `Could not create the logs of topic '${t.name}': ${String(err)}` };
      } finally {
        const n = this.creating.get(t.name)! - 1;
        if (n === 0) this.creating.delete(t.name);
        else this.creating.set(t.name, n);
      }
    };
    const done = this.creationQueue.then(run);
    this.creationQueue = done;
    return done;
  }

  /** Creates a topic on first use (Metadata/Produce) when auto.create.topics.enable is on. */
  autoCreate(name: string): TopicInfo | undefined {
    if (!this.autoCreateTopics || invalidTopicName(name) !== null) return undefined;
    const r = this.createTopic(name, -1, -1, {});
    return r.topic ?? this.topics.get(name);
  }

  deleteTopic(name: string): number {
    const t = this.topics.get(name);
    if (t === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (!this.config.bool('delete.topic.enable')) return ErrorCode.TOPIC_DELETION_DISABLED;
    this.topics.delete(name);
    // Partitions still being made belong to their creation, which sees the deletion and removes them.
    const creating = this.creating.has(name);
    for (let p = 0; p < t.partitions; p++) if (!creating || this.logs.get(name, p) !== undefined) this.logs.drop(name, p);
    this.log.info('topic deleted', { topic: name });
    this.groups.onTopicDeleted(name).catch((err: unknown) => {
      this.log.error('could not remove the committed offsets of a deleted topic', { topic: name, err: String(err) });
    });
    return ErrorCode.NONE;
  }

  /**
   * Grows a topic to `count` partitions: the registry counts them at once, their logs are made in
   * the background (see createPartitionLogs); the promise settles when they are open, or with
   * KAFKA_STORAGE_ERROR after a failure took them back out.
   */
  addPartitions(name: string, count: number): Promise<Outcome> {
    const t = this.topics.get(name)!;
    const before = t.partitions;
    this.topics.setPartitions(name, count);
    return this.createPartitionLogs(t, before, count, () => {
      const now = this.topics.get(name);
      if (now?.id === t.id && now.partitions >= count) this.topics.setPartitions(name, before);
    });
  }

  /** Replaces a topic's overrides and applies them to its open logs. */
  setTopicConfigs(name: string, configs: Record<string, string>): void {
    this.topics.setConfigs(name, configs);
    const t = this.topics.get(name)!;
    const cfg = this.logConfig(t);
    for (let p = 0; p < t.partitions; p++) {
      const l = this.logs.get(name, p);
      if (l !== undefined) l.config = cfg;
    }
  }

  allocateProducerId(): number {
    return this.producerIds.allocate();
  }

  async start(host: string, port: number): Promise<void> {
    this.host = host;
    const maxRequest = this.config.num('socket.request.max.bytes');
    // Paused on accept: Connection moves the socket to one that reads into request buffers.
    this.server = createServer({ pauseOnConnect: true }, (socket) => {
      const c: Connection = new Connection(socket, this, this.registry, this.log, maxRequest, this.useSendfile,
        () => this.connections.delete(c));
      this.connections.add(c);
    });
    await new Promise<void>((ok, fail) => {
      this.server!.once('error', fail);
      this.server!.listen(port, host, () => ok());
    });
    this.capSegmentSize(this.config.num('franz.socket.max.segment.bytes'));
    this.setBufferSize(true, this.config.num('socket.send.buffer.bytes'));
    this.setBufferSize(false, this.config.num('socket.receive.buffer.bytes'));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : port;
    if (this.advertisedPort === 9092 && port === 0) this.advertisedPort = this.port;
    this.logs.startBackgroundWork(this.config.num('log.retention.check.interval.ms'));
    this.groups.startExpiry();
  }

  /**
   * Caps the TCP segment size of accepted connections (franz.socket.max.segment.bytes; off by
   * default). On loopback the kernel's MSS is 64 KiB, about the whole receive window of a client
   * that fixes its buffer small (the Java consumer's receive.buffer.bytes is 64 KiB): each
   * window then holds one partial segment, which the receiver acknowledges late (delayed ACK,
   * 40 ms), and a Fetch response bigger than the window moves in such steps. A Java consumer
   * on loopback saw end-to-end p99 of 65-97 ms against an ack p99 of 6-8 ms (Kafka, same
   * client: 226 against 27 ms); with segments of at most 28 KiB (two full ones fit the window)
   * 9-13 ms. Smaller segments cost CPU per byte on loopback (at 28 KiB, by hand: 4-14% more
   * broker CPU producing 1 KiB records with franz-go, 10-20% less ConsumerPerformance
   * throughput; at 24 KiB, 60% more broker CPU), so it is the operator's choice. Linux takes
   * 88 to 32 767. Links with an ordinary MTU (1 500, jumbo 9 000) have smaller segments anyway.
   * Connections accepted before this call keep the kernel's MSS; there are none, as the
   * listener was opened just now.
   */
  private capSegmentSize(bytes: number): void {
    if (bytes <= 0) return;
    const fd = this.listenerFd();
    if (fd === null) return;
    try {
      native.setListenerMaxSegment(fd, bytes);
    } catch (e) {
      this.log.warn('could not cap the TCP segment size of accepted connections', { bytes, error: String(e) });
    }
  }

  /**
   * Fixes the kernel send or receive buffer of accepted connections (socket.send.buffer.bytes,
   * socket.receive.buffer.bytes, Kafka's names; -1 leaves the OS default, which Linux autotunes
   * up to net.ipv4.tcp_wmem / tcp_rmem). Set on the listener; accepted sockets inherit both.
   * The defaults differ from Kafka's (100 KiB each), measured on loopback with kcat reading
   * 1 GiB from 8 partitions (BENCHMARKS.md, "Socket buffers"):
   *  - send, 256 KiB: an autotuned buffer grows to megabytes and the sendfile thread runs far
   *    ahead of the consumer; kcat then took a median 1.2 s, with 256 KiB 0.85 s (100 KiB
   *    1.1 s, 1 MiB 1.35 s). perf stat showed the consumer busy 0.93 of a CPU instead of 0.75
   *    and migrating between CPUs 5-8 times instead of 40-62.
   *  - receive, the OS default: a fixed 100 KiB made franz-go's 1 GiB produce take 1.2 s
   *    instead of 1.0 and the broker 50% more CPU.
   * A send buffer that cannot hold two of the connection's segments stalls on the peer's
   * delayed ACK: on loopback (64 KiB segments) 51200 made the same read take 16 s (65536 1.6 s).
   */
  private setBufferSize(send: boolean, bytes: number): void {
    if (bytes <= 0) return;
    const fd = this.listenerFd();
    if (fd === null) return;
    try {
      native.setSocketBufferSize(fd, send, bytes);
    } catch (e) {
      this.log.warn(`could not set the ${send ? 'send' : 'receive'} buffer size of accepted connections`, { bytes, error: String(e) });
    }
  }

  /** The listening socket's descriptor (null before listen, or if Node hides it). */
  private listenerFd(): number | null {
    const fd = (this.server as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : null;
  }

  /** Stops accepting, lets in-flight requests finish briefly, flushes, and marks the shutdown clean. */
  async stop(graceMs = 2000): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server !== null) {
      server.close();
      // Requests already received are answered (a produce waiting for its fsync included); no new ones are read.
      const drained = Promise.all([...this.connections].map((c) => c.drain()));
      const grace = new Promise<void>((ok) => setTimeout(ok, graceMs).unref());
      await Promise.race([drained, grace]);
      for (const c of this.connections) c.destroy();
    }
    this.groups.shutdown();
    // A creation under way stops at its next step; the next start opens what it made.
    this.stopping = true;
    await this.creationQueue;
    await this.logs.close();
  }
}

