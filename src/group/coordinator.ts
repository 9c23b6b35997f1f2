/**
 * GroupCoordinator: every consumer group on this broker (a single node coordinates them all),
 * their committed offsets, and their persistence in `__consumer_offsets` through GroupStore.
 *
 * Offsets of a group that has been empty for offsets.retention.minutes expire (Kafka's rule since
 * KIP-211: the clock starts when the group becomes empty; offsets of a group without metadata, i.e.
 * committed by assign() consumers, expire that long after their commit).
 *
 * A group id is either a classic group (JoinGroup/SyncGroup) or a consumer group (KIP-848
 * ConsumerGroupHeartbeat, group/consumer-group.ts). An empty group of one type turns into the
 * other when a member of the other protocol joins; a group with members refuses the other
 * protocol. Consumer-group membership is kept in memory only (see consumer-group.ts); their
 * committed offsets are stored like every group's, and expire by commit time once the group is
 * empty.
 */
import type { BrokerConfig } from '../config.js';
import { ErrorCode } from '../protocol/errors.js';
import { SERVER_ASSIGNORS } from './assignors.js';
import { ClassicGroup, type GroupSettings } from './classic-group.js';
import { ConsumerGroup, type ConsumerGroupSettings, type TopicMeta } from './consumer-group.js';
import { GroupStore, type GroupPorts, type LoadedState, type PendingTxnOffsets } from './group-store.js';
import { splitTpKey, tpKey } from './topic-partition.js';
import type { CommittedOffset } from './records.js';

export interface OffsetCommitInput {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

export class GroupCoordinator {
  readonly store: GroupStore;
  readonly classic = new Map<string, ClassicGroup>();
  /** KIP-848 consumer groups (in memory only). */
  readonly consumer = new Map<string, ConsumerGroup>();
  private readonly consumerSettings: ConsumerGroupSettings;
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  /**
   * Offsets committed in open transactions (TxnOffsetCommit), by producer id: they become
   * committed offsets when the transaction's commit marker is written to the group's partition
   * (completeTransaction), and are dropped by an abort.
   */
  private readonly pendingTxn = new Map<number, PendingTxnOffsets>();
  private readonly settings: GroupSettings;
  private expiryTimer: NodeJS.Timeout | null = null;

  private readonly config: BrokerConfig;

  constructor(ports: GroupPorts) {
    this.store = new GroupStore(ports);
    const { topics, config: cfg } = ports;
    this.config = cfg;
    this.settings = {
      initialRebalanceDelayMs: cfg.num('group.initial.rebalance.delay.ms'),
      maxSize: cfg.num('group.max.size'),
      persist: (g) => this.store.storeGroup(g.groupId, g.toRecord()),
      onStateChange: () => undefined,
    };
    const meta = (t: { name: string; id: string; partitions: number; internal: boolean } | undefined): TopicMeta | undefined =>
      t === undefined ? undefined : { name: t.name, id: t.id, partitions: t.partitions, internal: t.internal };
    this.consumerSettings = {
      sessionTimeoutMs: () => cfg.num('group.consumer.session.timeout.ms'),
      heartbeatIntervalMs: () => cfg.num('group.consumer.heartbeat.interval.ms'),
      assignors: () => this.serverAssignorNames().flatMap((n) => SERVER_ASSIGNORS.get(n) ?? []),
      topicByName: (name) => meta(topics.get(name)),
      topicById: (id) => meta(topics.getById(id)),
      topics: () => topics.list().map((t) => ({ name: t.name, id: t.id, partitions: t.partitions, internal: t.internal })),
      log: ports.log,
    };
    this.adopt(this.store.load());
  }

  private adopt(loaded: LoadedState): void {
    for (const [group, m] of loaded.offsets) if (m.size > 0) this.offsets.set(group, m);
    for (const [group, rec] of loaded.groups) this.classic.set(group, ClassicGroup.restore(group, rec, this.settings));
    for (const [pid, txn] of loaded.pending) {
      const mine = this.pendingOf(pid);
      for (const [group, m] of txn.offsets) mine.offsets.set(group, m);
    }
  }

