/**
 * A consumer group using the KIP-848 consumer rebalance protocol (ConsumerGroupHeartbeat): the
 * coordinator, not a leader member, computes the assignment, and each member converges to it on
 * its own through heartbeats, without a group-wide barrier.
 *
 * Epochs. The group epoch is bumped whenever the group's subscriptions change: a member joins or
 * leaves (or is fenced), a member changes its subscribed topic names or regex, or a subscribed
 * topic is created, deleted or gets more partitions. On the next heartbeat after a bump the
 * server-side assignor (`uniform` or `range`, the members' most common choice, else the first of
 * group.consumer.assignors) computes a new target assignment for every member, stamped with the
 * target assignment epoch = the group epoch.
 *
 * Reconciliation (Kafka's simplified member state machine), per member on each of its heartbeats:
 *   - partitions of its current assignment that are not in its target are taken away first: the
 *     member keeps its epoch and goes to UNREVOKED_PARTITIONS until a heartbeat reports owned
 *     partitions without them (or its rebalance timeout expires: it is fenced);
 *   - then it gets the partitions of its target that no other member still holds, and its member
 *     epoch advances to the target epoch: STABLE when it got all of them, UNRELEASED_PARTITIONS
 *     while another member still has to release some (they are added on a later heartbeat).
 * So a partition is owned by at most one member at any time. A heartbeat whose epoch is not the
 * member's is FENCED_MEMBER_EPOCH (the member must drop its partitions and rejoin with epoch 0),
 * except the previous epoch with owned partitions within the current assignment (the response
 * that bumped the epoch was lost). The group is Empty, Assigning (epoch bumped, no target yet),
 * Reconciling (some member not yet at the target epoch) or Stable.
 *
 * Membership ends with a heartbeat with epoch -1 (leave), when the session timeout
 * (group.consumer.session.timeout.ms, counted from the last heartbeat) expires, or when a
 * revocation outlasts the member's rebalance timeout. A static member (instance id) may leave
 * with epoch -2: it keeps its partitions and target, and a new member with the same instance id
 * that joins within the session timeout takes them over without a rebalance; joining while the
 * instance id is still held by an active member is UNRELEASED_INSTANCE_ID.
 *
 * Subscriptions by regex (v1): a regex is matched, as a whole, against every topic name, internal
 * topics such as `__consumer_offsets` included (Kafka resolves it against all the topic names of
 * its metadata image). What franz accepts as a regex is in topic-regex.ts; a refused one is
 * INVALID_REGULAR_EXPRESSION.
 *
 * Not persisted (Kafka writes ConsumerGroupMetadata/Member/TargetAssignment records to
 * `__consumer_offsets`): membership lives in memory. After a broker restart a member's heartbeat
 * is UNKNOWN_MEMBER_ID and the client rejoins with epoch 0; committed offsets are persisted by the
 * coordinator as for every group. Not thread-safe: main thread only.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import type { Logger } from '../logger.js';
import type { AssignorMember, ServerAssignor } from './assignors.js';
import { compileTopicRegex } from './topic-regex.js';

export type MemberState = 'STABLE' | 'UNREVOKED_PARTITIONS' | 'UNRELEASED_PARTITIONS';
export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

/** Partitions by topic id (32 hex digits). */
export type Partitions = Map<string, Set<number>>;

export const LEAVE_GROUP_MEMBER_EPOCH = -1;
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

export interface TopicMeta {
  name: string;
  id: string;
  partitions: number;
  /** Internal topics are subscribable like any other, by name or by regex, as in Kafka. */
  internal: boolean;
}

export interface ConsumerGroupSettings {
  sessionTimeoutMs(): number;
  heartbeatIntervalMs(): number;
  /** Enabled assignors, the default first. */
  assignors(): ServerAssignor[];
  topicByName(name: string): TopicMeta | undefined;
  topicById(id: string): TopicMeta | undefined;
  topics(): TopicMeta[];
  log: Logger;
}

export interface ConsumerMember {
  readonly memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberState;
  /** What the member may use now. */
  assigned: Partitions;
  /** What it has been asked to give up and has not yet reported as released. */
  pendingRevocation: Partitions;
  sessionTimer: NodeJS.Timeout | null;
  rebalanceTimer: NodeJS.Timeout | null;
}

export interface OwnedTopicPartitions {
  topicId: string;
  partitions: number[];
}

