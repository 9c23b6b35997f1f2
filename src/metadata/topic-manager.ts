/**
 * TopicManager: the life of topics on this node: creating them (at once, or with their logs made
 * in the background), growing and deleting them, their configs as the logs see them (a topic's
 * overrides over the broker's defaults), and the partition logs themselves as handlers and the
 * group coordinator reach them (the PartitionLogs, TopicAdmin, InternalTopics and LogDirs ports).
 *
 * The registry (TopicRegistry) is the source of truth for which topics and partitions exist; the
 * LogManager holds their open logs. A partition can be in the first and not yet in the second
 * while its log is being made: requests to it then get NOT_LEADER_OR_FOLLOWER.
 * Main thread only.
 */
import { statfsSync } from 'node:fs';
import type { BrokerConfig, ConfigSource, TopicKey } from '../config.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import type { CreationStop, LogManager } from '../storage/log-manager.js';
import type { Log, LogConfig } from '../storage/log.js';
import type {
  ConfigEntry,
  ElectionResult,
  InternalTopics,
  LogDirs,
  Outcome,
  PartitionLogs,
  PartitionRef,
  Reassignment,
  TopicAdmin,
} from './ports.js';
import { checkNewTopic } from './new-topic.js';
import { describeTopicConfigs, logConfig, topicConfigValue } from './topic-configs.js';
import { invalidTopicName, type TopicInfo, type TopicRegistry } from './topics.js';

export class TopicManager implements PartitionLogs, TopicAdmin, InternalTopics, LogDirs {
  /** Topics with partition creations queued or running, and how many. */
  private readonly creating = new Map<string, number>();
  private creationQueue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  /** Called after a topic is deleted (the group coordinator drops its committed offsets). */
  onTopicDeleted: (name: string) => void = () => undefined;

  constructor(
    private readonly registry: TopicRegistry,
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
    private readonly log: Logger,
    private readonly dataDir: string,
  ) {
    for (const t of registry.list()) this.openTopicLogs(t);
  }

  get(name: string): TopicInfo | undefined {
    return this.registry.get(name);
  }

  getById(id: string): TopicInfo | undefined {
    return this.registry.getById(id);
  }

  list(): TopicInfo[] {
    return this.registry.list();
  }

  /** Opens (creating what is missing: a crash may have cut a creation short) every log of a topic. */
  private openTopicLogs(t: TopicInfo): void {
    const cfg = this.logConfig(t);
    for (let p = 0; p < t.partitions; p++) {
      this.registry.ensurePartitionMetadata(t, p);
      this.logs.open(t.name, p, cfg);
    }
  }

  /** The effective value of a topic config key: the topic's override, else the broker default. */
  topicConfigValue(t: TopicInfo, key: TopicKey): { value: string; source: ConfigSource } {
    return topicConfigValue(this.config, t, key);
  }

  describeTopicConfigs(t: TopicInfo): ConfigEntry[] {
    return describeTopicConfigs(this.config, t);
  }

  logConfig(t: TopicInfo): LogConfig {
    return logConfig(this.config, t);
  }

  /** A single node is every partition's only replica: acks=all means this log. */
  readonly replicated = false;

  acksAllError(_topic: string, _partition: number): number {
    return ErrorCode.NONE;
  }

  followerFetched(): void {}

  /** A single node never changes leaders: every partition is at epoch 0. */
  leaderEpochOf(_topic: string, _partition: number): number {
    return 0;
  }

  partition(topic: string, partition: number): Log | undefined {
    const t = this.registry.get(topic);
    if (t === undefined || partition < 0 || partition >= t.partitions) return undefined;
    return this.logs.get(topic, partition);
  }

  /**
   * The error for a partition `partition()` did not find: NOT_LEADER_OR_FOLLOWER while the topic
   * has it but its log is still being made (what a Kafka broker answers before it has applied its
   * controller's record; clients refresh metadata and retry), else UNKNOWN_TOPIC_OR_PARTITION.
   */
  missingPartitionError(topic: string, partition: number): number {
    const t = this.registry.get(topic);
    return t !== undefined && partition >= 0 && partition < t.partitions
      ? ErrorCode.NOT_LEADER_OR_FOLLOWER
      : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }

  writeCheckpoints(): Promise<void> {
    return this.logs.writeCheckpoints();
  }

  describe(): { path: string; totalBytes: number; usableBytes: number } {
    try {
      const s = statfsSync(this.dataDir);
      return { path: this.dataDir, totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
    } catch {
      return { path: this.dataDir, totalBytes: -1, usableBytes: -1 };
    }
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
    internal: boolean,
  ): Outcome | number {
    // Deleted while its partitions were being made: the name is free once that work has cleaned up.
    const taken =
      this.registry.get(name) !== undefined
        ? `Topic '${name}' already exists.`
        : this.creating.has(name)
          ? `Topic '${name}' is still being removed.`
          : null;
    const checked = checkNewTopic(this.config, { name, partitions, replicationFactor, configs, internal }, taken, 1);
    return 'partitions' in checked ? checked.partitions : checked;
  }

  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly = false,
  ): Outcome & { topic?: TopicInfo } {
    return this.createNow(name, partitions, replicationFactor, configs, validateOnly, false);
  }

  /** A single node keeps one replica, whatever the coordinator's replication factor. */
  createInternalTopic(name: string, partitions: number, _replicationFactor: number, configs: Record<string, string>): Outcome {
    return this.createNow(name, partitions, 1, configs, false, true);
  }