  private pendingOf(producerId: number): PendingTxnOffsets {
    let t = this.pendingTxn.get(producerId);
    if (t === undefined) {
      t = { offsets: new Map() };
      this.pendingTxn.set(producerId, t);
    }
    return t;
  }

  /** Whether an open transaction has committed an offset for the group's partition (OffsetFetch requireStable). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    const k = tpKey(topic, partition);
    for (const t of this.pendingTxn.values()) if (t.offsets.get(groupId)?.has(k)) return true;
    return false;
  }

  /**
   * TxnOffsetCommit: stores the offsets in the producer's transaction; they count once it
   * commits. Returns one error code per input; the caller has checked the member and generation.
   */
  async commitInTransaction(groupId: string, producerId: number, producerEpoch: number, inputs: OffsetCommitInput[]): Promise<number[]> {
    const codes = inputs.map((c) =>
      c.metadata !== null && Buffer.byteLength(c.metadata) > this.maxMetadataBytes ? ErrorCode.OFFSET_METADATA_TOO_LARGE : ErrorCode.NONE,
    );
    const now = Date.now();
    const accepted = inputs
      .filter((_, i) => codes[i] === ErrorCode.NONE)
      .map((c) => ({
        topic: c.topic,
        partition: c.partition,
        value: { offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata ?? '', commitTimestamp: now },
      }));
    if (accepted.length === 0) return codes;
    const code = await this.store.commitTxnOffsets(groupId, producerId, producerEpoch, accepted);
    if (code !== ErrorCode.NONE) return codes.map((c) => (c === ErrorCode.NONE ? code : c));
    const txn = this.pendingOf(producerId);
    let m = txn.offsets.get(groupId);
    if (m === undefined) {
      m = new Map();
      txn.offsets.set(groupId, m);
    }
    for (const a of accepted) m.set(tpKey(a.topic, a.partition), a.value);
    return codes;
  }

  /**
   * A transaction marker was written to partition p of the offsets topic: the producer's offsets
   * for the groups of that partition become committed (commit) or are dropped (abort).
   */
  completeTransaction(p: number, producerId: number, commit: boolean): void {
    const txn = this.pendingTxn.get(producerId);
    if (txn === undefined) return;
    for (const [group, m] of [...txn.offsets]) {
      if (this.store.partitionFor(group) !== p) continue;
      txn.offsets.delete(group);
      if (!commit) continue;
      let committed = this.offsets.get(group);
      if (committed === undefined) {
        committed = new Map();
        this.offsets.set(group, committed);
      }
      for (const [k, v] of m) committed.set(k, v);
    }
    if (txn.offsets.size === 0) this.pendingTxn.delete(producerId);
  }

  /**
   * This broker now leads (or no longer leads) partition p of `__consumer_offsets` (cluster mode):
   * the groups stored there are loaded from its replica of the log, or forgotten here.
   */
  onOffsetsPartition(p: number, leading: boolean): void {
    const mine = (group: string): boolean => this.store.partitionFor(group) === p;
    for (const g of [...this.offsets.keys()]) if (mine(g)) this.offsets.delete(g);
    for (const [g, cg] of [...this.classic]) {
      if (!mine(g)) continue;
      cg.kill();
      this.classic.delete(g);
    }
    for (const [g, cg] of [...this.consumer]) {
      if (!mine(g)) continue;
      cg.kill();
      this.consumer.delete(g);
    }
    for (const [pid, txn] of [...this.pendingTxn]) {
      for (const g of [...txn.offsets.keys()]) if (mine(g)) txn.offsets.delete(g);
      if (txn.offsets.size === 0) this.pendingTxn.delete(pid);
    }
    if (!leading) return;
    this.adopt(this.store.loadPartition(p));
  }

  /**
   * NOT_COORDINATOR when another broker coordinates `groupId` (in a cluster, the leader of its
   * offsets partition: the client looks the coordinator up again), else null. Every group API asks
   * this first, so a broker that lost the partition never acts on the group's behalf.
   */
  notCoordinator(groupId: string): number | null {
    return this.store.leads(groupId) ? null : ErrorCode.NOT_COORDINATOR;
  }