export interface HeartbeatInput {
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  ownedTopicPartitions: OwnedTopicPartitions[] | null;
  clientId: string;
  clientHost: string;
}

export interface HeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: OwnedTopicPartitions[] } | null;
}

export function heartbeatError(errorCode: number, errorMessage: string | null): HeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
}

/** A member id as Kafka's clients make them (Uuid.toString: URL-safe base64 of 16 random bytes). */
export function newMemberId(): string {
  return randomBytes(16).toString('base64url');
}

function copyPartitions(p: Partitions): Partitions {
  const out: Partitions = new Map();
  for (const [t, ps] of p) out.set(t, new Set(ps));
  return out;
}

function samePartitions(a: Partitions, b: Partitions): boolean {
  if (a.size !== b.size) return false;
  for (const [t, ps] of a) {
    const other = b.get(t);
    if (other === undefined || other.size !== ps.size) return false;
    for (const p of ps) if (!other.has(p)) return false;
  }
  return true;
}

function isEmptyPartitions(p: Partitions): boolean {
  for (const ps of p.values()) if (ps.size > 0) return false;
  return true;
}

function toWire(p: Partitions): OwnedTopicPartitions[] {
  return [...p].filter(([, ps]) => ps.size > 0).map(([topicId, ps]) => ({ topicId, partitions: [...ps].sort((a, b) => a - b) }));
}

/** Whether the reported owned partitions include any of `pending` (null: unknown, assume yes). */
function ownsAnyOf(owned: OwnedTopicPartitions[] | null, pending: Partitions): boolean {
  if (owned === null) return true;
  for (const t of owned) {
    const ps = pending.get(t.topicId);
    if (ps === undefined) continue;
    for (const p of t.partitions) if (ps.has(p)) return true;
  }
  return false;
}

/** Whether every reported owned partition is within `assigned` (null: unknown, no). */
function ownedWithin(owned: OwnedTopicPartitions[] | null, assigned: Partitions): boolean {
  if (owned === null) return false;
  for (const t of owned) {
    const ps = assigned.get(t.topicId);
    if (t.partitions.length > 0 && ps === undefined) return false;
    for (const p of t.partitions) if (!ps!.has(p)) return false;
  }
  return true;
}

/** Who a heartbeat comes from (see ConsumerGroup.resolveMember). */
interface ResolvedMember {
  member: ConsumerMember;
  /** Not in the group yet: heartbeat() adds it. */
  added: boolean;
  /** The static member (left with epoch -2) that `member` takes over from, else null. */
  replaced: ConsumerMember | null;
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  dead = false;
  readonly members = new Map<string, ConsumerMember>();
  /** instance id -> member id */
  readonly staticMembers = new Map<string, string>();
  /** member id -> target assignment at assignmentEpoch */
  private target = new Map<string, Partitions>();
  /** topic id -> partition -> epoch of the member holding it (assigned or pending revocation) */
  private readonly partitionEpochs = new Map<string, Map<number, number>>();
  /** The subscribed topics (name, id, partitions) the current group epoch was computed for. */
  private subscriptionSignature = '';
  private readonly regexCache = new Map<string, RegExp>();

  constructor(
    readonly groupId: string,
    private readonly settings: ConsumerGroupSettings,
  ) {}