  /**
   * Validates and creates a topic with all its logs before returning (auto-creation and internal
   * topics, which have few partitions). Returns Kafka's error code and message.
   */
  private createNow(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly: boolean,
    internal: boolean,
  ): Outcome & { topic?: TopicInfo } {
    const checked = this.checkNewTopic(name, partitions, replicationFactor, configs, internal);
    if (typeof checked !== 'number') return checked;
    if (validateOnly) return { errorCode: ErrorCode.NONE, message: null };
    const t = this.registry.create(name, checked, configs, internal);
    try {
      this.openTopicLogs(t);
    } catch (err) {
      // Out of descriptors or disk: no half-made topic stays behind. The logs go first, which
      // gives their descriptors back for rewriting the topic registry.
      for (let p = 0; p < checked; p++) this.logs.drop(name, p);
      this.registry.delete(name);
      this.log.error('topic creation failed', { topic: name, partitions: checked, err: String(err) });
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: `Could not create the logs of topic '${name}': ${String(err)}` };
    }
    this.log.info('topic created', { topic: name, partitions: checked });
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
  ): Outcome & { topic?: TopicInfo; ready?: Promise<Outcome> } {
    const checked = this.checkNewTopic(name, partitions, replicationFactor, configs, false);
    if (typeof checked !== 'number') return checked;
    const t = this.registry.create(name, checked, configs);
    const ready = this.createPartitionLogs(t, 0, checked, () => {
      if (this.registry.get(name)?.id === t.id) this.registry.delete(name);
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
      const now = this.registry.get(t.name);
      return now === undefined || now.id !== t.id || now.partitions < to ? 'delete' : null;
    };
    const run = async (): Promise<Outcome> => {
      try {
        const r = await this.logs.createLogs(t.name, from, to, this.logConfig(t), [this.registry.partitionMetadata(t)], stop);
        // A shutdown leaves the topic for the next start to complete.
        if (r === 'stop') return { errorCode: ErrorCode.NONE, message: null };
        if (r === 'delete') {
          return {
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            message: `Topic '${t.name}' was deleted while its partitions were being created.`,
          };
        }
        // Configs may have changed while the logs were being made.
        const now = this.registry.get(t.name);
        if (now !== undefined) {
          const cfg = this.logConfig(now);
          for (let p = from; p < to; p++) {
            const l = this.logs.get(t.name, p);
            if (l !== undefined) l.config = cfg;
          }
        }
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
        const n = (this.creating.get(t.name) ?? 1) - 1;
        if (n === 0) this.creating.delete(t.name);
        else this.creating.set(t.name, n);
      }
    };
    const done = this.creationQueue.then(run);
    this.creationQueue = done;
    return done;
  }

  autoCreate(name: string): TopicInfo | undefined {
    if (!this.config.bool('auto.create.topics.enable') || invalidTopicName(name) !== null) return undefined;
    const r = this.createTopic(name, -1, -1, {});
    return r.topic ?? this.registry.get(name);
  }

  deleteTopic(name: string): number {
    const t = this.registry.get(name);
    if (t === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (!this.config.bool('delete.topic.enable')) return ErrorCode.TOPIC_DELETION_DISABLED;
    this.registry.delete(name);
    // Partitions still being made belong to their creation, which sees the deletion and removes them.
    const creating = this.creating.has(name);
    for (let p = 0; p < t.partitions; p++) if (!creating || this.logs.get(name, p) !== undefined) this.logs.drop(name, p);
    this.log.info('topic deleted', { topic: name });
    this.onTopicDeleted(name);
    return ErrorCode.NONE;
  }

  /**
   * Grows a topic to `count` partitions: the registry counts them at once, their logs are made in
   * the background (see createPartitionLogs); the promise settles when they are open, or with
   * KAFKA_STORAGE_ERROR after a failure took them back out.
   */
  addPartitions(name: string, count: number): Promise<Outcome> {
    const t = this.registry.get(name);
    if (t === undefined) return Promise.resolve({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: null });
    const before = t.partitions;
    this.registry.setPartitions(name, count);
    return this.createPartitionLogs(t, before, count, () => {
      const now = this.registry.get(name);
      if (now?.id === t.id && now.partitions >= count) this.registry.setPartitions(name, before);
    });
  }

  /**
   * A single node holds every replica there is: a target naming only this broker is where the
   * partition already is; any other broker id is not registered (INVALID_REPLICA_ASSIGNMENT), and
   * there is never a move in progress to cancel or list.
   */
  async alterPartitionReassignments(
    changes: ReadonlyArray<PartitionRef & { replicas: readonly number[] | null }>,
  ): Promise<ElectionResult[]> {
    const self = this.config.nodeId;
    return changes.map(({ topic, partition, replicas }) => {
      const t = this.registry.get(topic);
      const result = (errorCode: number, message: string | null): ElectionResult => ({ topic, partition, errorCode, message });
      if (t === undefined || partition < 0 || partition >= t.partitions) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
      if (replicas === null) return result(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No reassignment is in progress.');
      if (replicas.length === 1 && replicas[0] === self) return result(ErrorCode.NONE, null);
      return result(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `A single node has only broker ${self}.`);
    });
  }

  listPartitionReassignments(): Reassignment[] {
    return [];
  }

  /** A single node is every partition's preferred and only replica: there is never an election to hold. */
  async electLeaders(_type: number, partitions: ReadonlyArray<PartitionRef> | null): Promise<ElectionResult[]> {
    return (partitions ?? []).map(({ topic, partition }) => {
      const t = this.registry.get(topic);
      const known = t !== undefined && partition >= 0 && partition < t.partitions;
      return {
        topic,
        partition,
        errorCode: known ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        message: known ? 'Leader election not needed for topic partition.' : null,
      };
    });
  }

  /** Replaces a topic's overrides and applies them to its open logs. */
  setTopicConfigs(name: string, configs: Record<string, string>): void {
    this.registry.setConfigs(name, configs);
    const t = this.registry.get(name);
    if (t === undefined) return;
    const cfg = this.logConfig(t);
    for (let p = 0; p < t.partitions; p++) {
      const l = this.logs.get(name, p);
      if (l !== undefined) l.config = cfg;
    }
  }

  /** Stops at their next step the creations under way (the next start opens what they made). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.creationQueue;
  }
}