  /** The KIP-848 server-side assignors enabled (group.consumer.assignors), the default first. */
  serverAssignorNames(): string[] {
    return this.config
      .get('group.consumer.assignors')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
  }

  get minSessionTimeoutMs(): number {
    return this.config.num('group.min.session.timeout.ms');
  }

  get maxSessionTimeoutMs(): number {
    return this.config.num('group.max.session.timeout.ms');
  }

  get maxMetadataBytes(): number {
    return this.config.num('offset.metadata.max.bytes');
  }

  startExpiry(): void {
    const interval = this.config.num('offsets.retention.check.interval.ms');
    this.expiryTimer = setInterval(() => void this.expireOffsets(Date.now()), interval);
    this.expiryTimer.unref();
  }

  /** The classic group, created empty on first use (an empty consumer group is dropped for it). */
  getOrCreateClassic(groupId: string): ClassicGroup {
    const cg = this.consumer.get(groupId);
    if (cg?.isEmpty) {
      cg.kill();
      this.consumer.delete(groupId);
    }
    let g = this.classic.get(groupId);
    if (g === undefined || g.state === 'Dead') {
      g = new ClassicGroup(groupId, this.settings);
      this.classic.set(groupId, g);
    }
    return g;
  }

  /** JoinGroup on a consumer group with members: franz has no mixed groups (Kafka 4 does). */
  classicJoinConflict(groupId: string): number {
    const cg = this.consumer.get(groupId);
    return cg !== undefined && !cg.isEmpty ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : ErrorCode.NONE;
  }

  /**
   * The consumer group a ConsumerGroupHeartbeat addresses. A join (epoch 0) creates it, replacing an
   * empty classic group (Kafka does the same); a classic group with members is GROUP_ID_NOT_FOUND
   * (Kafka would convert it online). Other epochs on an unknown group are UNKNOWN_MEMBER_ID, so a
   * client whose group was lost with a broker restart rejoins.
   */
  consumerGroupFor(groupId: string, join: boolean): ConsumerGroup | { errorCode: number; message: string } {
    const existing = this.consumer.get(groupId);
    if (existing !== undefined) return existing;
    const g = this.classic.get(groupId);
    if (g !== undefined && g.state !== 'Dead' && !g.isEmpty) {
      return {
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        message: `Group ${groupId} is a classic group with members, not a consumer group.`,
      };
    }
    if (!join) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, message: `Consumer group ${groupId} not found.` };
    if (g !== undefined) {
      const hadRecord = g.protocolType !== null || g.generationId > 0;
      g.kill();
      this.classic.delete(groupId);
      if (hadRecord) void this.store.storeGroup(groupId, null);
    }
    const cg = new ConsumerGroup(groupId, this.consumerSettings);
    this.consumer.set(groupId, cg);
    return cg;
  }

  /** "consumer" for KIP-848 groups, else "classic" (also for groups that only hold offsets). */
  typeOf(groupId: string): 'classic' | 'consumer' {
    return this.consumer.has(groupId) ? 'consumer' : 'classic';
  }

