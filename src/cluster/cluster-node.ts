/**
 * One broker of a cluster whose metadata lives in etcd: what it knows of the cluster (the image,
 * kept current by the watch), its membership, the controller role when it holds it, and the logs
 * of the partitions it hosts. Behind the same ports as the single-node TopicManager, so handlers
 * and the group coordinator do not know which mode they run in.
 *
 * This broker leads a partition when its image names it leader; only then does `partition()` hand
 * out the log (followers copy into theirs and serve nothing from it). What it writes to etcd (ISR
 * changes, and the controller's elections) needs its lease certainly alive (Membership.live).
 * Main thread only.
 */
import { type MarkerToSend, TxnPeers, type TxnPartitionCheck } from './txn-peers.js';
import { randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type {
  BrokerEndpoint,
  ClusterInfo,
  ConfigEntry,
  ElectionResult,
  Endpoint,
  InternalTopics,
  LogDirs,
  Outcome,
  PartitionLogs,
  PartitionRef,
  Reassignment,
  ReplicaState,
  TopicAdmin,
} from '../metadata/ports.js';
import { describeTopicConfigs, logConfig, topicConfigValue } from '../metadata/topic-configs.js';
import { checkNewTopic } from '../metadata/new-topic.js';
import { ensurePartitionMetadata, invalidTopicName, newTopicId, partitionMetadataTopicId, type TopicInfo } from '../metadata/topics.js';
import { partitionDirName } from '../storage/durable-file.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import type { LogManager } from '../storage/log-manager.js';
import type { Log } from '../storage/log.js';
import { Controller, electOnRequest } from './controller.js';
import { EtcdStore, type ClusterAddress } from './etcd-store.js';
import { Membership } from './membership.js';
import { PartitionLeader } from './partition-leader.js';
import { placeReplicas, placementStart } from './placement.js';
import { ClusterProducerIds } from './producer-ids.js';
import { isReassigning, originalReplicas, reassign, type Refusal } from './reassignment.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import { ClusterImage, keptParts, type ClusterEvent, type PartitionRecord, type PartitionState, type TopicRecord } from './state.js';

function infoOf(t: TopicRecord): TopicInfo {
  return { name: t.name, id: t.id, partitions: t.replicas.length, configs: t.configs, internal: t.internal };
}

export interface ClusterNodeOptions {
  address: ClusterAddress;
  nodeId: number;
  rack: string | null;
  config: BrokerConfig;
  logs: LogManager;
  log: Logger;
  dataDir: string;
}

export class ClusterNode implements ClusterInfo, PartitionLogs, TopicAdmin, InternalTopics, LogDirs {
  readonly image = new ClusterImage();
  readonly nodeId: number;
  clusterId = '';
  listener: Endpoint = { host: '127.0.0.1', port: 0 };
  advertised: Endpoint = { host: '127.0.0.1', port: 0 };
  private readonly store: EtcdStore;
  private membership: Membership | null = null;
  private controller: Controller | null = null;
  private readonly config: BrokerConfig;
  private readonly logs: LogManager;
  private readonly log: Logger;
  /** Creations this broker asked for, resolved when the watch brings the topic back. */
  private readonly awaitingTopic = new Map<string, () => void>();
  /** Called after a topic is deleted (the group coordinator drops its committed offsets). */
  onTopicDeleted: (name: string) => void = () => undefined;
  /** Called when this broker starts or stops leading a partition (the group coordinator loads or forgets groups). */
  onLeadershipChange: (topic: string, partition: number, leading: boolean) => void = () => undefined;
  /** The partitions this broker leads, by `topic\0partition`. */
  private readonly leading = new Map<string, PartitionLeader>();
  /** One fetcher per leader broker this broker follows partitions of. */
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  /** ISR writes under way, by partition key: one at a time per partition. */
  private readonly isrWrites = new Set<string>();
  private rolesDue = false;
  /** Partitions changed since the last reconcileRoles pass; null when every partition needs a look. */
  private dirtyPartitions: Set<string> | null = null;
  /** Called once after the next change applied to the image (resign waits on them). */
  private imageWaiters = new Set<() => void>();
  /** The offsets topic waiting for enough brokers (createInternalTopic). */
  /** Internal topics asked for and not yet made (too few brokers alive), by name. */
  private readonly pendingInternal = new Map<string, { partitions: number; replicationFactor: number; configs: Record<string, string> }>();
  private lagTimer: NodeJS.Timeout | null = null;
  readonly replicated = true;
  /** Producer ids unique across the cluster (blocks from etcd). */
  readonly producerIds: ClusterProducerIds;
  private readonly txnPeers: TxnPeers;

  constructor(private readonly opts: ClusterNodeOptions) {
    this.nodeId = opts.nodeId;
    this.config = opts.config;
    this.logs = opts.logs;
    this.log = opts.log;
    this.store = new EtcdStore(opts.address);
    this.producerIds = new ClusterProducerIds(this.store, opts.log);
    this.txnPeers = new TxnPeers(opts.nodeId, opts.log);
  }

  /** Joins the cluster: cluster id, registration, the image, then the controller election. */
  async start(listener: Endpoint, advertised: Endpoint): Promise<void> {
    this.listener = listener;
    this.advertised = advertised;
    this.clusterId = await this.store.clusterId(this.config.get('cluster.id') || randomBytes(16).toString('base64url'));
    const ttlMs = this.config.num('broker.session.timeout.ms');
    const m = new Membership(
      this.store,
      { id: this.nodeId, host: advertised.host, port: advertised.port, rack: this.opts.rack },
      ttlMs,
      this.log,
    );
    m.onLost = () => this.log.warn('this broker lost its cluster lease: it leads nothing until it is registered again');
    await m.register(ttlMs * 2);
    this.membership = m;
    await this.store.load(
      (e, revision) => this.apply(e, revision),
      (err) => this.log.error('cluster metadata watch failed', { err: String(err) }),
    );
    this.producerIds.prefetch();
    this.controller = new Controller(this.store, this.image, m, this.nodeId, this.config, this.log);
    await this.controller.start();
    this.reconcileRoles();
    // Replicas on disk that the cluster no longer places here (deleted or moved while this broker
    // was down): every hosted one is open by now.
    for (const name of this.logs.unopenedPartitionDirs()) {
      const cut = name.lastIndexOf('-');
      const [topic, p] = [name.slice(0, cut), Number(name.slice(cut + 1))];
      const t = this.image.topics.get(topic);
      const hosted =
        t !== undefined &&
        this.image.partition(topic, p)?.replicas.includes(this.nodeId) === true &&
        partitionMetadataTopicId(this.opts.dataDir, topic, p) === t.id;
      if (hosted) continue; // its log failed to open: leave it for an operator
      this.log.info('removing a replica this broker no longer hosts', { dir: name });
      this.logs.discardUnopened(name);
    }
    const lagMs = this.config.num('replica.lag.time.max.ms');
    this.lagTimer = setInterval(() => this.shrinkIsr(lagMs), Math.max(100, Math.floor(lagMs / 2)));
    this.lagTimer.unref();
    this.log.info('joined the cluster', { cluster: this.opts.address.prefix, clusterId: this.clusterId, brokers: this.image.brokers.size });
  }

  private apply(e: ClusterEvent, revision: number): void {
    const before = e.kind === 'topic' ? this.image.topics.get(e.name) : undefined;
    this.image.apply(e, revision);
    if (e.kind === 'topic') {
      if (before !== undefined && (e.record === null || e.record.id !== before.id)) this.dropTopic(before);
      if (e.record !== null) this.hostTopic(e.record);
      if (e.record === null && before !== undefined) this.onTopicDeleted(before.name);
      const waiter = e.record !== null ? this.awaitingTopic.get(e.record.id) : undefined;
      if (waiter !== undefined) {
        this.awaitingTopic.delete(e.record!.id);
        waiter();
      }
    }
    this.controller?.onEvent(e);
    if (e.kind === 'broker' && e.record !== null) this.makePendingInternal();
    if (this.imageWaiters.size > 0) {
      const waiters = this.imageWaiters;
      this.imageWaiters = new Set();
      for (const w of waiters) w();
    }
    // Leadership and following follow the image; one pass after a burst of events, over the
    // partitions that changed (a change of a broker or topic: over everything hosted).
    if (e.kind === 'partition') this.dirtyPartitions?.add(`${e.topic}\u0000${e.partition}`);
    else if (e.kind !== 'controller') this.dirtyPartitions = null;
    if (!this.rolesDue) {
      this.rolesDue = true;
      setImmediate(() => {
        this.rolesDue = false;
        const dirty = this.dirtyPartitions;
        this.dirtyPartitions = new Set();
        this.reconcileRoles(dirty);
      });
    }
  }

  /**
   * Makes this broker lead what the image says it leads and follow the rest of what it hosts:
   * a PartitionLeader for each partition it leads, each other hosted partition fetched from its
   * leader (when it has one), and no log for a partition it no longer hosts. `only`: just these
   * partitions (`topic\0partition`) changed; null: look at every one.
   */
  private reconcileRoles(only: ReadonlySet<string> | null = null): void {
    if (this.membership === null) return;
    const now = Date.now();
    const started: Array<[string, number]> = [];
    if (only === null) {
      const seen = new Set<string>();
      for (const t of this.image.topics.values()) {
        for (let p = 0; p < t.replicas.length; p++) {
          seen.add(`${t.name}\u0000${p}`);
          this.reconcilePartition(t, p, now, started);
        }
      }
      // What this broker led or followed of topics that are gone.
      for (const key of [...this.leading.keys()]) if (!seen.has(key)) this.stopLeading(key);
      for (const f of this.fetchers.values()) {
        for (const key of f.keys()) {
          if (seen.has(key)) continue;
          const [topic, p] = key.split('\u0000') as [string, string];
          f.unfollow(topic, Number(p));
        }
      }
    } else {
      for (const key of only) {
        const [topic, p] = key.split('\u0000') as [string, string];
        const t = this.image.topics.get(topic);
        if (t !== undefined) this.reconcilePartition(t, Number(p), now, started);
      }
    }
    for (const [topic, p] of started) this.onLeadershipChange(topic, p, true);
    for (const [id, f] of this.fetchers) {
      if (f.keys().length > 0) continue;
      f.stop();
      this.fetchers.delete(id);
    }
  }

  /** One partition's role here, as the image has it now (see reconcileRoles). */
  private reconcilePartition(t: TopicRecord, p: number, now: number, started: Array<[string, number]>): void {
    const s = this.image.partition(t.name, p);
    if (s === undefined) return;
    const key = `${t.name}\u0000${p}`;
    if (!s.replicas.includes(this.nodeId)) {
      // A reassignment took it away: dropped once nothing leads or fetches it.
      if (this.logs.get(t.name, p) === undefined) return;
      this.stopLeading(key);
      for (const f of this.fetchers.values()) f.unfollow(t.name, p);
      this.logs.drop(t.name, p);
      this.log.info('dropped a replica this broker no longer hosts', { topic: t.name, partition: p });
      return;
    }
    // A replica a reassignment adds here: its log is made now, and it starts following.
    const log = this.logs.get(t.name, p) ?? this.openHosted(t, p);
    if (log === undefined) return;
    if (s.leader === this.nodeId) {
      const l = this.leading.get(key);
      if (l === undefined || l.log !== log) {
        this.leading.set(key, new PartitionLeader(log, s.isr, this.nodeId, now));
        started.push([t.name, p]);
      } else l.setIsr(s.isr, now);
      for (const f of this.fetchers.values()) f.unfollow(t.name, p);
      return;
    }
    this.stopLeading(key);
    const leader = s.leader === -1 ? undefined : this.image.brokers.get(s.leader);
    for (const [id, f] of this.fetchers) if (id !== leader?.id) f.unfollow(t.name, p);
    if (leader === undefined) return;
    let f = this.fetchers.get(leader.id);
    if (f === undefined || f.address !== `${leader.host}:${leader.port}`) {
      f?.stop();
      f = new ReplicaFetcher(
        leader.id,
        `${leader.host}:${leader.port}`,
        this.nodeId,
        this.config.num('replica.fetch.wait.max.ms'),
        this.log,
      );
      this.fetchers.set(leader.id, f);
    }
    f.follow({ topic: t.name, partition: p, log, leaderEpoch: s.leaderEpoch });
  }

  /** No longer the leader: Log.endLeadership fails its pending acks=all waits and holds its high watermark. */
  private stopLeading(key: string): void {
    const l = this.leading.get(key);
    if (l === undefined) return;
    this.leading.delete(key);
    l.log.endLeadership();
    const [topic, p] = key.split('\u0000') as [string, string];
    this.onLeadershipChange(topic, Number(p), false);
  }

  /** Writes a partition's new ISR if the partition is still as this leader saw it. */
  private writeIsr(topic: string, p: number, isr: number[]): void {
    const key = `${topic}\u0000${p}`;
    const s = this.image.partition(topic, p);
    if (s === undefined || s.leader !== this.nodeId || this.isrWrites.has(key) || this.membership?.live !== true) return;
    this.isrWrites.add(key);
    const next = { ...keptParts(s), leader: s.leader, leaderEpoch: s.leaderEpoch, isr, partitionEpoch: s.partitionEpoch + 1 };
    this.store
      .updatePartition(topic, p, s, next, this.image.topicRevisions.get(topic) ?? 0)
      .then((ok) => {
        if (ok) this.log.info('ISR changed', { topic, partition: p, from: s.isr, to: isr, leaderEpoch: s.leaderEpoch });
      })
      .catch((err: unknown) => this.log.warn('could not change the ISR', { topic, partition: p, err: String(err) }))
      .finally(() => this.isrWrites.delete(key));
  }

  /** In-sync followers that have fallen behind for replica.lag.time.max.ms leave the ISR. */
  private shrinkIsr(lagMs: number): void {
    const now = Date.now();
    for (const [key, l] of this.leading) {
      const late = l.laggards(now, lagMs);
      if (late.length === 0) continue;
      const [topic, p] = key.split('\u0000') as [string, string];
      this.writeIsr(
        topic,
        Number(p),
        l.inSync.filter((r) => !late.includes(r)),
      );
    }
  }

  /** Opens (creating where missing) the logs of the partitions of `t` this broker holds a replica of. */
  private hostTopic(t: TopicRecord): void {
    const cfg = logConfig(this.config, t);
    for (let p = 0; p < t.replicas.length; p++) {
      if (this.image.partition(t.name, p)?.replicas.includes(this.nodeId) !== true) continue;
      const open = this.logs.get(t.name, p);
      if (open !== undefined) open.config = cfg;
      else this.openHosted(t, p);
    }
  }

  private openHosted(t: TopicRecord, p: number): Log | undefined {
    try {
      // A directory left from an older topic of the same name (deleted while this broker was down)
      // is not this topic's: its records must not reappear under the new topic id.
      const onDisk = partitionMetadataTopicId(this.opts.dataDir, t.name, p);
      if (onDisk !== null && onDisk !== t.id) {
        this.log.warn('removing a replica of an older topic of the same name', { topic: t.name, partition: p, topicId: onDisk });
        this.logs.discardUnopened(partitionDirName(t.name, p));
      }
      ensurePartitionMetadata(this.opts.dataDir, t.name, t.id, p);
      return this.logs.open(t.name, p, logConfig(this.config, t));
    } catch (err) {
      this.log.error('could not open a hosted partition', { topic: t.name, partition: p, err: String(err) });
      return undefined;
    }
  }

  private dropTopic(t: TopicRecord): void {
    t.replicas.forEach((_r, p) => {
      if (this.logs.get(t.name, p) !== undefined) this.logs.drop(t.name, p);
    });
  }

  // ClusterInfo

  get controllerId(): number {
    return this.image.controller?.id ?? -1;
  }

  brokers(): BrokerEndpoint[] {
    return this.image.liveBrokers().map((b) => ({ nodeId: b.id, host: b.host, port: b.port, rack: b.rack }));
  }

  replicaState(topic: string, partition: number): ReplicaState | undefined {
    const s = this.image.partition(topic, partition);
    if (s === undefined) return undefined;
    return {
      leader: s.leader,
      leaderEpoch: s.leaderEpoch,
      replicas: s.replicas,
      isr: s.isr,
      offline: s.replicas.filter((r) => !this.image.brokers.has(r)),
    };
  }

  // PartitionLogs

  leaderEpochOf(topic: string, partition: number): number {
    return this.image.partition(topic, partition)?.leaderEpoch ?? -1;
  }

  partition(topic: string, partition: number): Log | undefined {
    const s = this.image.partition(topic, partition);
    // Served while the image says so, even with etcd out of reach: acks=all stays safe through the
    // ISR (docs/ARCHITECTURE.md, "Fencing"), and partitions keep working through an etcd outage.
    if (s === undefined || s.leader !== this.nodeId) return undefined;
    return this.logs.get(topic, partition);
  }

  missingPartitionError(topic: string, partition: number): number {
    return this.image.partition(topic, partition) !== undefined ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }

  writeCheckpoints(): Promise<void> {
    return this.logs.writeCheckpoints();
  }

  acksAllError(topic: string, partition: number): number {
    const t = this.image.topics.get(topic);
    const s = this.image.partition(topic, partition);
    if (t === undefined || s === undefined) return ErrorCode.NONE;
    const min = Number(topicConfigValue(this.config, t, 'min.insync.replicas').value);
    return s.isr.length < min ? ErrorCode.NOT_ENOUGH_REPLICAS : ErrorCode.NONE;
  }

  followerFetched(topic: string, partition: number, replicaId: number, fetchOffset: number): void {
    const l = this.leading.get(`${topic}\u0000${partition}`);
    if (l === undefined) return;
    if (l.fetched(replicaId, fetchOffset, Date.now()) && !l.inSync.includes(replicaId)) {
      this.writeIsr(topic, partition, [...l.inSync, replicaId]);
    }
  }

  // LogDirs

  describe(): { path: string; totalBytes: number; usableBytes: number } {
    try {
      const s = statfsSync(this.opts.dataDir);
      return { path: this.opts.dataDir, totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
    } catch {
      return { path: this.opts.dataDir, totalBytes: -1, usableBytes: -1 };
    }
  }

  // TopicLookup / TopicAdmin

  get(name: string): TopicInfo | undefined {
    const t = this.image.topics.get(name);
    return t === undefined ? undefined : infoOf(t);
  }

  getById(id: string): TopicInfo | undefined {
    const t = this.image.topicById(id);
    return t === undefined ? undefined : infoOf(t);
  }

  list(): TopicInfo[] {
    return [...this.image.topics.values()].map(infoOf);
  }

  describeTopicConfigs(t: TopicInfo): ConfigEntry[] {
    return describeTopicConfigs(this.config, t);
  }

  /** Checks a new topic against the image and places its replicas; Kafka's error, or the record to write. */
  private plan(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    internal: boolean,
  ): Outcome | TopicRecord {
    const live = this.image.liveBrokers();
    const taken = this.image.topics.has(name) ? `Topic '${name}' already exists.` : null;
    const checked = checkNewTopic(this.config, { name, partitions, replicationFactor, configs, internal }, taken, live.length);
    if (!('partitions' in checked)) return checked;
    const replicas = placeReplicas(live, 0, checked.partitions, checked.replicationFactor, placementStart(name))!;
    return { name, id: newTopicId(), configs, internal, replicas };
  }

  /** Writes the topic to etcd; settles once this broker's watch has applied it. */
  private write(rec: TopicRecord): Promise<Outcome> {
    const applied = new Promise<void>((resolve) => this.awaitingTopic.set(rec.id, resolve));
    return this.store.createTopic(rec).then(
      async (ok) => {
        if (!ok) {
          this.awaitingTopic.delete(rec.id);
          return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${rec.name}' already exists.` };
        }
        await applied;
        this.log.info('topic created', { topic: rec.name, partitions: rec.replicas.length, replicas: rec.replicas[0]?.length });
        return { errorCode: ErrorCode.NONE, message: null };
      },
      (err: unknown) => {
        this.awaitingTopic.delete(rec.id);
        return { errorCode: ErrorCode.REQUEST_TIMED_OUT, message: `Could not reach the cluster metadata: ${String(err)}` };
      },
    );
  }

  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly = false,
  ): Outcome & { topic?: TopicInfo } {
    const r = this.createTopicAsync(name, partitions, replicationFactor, configs, validateOnly);
    return { errorCode: r.errorCode, message: r.message };
  }

  createTopicAsync(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly = false,
  ): Outcome & { topic?: TopicInfo; ready?: Promise<Outcome> } {
    const planned = this.plan(name, partitions, replicationFactor, configs, false);
    if (!('replicas' in planned)) return planned;
    if (validateOnly) return { errorCode: ErrorCode.NONE, message: null };
    return { errorCode: ErrorCode.NONE, message: null, topic: infoOf(planned), ready: this.write(planned) };
  }

  /**
   * A coordinator's state topic (offsets, transaction state), with its replication factor: made
   * as soon as that many brokers are alive (until then FindCoordinator answers
   * COORDINATOR_NOT_AVAILABLE, as in Kafka).
   */
  createInternalTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Outcome {
    this.pendingInternal.set(name, { partitions, replicationFactor, configs });
    this.makePendingInternal();
    return { errorCode: ErrorCode.NONE, message: null };
  }

  private makePendingInternal(): void {
    for (const [name, want] of [...this.pendingInternal]) {
      if (this.image.topics.has(name)) {
        this.pendingInternal.delete(name);
        continue;
      }
      if (this.image.brokers.size < want.replicationFactor) continue;
      this.pendingInternal.delete(name);
      const planned = this.plan(name, want.partitions, want.replicationFactor, want.configs, true);
      if ('replicas' in planned) void this.write(planned);
    }
  }

  /** Auto-creation asks the cluster and answers at once: the client sees the topic on its next metadata request. */
  autoCreate(name: string): TopicInfo | undefined {
    if (!this.config.bool('auto.create.topics.enable') || invalidTopicName(name) !== null) return undefined;
    const r = this.createTopicAsync(name, -1, -1, {});
    if (r.ready !== undefined) void r.ready;
    return undefined;
  }

  deleteTopic(name: string): number {
    if (!this.image.topics.has(name)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (!this.config.bool('delete.topic.enable')) return ErrorCode.TOPIC_DELETION_DISABLED;
    this.store.deleteTopic(name).catch((err: unknown) => this.log.error('could not delete a topic', { topic: name, err: String(err) }));
    return ErrorCode.NONE;
  }

  async addPartitions(name: string, count: number): Promise<Outcome> {
    const t = this.image.topics.get(name);
    const revision = this.image.topicRevisions.get(name) ?? 0;
    if (t === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: null };
    const rf = t.replicas[0]?.length ?? 1;
    const added = placeReplicas(this.image.liveBrokers(), t.replicas.length, count - t.replicas.length, rf, placementStart(name));
    if (added === null) {
      return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, message: `Replication factor ${rf} is larger than the live brokers.` };
    }
    const ok = await this.store.updateTopic({ ...t, replicas: [...t.replicas, ...added] }, revision);
    return ok
      ? { errorCode: ErrorCode.NONE, message: null }
      : { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, message: `Topic '${name}' changed meanwhile; try again.` };
  }

  setTopicConfigs(name: string, configs: Record<string, string>): void {
    const t = this.image.topics.get(name);
    const revision = this.image.topicRevisions.get(name) ?? 0;
    if (t === undefined) return;
    this.store
      .updateTopic({ ...t, configs }, revision)
      .then((ok) => {
        if (!ok) this.log.warn('topic configs changed meanwhile; this change was not applied', { topic: name });
      })
      .catch((err: unknown) => this.log.error('could not change topic configs', { topic: name, err: String(err) }));
  }

  /** Leaves the cluster: no more controller role or leadership, then the lease is revoked. */
  async electLeaders(electionType: number, partitions: ReadonlyArray<PartitionRef> | null): Promise<ElectionResult[]> {
    const all = partitions === null;
    const wanted: PartitionRef[] =
      partitions === null
        ? [...this.image.topics.values()].flatMap((t) => t.replicas.map((_r, partition) => ({ topic: t.name, partition })))
        : [...partitions];
    const results: ElectionResult[] = [];
    for (const { topic, partition } of wanted) {
      const r = await this.changePartition(
        topic,
        partition,
        (s) => {
          const next = electOnRequest(s, new Set(this.image.brokers.keys()), electionType);
          return typeof next === 'number' ? { errorCode: next, message: errorName(next) } : next;
        },
        (s, next) =>
          this.log.info('leader elected on request', { topic, partition, from: s.leader, to: next.leader, leaderEpoch: next.leaderEpoch }),
      );
      if (!all || r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) results.push(r);
    }
    return results;
  }

  /**
   * One requested change of a partition's record: `plan` gives the record to write (or why not),
   * written as a compare-and-swap; one lost to a change not yet seen here is planned again on the
   * newer state.
   */
  private async changePartition(
    topic: string,
    partition: number,
    plan: (s: PartitionState) => PartitionRecord | Refusal,
    written: (s: PartitionState, next: PartitionRecord) => void,
  ): Promise<ElectionResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const s = this.image.partition(topic, partition);
      if (s === undefined) return { topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: null };
      const next = plan(s);
      if ('errorCode' in next) return { topic, partition, errorCode: next.errorCode, message: next.message };
      if (await this.store.updatePartition(topic, partition, s, next, this.image.topicRevisions.get(topic) ?? 0)) {
        written(s, next);
        return { topic, partition, errorCode: ErrorCode.NONE, message: null };
      }
      await this.nextImageChange(1000);
    }
    return { topic, partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'the partition kept changing' };
  }

  async alterPartitionReassignments(
    changes: ReadonlyArray<PartitionRef & { replicas: readonly number[] | null }>,
    allowRfChange: boolean,
  ): Promise<ElectionResult[]> {
    const results: ElectionResult[] = [];
    for (const { topic, partition, replicas } of changes) {
      results.push(
        await this.changePartition(
          topic,
          partition,
          (s) => reassign(s, replicas, new Set(this.image.brokers.keys()), allowRfChange),
          (s, next) =>
            this.log.info(replicas === null ? 'reassignment cancelled' : 'reassignment started', {
              topic,
              partition,
              from: originalReplicas(s),
              to: next.replicas,
              adding: next.adding ?? [],
              removing: next.removing ?? [],
            }),
        ),
      );
    }
    return results;
  }

  listPartitionReassignments(partitions: ReadonlyArray<PartitionRef> | null): Reassignment[] {
    const wanted =
      partitions ?? [...this.image.topics.values()].flatMap((t) => t.replicas.map((_r, partition) => ({ topic: t.name, partition })));
    const out: Reassignment[] = [];
    for (const { topic, partition } of wanted) {
      const s = this.image.partition(topic, partition);
      if (s === undefined || !isReassigning(s)) continue;
      out.push({ topic, partition, replicas: s.replicas, adding: s.adding ?? [], removing: s.removing ?? [] });
    }
    return out;
  }

  /** Resolves at the next change applied to the image, or after `ms`. */
  private nextImageChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.imageWaiters.add(done);
    });
  }

  /**
   * Controlled shutdown: gives up the lease at once (this broker stops leading and the controller
   * sees it leave without waiting for the session timeout), then waits up to `waitMs` for the
   * image to show every partition it led led elsewhere (or by nobody), so that clients find the new
   * leaders while this broker still answers them with NOT_LEADER_OR_FOLLOWER.
   */
  async resign(waitMs: number): Promise<void> {
    const led = [...this.leading.keys()];
    this.controller?.stop();
    await this.membership?.stop();
    const deadline = Date.now() + waitMs;
    const moved = (): boolean =>
      led.every((key) => {
        const [topic, p] = key.split('\u0000') as [string, string];
        return this.image.partition(topic, Number(p))?.leader !== this.nodeId;
      });
    while (!moved() && Date.now() < deadline) await this.nextImageChange(deadline - Date.now());
    this.log.info('resigned from the cluster', { led: led.length, moved: moved() });
  }

  /** Writes a transaction marker on the leader of a partition led elsewhere (WriteTxnMarkers); an error code. */
  sendTxnMarker(topic: string, partition: number, marker: MarkerToSend): Promise<number> {
    const leader = this.replicaState(topic, partition)?.leader ?? -1;
    if (leader === -1 && this.image.topics.get(topic) === undefined) return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return this.txnPeers.sendMarker(
      this.brokers().find((b) => b.nodeId === leader),
      topic,
      partition,
      marker,
    );
  }

  /** Appends a batch the broker made (message trace's events) on the leader of a partition led elsewhere; an error code. */
  forwardBatch(topic: string, partition: number, batch: Buffer): Promise<number> {
    const leader = this.replicaState(topic, partition)?.leader ?? -1;
    if (leader === this.nodeId || leader === -1) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    return this.txnPeers.produce(
      this.brokers().find((b) => b.nodeId === leader),
      topic,
      partition,
      batch,
    );
  }

  /**
   * Asks the coordinator of a transactional id, the leader of `statePartition` of the state
   * topic, to verify or add partitions (AddPartitionsToTxn); an error code per partition. Not this
   * broker: a partition this broker leads but has not loaded yet is COORDINATOR_LOAD_IN_PROGRESS.
   */
  checkTxnPartitions(stateTopic: string, statePartition: number, check: TxnPartitionCheck): Promise<number[]> {
    const leader = this.replicaState(stateTopic, statePartition)?.leader ?? -1;
    if (leader === this.nodeId) return Promise.resolve(check.partitions.map(() => ErrorCode.COORDINATOR_LOAD_IN_PROGRESS));
    return this.txnPeers.addPartitions(
      this.brokers().find((b) => b.nodeId === leader),
      check,
    );
  }

  async stop(): Promise<void> {
    this.txnPeers.close();
    this.controller?.stop();
    if (this.lagTimer !== null) clearInterval(this.lagTimer);
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    await this.membership?.stop();
    await this.store.close();
  }
}
