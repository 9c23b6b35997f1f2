/**
 * GroupCoordinator: every consumer group on this broker (a single node coordinates them all),
 * their committed offsets, and their persistence in `__consumer_offsets` through GroupStore.
 *
 * Offsets of a group that has been empty for offsets.retention.minutes expire (Kafka's rule since
 * KIP-211: the clock starts when the group becomes empty; offsets of a group without metadata, i.e.
 * committed by assign() consumers, expire that long after their commit).
 */
import type { Broker } from '../broker.js';
import { ErrorCode } from '../protocol/errors.js';
import { ClassicGroup, type GroupSettings } from './classic-group.js';
import { GroupStore, splitTpKey, tpKey } from './group-store.js';
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
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private readonly settings: GroupSettings;
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly broker: Broker) {
    this.store = new GroupStore(broker);
    const cfg = broker.config;
    this.settings = {
      initialRebalanceDelayMs: cfg.num('group.initial.rebalance.delay.ms'),
      maxSize: cfg.num('group.max.size'),
      persist: (g) => this.store.storeGroup(g.groupId, g.toRecord()),
      onStateChange: () => undefined,
    };
    const loaded = this.store.load();
    for (const [group, m] of loaded.offsets) if (m.size > 0) this.offsets.set(group, m);
    for (const [group, rec] of loaded.groups) this.classic.set(group, ClassicGroup.restore(group, rec, this.settings));
  }

  get minSessionTimeoutMs(): number {
    return this.broker.config.num('group.min.session.timeout.ms');
  }

  get maxSessionTimeoutMs(): number {
    return this.broker.config.num('group.max.session.timeout.ms');
  }

  get maxMetadataBytes(): number {
    return this.broker.config.num('offset.metadata.max.bytes');
  }

  startExpiry(): void {
    const interval = this.broker.config.num('offsets.retention.check.interval.ms');
    this.expiryTimer = setInterval(() => void this.expireOffsets(Date.now()), interval);
    this.expiryTimer.unref();
  }

  /** The classic group, created empty on first use. */
  getOrCreateClassic(groupId: string): ClassicGroup {
    let g = this.classic.get(groupId);
    if (g === undefined || g.state === 'Dead') {
      g = new ClassicGroup(groupId, this.settings);
      this.classic.set(groupId, g);
    }
    return g;
  }

  /** Checks an OffsetCommit's membership and generation; returns an error code. */
  validateCommit(groupId: string, memberId: string, groupInstanceId: string | null, generation: number): number {
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
    for (const id of this.offsets.keys()) ids.add(id);
    return [...ids];
  }

  stateOf(groupId: string): string {
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
    if (m === undefined) this.offsets.set(groupId, (m = new Map()));
    for (const a of accepted) m.set(tpKey(a.topic, a.partition), a.value);
    return codes;
  }

  /** DeleteGroups: only empty groups; removes metadata and offsets. */
  async deleteGroup(groupId: string): Promise<number> {
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
    const retentionMs = this.broker.config.num('offsets.retention.minutes') * 60_000;
    let expired = 0;
    for (const [groupId, m] of [...this.offsets]) {
      const g = this.classic.get(groupId);
      if (g !== undefined && !g.isEmpty) continue;
      const emptySince = g !== undefined && g.protocolType !== null ? g.stateTimestamp : null;
      const doomed: Array<{ topic: string; partition: number }> = [];
      for (const [k, v] of m) {
        const since = emptySince ?? v.commitTimestamp;
        if (now - since >= retentionMs) doomed.push(splitTpKey(k));
      }
      if (doomed.length === 0) continue;
      const code = await this.store.deleteOffsets(groupId, doomed);
      if (code !== ErrorCode.NONE) continue;
      for (const t of doomed) m.delete(tpKey(t.topic, t.partition));
      expired += doomed.length;
      if (m.size === 0) {
        this.offsets.delete(groupId);
        if (g !== undefined && g.isEmpty) {
          await this.store.storeGroup(groupId, null);
          g.kill();
          this.classic.delete(groupId);
        }
      }
    }
    return expired;
  }

  shutdown(): void {
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    for (const g of this.classic.values()) g.shutdown();
  }
}