  /** OffsetFetch v9's member check (consumer groups only; classic groups accept any reader). */
  validateFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    const cg = this.consumer.get(groupId);
    if (cg === undefined) return ErrorCode.NONE;
    return cg.validateFetch(memberId, memberEpoch);
  }

  /** Checks an OffsetCommit's membership and generation (or member epoch); returns an error code. */
  validateCommit(groupId: string, memberId: string, groupInstanceId: string | null, generation: number, apiVersion = 9): number {
    const cg = this.consumer.get(groupId);
    if (cg !== undefined) return cg.validateCommit(memberId, generation, apiVersion);
    const g = this.classic.get(groupId);
    if (g === undefined || g.state === 'Dead') {
      return generation < 0 && memberId === '' ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    return g.validateCommit(memberId, groupInstanceId, generation);
  }

  committed(groupId: string): Map<string, CommittedOffset> | undefined {
    return this.offsets.get(groupId);
  }

  committedOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId)?.get(tpKey(topic, partition));
  }

  /** Groups known here: classic groups and groups that only have committed offsets. */
  groupIds(): string[] {
    const ids = new Set<string>();
    for (const [id, g] of this.classic) if (g.state !== 'Dead') ids.add(id);
    for (const id of this.consumer.keys()) ids.add(id);
    for (const id of this.offsets.keys()) ids.add(id);
    return [...ids];
  }

  /** The groups (classic and KIP-848) with a member of this client id from this host: message trace names a fetch's consumer by them. */
  groupsOfClient(clientId: string, host: string): string[] {
    const out: string[] = [];
    const match = (members: Iterable<{ clientId: string; clientHost: string }>): boolean => {
      for (const m of members) if (m.clientId === clientId && m.clientHost === host) return true;
      return false;
    };
    for (const [id, g] of this.classic) if (g.state !== 'Dead' && match(g.members.values())) out.push(id);
    for (const [id, g] of this.consumer) if (match(g.members.values())) out.push(id);
    return out;
  }

  stateOf(groupId: string): string {
    const cg = this.consumer.get(groupId);
    if (cg !== undefined) return cg.state;
    const g = this.classic.get(groupId);
    if (g !== undefined && g.state !== 'Dead') return g.state;
    return this.offsets.has(groupId) ? 'Empty' : 'Dead';
  }

  /**
   * Validates and stores commits. Returns one error code per input (same order); the caller has
   * already checked the member and generation.
   */
  async commit(groupId: string, inputs: OffsetCommitInput[]): Promise<number[]> {
    const codes = inputs.map((c) =>
      c.metadata !== null && Buffer.byteLength(c.metadata) > this.maxMetadataBytes ? ErrorCode.OFFSET_METADATA_TOO_LARGE : ErrorCode.NONE,
    );
    const now = Date.now();
    const accepted = inputs
      .map((c, i) => ({ c, i }))
      .filter(({ i }) => codes[i] === ErrorCode.NONE)
      .map(({ c }) => ({
        topic: c.topic,
        partition: c.partition,
        value: { offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata ?? '', commitTimestamp: now },
      }));
    if (accepted.length === 0) return codes;
    const errorCode = await this.store.commitOffsets(groupId, accepted);
    if (errorCode !== ErrorCode.NONE) return codes.map((c) => (c === ErrorCode.NONE ? errorCode : c));
    let m = this.offsets.get(groupId);
    if (m === undefined) {
      m = new Map();
      this.offsets.set(groupId, m);
    }
    for (const a of accepted) m.set(tpKey(a.topic, a.partition), a.value);
    return codes;
  }

  /** DeleteGroups: only empty groups; removes metadata and offsets. */
  async deleteGroup(groupId: string): Promise<number> {
    const cg = this.consumer.get(groupId);
    if (cg !== undefined) {
      if (!cg.isEmpty) return ErrorCode.NON_EMPTY_GROUP;
      const tps = [...(this.offsets.get(groupId)?.keys() ?? [])].map(splitTpKey);
      const code = await this.store.deleteOffsets(groupId, tps);
      if (code !== ErrorCode.NONE) return code;
      this.offsets.delete(groupId);
      cg.kill();
      this.consumer.delete(groupId);
      return ErrorCode.NONE;
    }
    const g = this.classic.get(groupId);
    const known = (g !== undefined && g.state !== 'Dead') || this.offsets.has(groupId);
    if (!known) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (g !== undefined && !g.isEmpty) return ErrorCode.NON_EMPTY_GROUP;
    const tps = [...(this.offsets.get(groupId)?.keys() ?? [])].map(splitTpKey);
    let code = await this.store.deleteOffsets(groupId, tps);
    if (code === ErrorCode.NONE) code = await this.store.storeGroup(groupId, null);
    if (code !== ErrorCode.NONE) return code;
    this.offsets.delete(groupId);
    g?.kill();
    this.classic.delete(groupId);
    return ErrorCode.NONE;
  }

  /** OffsetDelete: removes committed offsets of partitions the group does not subscribe to. */
  async deleteOffsets(
    groupId: string,
    tps: Array<{ topic: string; partition: number }>,
    subscribed: Set<string> | null,
  ): Promise<number[]> {
    const codes = tps.map((t) => (subscribed?.has(t.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE));
    const doomed = tps.filter((_, i) => codes[i] === ErrorCode.NONE);
    const code = await this.store.deleteOffsets(groupId, doomed);
    if (code !== ErrorCode.NONE) return codes.map((c) => (c === ErrorCode.NONE ? code : c));
    const m = this.offsets.get(groupId);
    for (const t of doomed) m?.delete(tpKey(t.topic, t.partition));
    if (m?.size === 0) this.offsets.delete(groupId);
    return codes;
  }

  /** Removes offsets past their retention; returns how many. */
  async expireOffsets(now: number): Promise<number> {
    const config = this.config;
    const retentionMs = config.isSet('franz.offsets.retention.ms')
      ? config.num('franz.offsets.retention.ms')
      : config.num('offsets.retention.minutes') * 60_000;
    let expired = 0;
    for (const [groupId, cg] of [...this.consumer]) {
      if (cg.isEmpty && !this.offsets.has(groupId)) {
        cg.kill();
        this.consumer.delete(groupId);
      }
    }
    for (const [groupId, m] of [...this.offsets]) {
      const cg = this.consumer.get(groupId);
      if (cg !== undefined && !cg.isEmpty) continue;
      const g = this.classic.get(groupId);
      if (g !== undefined && !g.isEmpty) continue;
      const emptySince = g !== undefined && g.protocolType !== null ? g.stateTimestamp : null;
      const doomed: Array<{ topic: string; partition: number }> = [];
      for (const [k, v] of m) {
        const since = emptySince ?? v.commitTimestamp;
        if (now - since >= retentionMs) doomed.push(splitTpKey(k));
      }
      if (doomed.length === 0) continue;
      if (await this.dropOffsets(groupId, doomed)) expired += doomed.length;
    }
    return expired;
  }

  /**
   * A deleted topic's committed offsets go with it, in every group, as in Kafka: a topic made
   * again under the same name starts with no committed offsets, so its consumers do not resume
   * at positions of the old topic's data. Returns how many offsets were removed.
   */
  async onTopicDeleted(topic: string): Promise<number> {
    // Chosen before the first write, so a commit to a topic made again meanwhile is not taken along.
    const work = [...this.offsets]
      .map(([groupId, m]) => ({ groupId, doomed: [...m.keys()].map(splitTpKey).filter((t) => t.topic === topic) }))
      .filter((w) => w.doomed.length > 0);
    let removed = 0;
    for (const w of work) if (await this.dropOffsets(w.groupId, w.doomed)) removed += w.doomed.length;
    return removed;
  }

  /**
   * Writes tombstones for `doomed` and forgets them; a group left with no offsets and no members
   * goes too (Kafka's Dead state). False when the tombstones could not be written.
   */
  private async dropOffsets(groupId: string, doomed: Array<{ topic: string; partition: number }>): Promise<boolean> {
    const keys = doomed.map((t) => tpKey(t.topic, t.partition));
    // A commit that lands while the tombstones are written follows them in the log and stays.
    const seen = keys.map((k) => this.offsets.get(groupId)?.get(k));
    if ((await this.store.deleteOffsets(groupId, doomed)) !== ErrorCode.NONE) return false;
    const m = this.offsets.get(groupId);
    if (m === undefined) return true;
    keys.forEach((k, i) => {
      if (m.get(k) === seen[i]) m.delete(k);
    });
    if (m.size > 0) return true;
    this.offsets.delete(groupId);
    const cg = this.consumer.get(groupId);
    if (cg?.isEmpty) {
      cg.kill();
      this.consumer.delete(groupId);
    }
    const g = this.classic.get(groupId);
    if (g?.isEmpty) {
      await this.store.storeGroup(groupId, null);
      g.kill();
      this.classic.delete(groupId);
    }
    return true;
  }

  shutdown(): void {
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    for (const g of this.classic.values()) g.shutdown();
    for (const g of this.consumer.values()) g.shutdown();
  }
}