  get state(): ConsumerGroupState {
    if (this.dead) return 'Dead';
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) if (!this.isReconciled(m)) return 'Reconciling';
    return 'Stable';
  }

  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  private isReconciled(m: ConsumerMember): boolean {
    return m.memberEpoch === this.assignmentEpoch && m.state === 'STABLE';
  }

  targetOf(memberId: string): Partitions {
    return this.target.get(memberId) ?? new Map();
  }

  /** The server assignor the members ask for most often, else the default. */
  assignorName(): string {
    const enabled = this.settings.assignors();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    }
    let best: string | null = null;
    for (const [name, n] of votes) if (best === null || n > votes.get(best)!) best = name;
    return best ?? enabled[0]?.name ?? 'uniform';
  }

  // ---- subscriptions --------------------------------------------------------------------------

  private regex(source: string): RegExp | null {
    let re = this.regexCache.get(source);
    if (re === undefined) {
      const c = compileTopicRegex(source);
      if (typeof c === 'string') return null;
      re = c;
      this.regexCache.set(source, re);
    }
    return re;
  }

  /** Existing topics a member subscribes to, by name or through its regex. */
  private subscribedTopicsOf(m: ConsumerMember, all?: TopicMeta[]): TopicMeta[] {
    const out = new Map<string, TopicMeta>();
    for (const name of m.subscribedTopicNames) {
      const t = this.settings.topicByName(name);
      if (t !== undefined) out.set(t.name, t);
    }
    if (m.subscribedTopicRegex !== null) {
      const re = this.regex(m.subscribedTopicRegex);
      if (re !== null) {
        for (const t of all ?? this.settings.topics()) if (re.test(t.name)) out.set(t.name, t);
      }
    }
    return [...out.values()];
  }

  /** Topic names the members subscribe to (existing topics, regexes resolved), for OffsetDelete. */
  subscribedTopicNames(): Set<string> {
    const all = this.settings.topics();
    const out = new Set<string>();
    for (const m of this.members.values()) for (const t of this.subscribedTopicsOf(m, all)) out.add(t.name);
    return out;
  }

  private computeSignature(): string {
    const all = this.settings.topics();
    const seen = new Map<string, TopicMeta>();
    for (const m of this.members.values()) for (const t of this.subscribedTopicsOf(m, all)) seen.set(t.name, t);
    return [...seen.values()]
      .map((t) => `${t.name}/${t.id}/${t.partitions}`)
      .sort()
      .join(',');
  }

  // ---- partition ownership --------------------------------------------------------------------

  private currentPartitionEpoch(topicId: string, partition: number): number {
    return this.partitionEpochs.get(topicId)?.get(partition) ?? -1;
  }

  private releaseOwnership(m: ConsumerMember): void {
    for (const p of [m.assigned, m.pendingRevocation]) {
      for (const [t, ps] of p) {
        const epochs = this.partitionEpochs.get(t);
        if (epochs === undefined) continue;
        for (const x of ps) if (epochs.get(x) === m.memberEpoch) epochs.delete(x);
        if (epochs.size === 0) this.partitionEpochs.delete(t);
      }
    }
  }

  private recordOwnership(m: ConsumerMember): void {
    for (const p of [m.assigned, m.pendingRevocation]) {
      for (const [t, ps] of p) {
        let epochs = this.partitionEpochs.get(t);
        if (epochs === undefined) {
          epochs = new Map();
          this.partitionEpochs.set(t, epochs);
        }
        for (const x of ps) epochs.set(x, m.memberEpoch);
      }
    }
  }

  /** Replaces a member's epoch, state and partitions, keeping the ownership index in step. */
  private updateAssignment(
    m: ConsumerMember,
    epoch: number,
    state: MemberState,
    assigned: Partitions,
    pendingRevocation: Partitions,
  ): void {
    this.releaseOwnership(m);
    if (epoch !== m.memberEpoch) m.previousMemberEpoch = m.memberEpoch;
    m.memberEpoch = epoch;
    m.state = state;
    m.assigned = assigned;
    m.pendingRevocation = pendingRevocation;
    this.recordOwnership(m);
  }

  // ---- heartbeat -------------------------------------------------------------------------------

  /** Checks the epoch a member sent; returns an error result or null. */
  private checkEpoch(m: ConsumerMember, received: number, owned: OwnedTopicPartitions[] | null): HeartbeatResult | null {
    if (received > m.memberEpoch) {
      return heartbeatError(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a greater member epoch (${received}) than the one known by the group coordinator (${m.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
    if (received < m.memberEpoch && (received !== m.previousMemberEpoch || !ownedWithin(owned, m.assigned))) {
      return heartbeatError(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a smaller member epoch (${received}) than the one known by the group coordinator (${m.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
    return null;
  }

  private newMember(memberId: string, req: HeartbeatInput): ConsumerMember {
    return {
      memberId,
      instanceId: req.instanceId,
      rackId: null,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: [],
      subscribedTopicRegex: null,
      serverAssignor: null,
      memberEpoch: 0,
      previousMemberEpoch: 0,
      state: 'STABLE',
      assigned: new Map(),
      pendingRevocation: new Map(),
      sessionTimer: null,
      rebalanceTimer: null,
    };
  }

  /**
   * Finds who a heartbeat (member epoch >= 0) comes from, or why it is refused: the member itself
   * (its epoch checked), a new member (a join), or the new incarnation of a static member that
   * left with epoch -2. Changes nothing; heartbeat() applies the result.
   */
  private resolveMember(req: HeartbeatInput): ResolvedMember | HeartbeatResult {
    const joining = req.memberEpoch === 0;
    const memberId = req.memberId === '' ? newMemberId() : req.memberId;
    if (req.instanceId === null) {
      const existing = this.members.get(memberId);
      if (existing !== undefined) {
        return this.checkEpoch(existing, req.memberEpoch, req.ownedTopicPartitions) ?? { member: existing, added: false, replaced: null };
      }
      if (!joining) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${this.groupId}.`);
      return { member: this.newMember(memberId, req), added: true, replaced: null };
    }

    const heldBy = this.staticMembers.get(req.instanceId);
    const existing = heldBy === undefined ? undefined : this.members.get(heldBy);
    if (!joining) {
      if (existing === undefined) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${req.instanceId} is unknown.`);
      if (existing.memberId !== memberId) {
        return heartbeatError(
          ErrorCode.FENCED_INSTANCE_ID,
          `Static member ${memberId} with instance id ${req.instanceId} was fenced by member ${existing.memberId}.`,
        );
      }
      return this.checkEpoch(existing, req.memberEpoch, req.ownedTopicPartitions) ?? { member: existing, added: false, replaced: null };
    }
    if (existing === undefined) return { member: this.newMember(memberId, req), added: true, replaced: null };
    if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      return heartbeatError(
        ErrorCode.UNRELEASED_INSTANCE_ID,
        `Static member ${memberId} with instance id ${req.instanceId} cannot join the group because the instance id is owned by ${existing.memberId} member.`,
      );
    }
    // The returning static member takes over the previous one's partitions and target.
    const member: ConsumerMember = {
      ...existing,
      memberId,
      memberEpoch: 0,
      previousMemberEpoch: 0,
      assigned: copyPartitions(existing.assigned),
      pendingRevocation: new Map(),
      sessionTimer: null,
      rebalanceTimer: null,
    };
    return { member, added: true, replaced: existing };
  }

  /**
   * A heartbeat with member epoch >= 0 (the handler has validated the request's shape and sends
   * epochs -1 and -2 to leave()).
   */
  heartbeat(req: HeartbeatInput): HeartbeatResult {
    const joining = req.memberEpoch === 0;
    const resolved = this.resolveMember(req);
    if (!('member' in resolved)) return resolved;
    const { member, replaced, added } = resolved;

    // A new regex must compile before anything changes.
    const regexChanged = req.subscribedTopicRegex !== null && (req.subscribedTopicRegex || null) !== member.subscribedTopicRegex;
    if (regexChanged && req.subscribedTopicRegex !== '') {
      const c = compileTopicRegex(req.subscribedTopicRegex!);
      if (typeof c === 'string') {
        return heartbeatError(
          ErrorCode.INVALID_REGULAR_EXPRESSION,
          `SubscribedTopicRegex \`${req.subscribedTopicRegex}\` is not a valid regular expression: ${c}.`,
        );
      }
    }

    // 1. Create or update the member; a subscription change bumps the group epoch.
    let subscriptionChanged = false;
    if (replaced !== null) {
      this.dropMember(replaced);
      const target = this.target.get(replaced.memberId);
      this.target.delete(replaced.memberId);
      if (target !== undefined) this.target.set(member.memberId, target);
    }
    if (added) {
      this.members.set(member.memberId, member);
      if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
      this.recordOwnership(member);
      this.settings.log.info('consumer group member joined', {
        group: this.groupId,
        member: member.memberId,
        instance: member.instanceId,
        replaces: replaced?.memberId,
      });
    }
    if (req.subscribedTopicNames !== null) {
      const names = [...new Set(req.subscribedTopicNames)].sort();
      if (names.join('\u0000') !== member.subscribedTopicNames.join('\u0000')) subscriptionChanged = true;
      member.subscribedTopicNames = names;
    }
    if (regexChanged) {
      member.subscribedTopicRegex = req.subscribedTopicRegex || null;
      subscriptionChanged = true;
    }
    if (added && replaced === null) subscriptionChanged = true;
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.serverAssignor !== null) member.serverAssignor = req.serverAssignor;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;

    const signature = this.computeSignature();
    if (subscriptionChanged || signature !== this.subscriptionSignature) {
      this.subscriptionSignature = signature;
      this.groupEpoch++;
    }

    // 2. A new target assignment when the group epoch moved past it.
    if (this.groupEpoch > this.assignmentEpoch) this.computeTargetAssignment();

    // 3. Reconcile this member towards its target.
    const before = member.assigned;
    this.reconcile(member, req.ownedTopicPartitions);
    this.scheduleSessionTimeout(member);

    const changed = !samePartitions(before, member.assigned);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs(),
      assignment: req.ownedTopicPartitions !== null || joining || changed ? { topicPartitions: toWire(member.assigned) } : null,
    };
  }

  private computeTargetAssignment(): void {
    const name = this.assignorName();
    const assignor = this.settings.assignors().find((a) => a.name === name) ?? this.settings.assignors()[0];
    const all = this.settings.topics();
    const topics = new Map<string, number>();
    const members: AssignorMember[] = [];
    for (const m of this.members.values()) {
      const subscribed = this.subscribedTopicsOf(m, all);
      for (const t of subscribed) topics.set(t.id, t.partitions);
      const current = this.target.get(m.memberId);
      members.push({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        subscribedTopicIds: subscribed.map((t) => t.id),
        current: current === undefined ? undefined : new Map([...current].map(([t, ps]) => [t, [...ps]])),
      });
    }
    const result = assignor === undefined ? new Map() : assignor.assign({ members, topics });
    const next = new Map<string, Partitions>();
    for (const m of members) {
      const a = result.get(m.memberId);
      const p: Partitions = new Map();
      if (a !== undefined) for (const [t, ps] of a) if (ps.length > 0) p.set(t, new Set(ps));
      next.set(m.memberId, p);
    }
    this.target = next;
    this.assignmentEpoch = this.groupEpoch;
    this.settings.log.info('consumer group target assignment computed', {
      group: this.groupId,
      epoch: this.assignmentEpoch,
      assignor: assignor?.name,
      members: this.members.size,
    });
  }

  /** One step of Kafka's CurrentAssignmentBuilder for this member. */
  private reconcile(m: ConsumerMember, owned: OwnedTopicPartitions[] | null): void {
    if (this.isReconciled(m)) return;
    if (m.state === 'UNREVOKED_PARTITIONS' && ownsAnyOf(owned, m.pendingRevocation)) return;

    const targetEpoch = this.assignmentEpoch;
    const target = this.targetOf(m.memberId);
    const subscribed = new Set(this.subscribedTopicsOf(m).map((t) => t.id));
    const assigned: Partitions = new Map();
    const revoke: Partitions = new Map();
    const toAssign: Partitions = new Map();
    let unreleased = false;
    for (const topicId of new Set([...target.keys(), ...m.assigned.keys()])) {
      const want = subscribed.has(topicId) ? (target.get(topicId) ?? new Set<number>()) : new Set<number>();
      const have = m.assigned.get(topicId) ?? new Set<number>();
      const keep = new Set([...have].filter((p) => want.has(p)));
      const drop = new Set([...have].filter((p) => !keep.has(p)));
      const add = new Set<number>();
      const mineRevoking = m.pendingRevocation.get(topicId);
      for (const p of want) {
        if (keep.has(p)) continue;
        // Still held by another member (a partition this member is itself revoking is free to it).
        if (this.currentPartitionEpoch(topicId, p) !== -1 && !mineRevoking?.has(p)) unreleased = true;
        else add.add(p);
      }
      if (keep.size > 0) assigned.set(topicId, keep);
      if (drop.size > 0) revoke.set(topicId, drop);
      if (add.size > 0) toAssign.set(topicId, add);
    }

    if (!isEmptyPartitions(revoke) && ownsAnyOf(owned, revoke)) {
      // Revoke first, at the current epoch.
      this.updateAssignment(m, m.memberEpoch, 'UNREVOKED_PARTITIONS', assigned, revoke);
    } else {
      for (const [t, ps] of toAssign) {
        const cur = assigned.get(t);
        if (cur === undefined) assigned.set(t, ps);
        else for (const p of ps) cur.add(p);
      }
      this.updateAssignment(m, targetEpoch, unreleased ? 'UNRELEASED_PARTITIONS' : 'STABLE', assigned, new Map());
    }
    // A new revocation starts the member's rebalance timeout.
    if (m.state === 'UNREVOKED_PARTITIONS') this.scheduleRebalanceTimeout(m);
    else this.cancelRebalanceTimeout(m);
  }

  // ---- leaving, fencing, timers ---------------------------------------------------------------

  /** A heartbeat with member epoch -1 (leave) or -2 (static member leaving for now). */
  leave(memberId: string, instanceId: string | null, memberEpoch: number): HeartbeatResult {
    let m: ConsumerMember | undefined;
    if (instanceId === null) {
      m = this.members.get(memberId);
      if (m === undefined)
        return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${this.groupId}.`);
    } else {
      const heldBy = this.staticMembers.get(instanceId);
      m = heldBy === undefined ? undefined : this.members.get(heldBy);
      if (m === undefined) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
      if (m.memberId !== memberId) {
        return heartbeatError(
          ErrorCode.FENCED_INSTANCE_ID,
          `Static member ${memberId} with instance id ${instanceId} was fenced by member ${m.memberId}.`,
        );
      }
    }
    if (memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // Keeps its partitions (held at epoch -2) for the instance that comes back.
      this.cancelRebalanceTimeout(m);
      this.updateAssignment(
        m,
        LEAVE_GROUP_STATIC_MEMBER_EPOCH,
        m.state === 'UNREVOKED_PARTITIONS' ? 'STABLE' : m.state,
        m.assigned,
        new Map(),
      );
      this.settings.log.info('consumer group static member left for now', { group: this.groupId, member: memberId, instance: instanceId });
    } else {
      this.fence(m, 'left the group');
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId, memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  /** Removes a member without touching the group epoch. */
  private dropMember(m: ConsumerMember): void {
    this.cancelRebalanceTimeout(m);
    if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
    this.releaseOwnership(m);
    this.members.delete(m.memberId);
    if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === m.memberId) this.staticMembers.delete(m.instanceId);
  }

  /** Removes a member (leave, session or rebalance timeout) and bumps the group epoch. */
  private fence(m: ConsumerMember, reason: string): void {
    if (this.members.get(m.memberId) !== m) return;
    this.dropMember(m);
    this.target.delete(m.memberId);
    this.subscriptionSignature = this.computeSignature();
    this.groupEpoch++;
    this.settings.log.info('consumer group member removed', {
      group: this.groupId,
      member: m.memberId,
      reason,
      groupEpoch: this.groupEpoch,
    });
  }

  private scheduleSessionTimeout(m: ConsumerMember): void {
    if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
    m.sessionTimer = setTimeout(() => {
      m.sessionTimer = null;
      this.fence(m, 'session timeout expired');
    }, this.settings.sessionTimeoutMs());
    m.sessionTimer.unref();
  }

  private scheduleRebalanceTimeout(m: ConsumerMember): void {
    this.cancelRebalanceTimeout(m);
    const epoch = m.memberEpoch;
    m.rebalanceTimer = setTimeout(
      () => {
        m.rebalanceTimer = null;
        if (m.state === 'UNREVOKED_PARTITIONS' && m.memberEpoch === epoch)
          this.fence(m, 'did not revoke its partitions within the rebalance timeout');
      },
      Math.max(0, m.rebalanceTimeoutMs),
    );
    m.rebalanceTimer.unref();
  }

  private cancelRebalanceTimeout(m: ConsumerMember): void {
    if (m.rebalanceTimer !== null) clearTimeout(m.rebalanceTimer);
    m.rebalanceTimer = null;
  }

  // ---- offsets ---------------------------------------------------------------------------------

  /** OffsetCommit's membership check (Kafka's ConsumerGroup.validateOffsetCommit). */
  validateCommit(memberId: string, memberEpoch: number, apiVersion: number): number {
    // Admin tools and consumers outside the group may commit while the group is empty.
    if (memberEpoch < 0 && this.members.size === 0) return ErrorCode.NONE;
    const m = this.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    if (memberEpoch !== m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  /** OffsetFetch's membership check; members without an id and epoch (admin tools) may fetch. */
  validateFetch(memberId: string | null, memberEpoch: number): number {
    if ((memberId === null || memberId === '') && memberEpoch < 0) return ErrorCode.NONE;
    const m = memberId === null ? undefined : this.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch !== m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  /** Topic name of a topic id (for descriptions), "" when the topic is gone. */
  topicName(topicId: string): string {
    return this.settings.topicById(topicId)?.name ?? '';
  }

  /** Marks the group dead (DeleteGroups, offset expiry); only called when it is empty. */
  kill(): void {
    this.dead = true;
    this.shutdown();
  }

  /** Stops every timer (broker shutdown). */
  shutdown(): void {
    for (const m of this.members.values()) {
      if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
      m.sessionTimer = null;
      this.cancelRebalanceTimeout(m);
    }
  }
}
