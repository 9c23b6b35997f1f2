/**
 * A consumer group using the classic rebalance protocol (JoinGroup / SyncGroup / Heartbeat /
 * LeaveGroup), with Kafka's semantics: the coordinator gathers the members behind a join barrier,
 * one member (the leader) computes the assignment, and the coordinator hands it out.
 *
 * States (Kafka's names) and their transitions:
 *   Empty --a member joins--> PreparingRebalance
 *   PreparingRebalance --every member has a JoinGroup parked, or the join timer fires-->
 *     CompletingRebalance: the generation is bumped, members without a parked JoinGroup are
 *     removed, the protocol most members list first among those all support is chosen, the
 *     leader (kept if still a member, else the first member) gets the member list, the others an
 *     empty one. With no member left the group goes to Empty instead (generation bumped too).
 *   CompletingRebalance --the leader's SyncGroup, once its assignments are stored--> Stable: every
 *     parked SyncGroup gets its member's assignment. If storing fails they get the error and the
 *     group goes back to PreparingRebalance.
 *   CompletingRebalance or Stable --a new member joins, a member rejoins with other protocols (in
 *     Stable, also the leader rejoining), a member leaves or its session expires-->
 *     PreparingRebalance: parked SyncGroups get REBALANCE_IN_PROGRESS, and so do Heartbeats
 *     while it lasts, so that every member rejoins.
 *   Empty --DeleteGroups (kill)--> Dead.
 * A member that rejoins with the same protocols while CompletingRebalance, or in Stable if it is
 * not the leader, gets the current generation's JoinGroup response again (it lost it).
 *
 * Timers:
 *   - join timer (one per group, PreparingRebalance only): the rebalance timeout, the largest of
 *     the members' rebalance timeouts. When the group leaves Empty and
 *     group.initial.rebalance.delay.ms > 0 it first runs that delay, restarted by each member that
 *     joins meanwhile, so that members starting together land in one generation; when the delay
 *     ends the join completes if all members are in, else the rebalance timeout starts.
 *   - session timer (per member): the member's session timeout, restarted by its JoinGroup
 *     response, SyncGroup, Heartbeat and OffsetCommit, stopped while its JoinGroup is parked.
 *     When it fires the member is removed (a rebalance). Nothing else waits for the leader's
 *     SyncGroup: a leader that never sends it expires.
 *
 * Member ids are `<client id>-<uuid>`. JoinGroup v4+ (KIP-394): a dynamic member joining without
 * an id gets MEMBER_ID_REQUIRED and a fresh id, which it must join with before the group next
 * completes a join (pending ids are then forgotten). A member id that is not a member's is
 * UNKNOWN_MEMBER_ID; a stale generation is ILLEGAL_GENERATION.
 *
 * Static members (group.instance.id, KIP-345) keep their partitions across a restart within the
 * session timeout: a JoinGroup without member id for an instance id held by a member replaces
 * that member's id (requests still parked under the old id, and every later request with it, get
 * FENCED_INSTANCE_ID). In Stable with the same protocols this is done without a rebalance, even
 * for the leader; KIP-814: a leader that can skip the assignment (JoinGroup v9+) is told so with
 * the member list, an older one gets no members, and its SyncGroup returns the assignment it had.
 * Otherwise the replacement rejoins like any member.
 *
 * Persistence: the group (generation, protocol, leader, members with subscription and assignment)
 * is stored in `__consumer_offsets` through GroupSettings.persist before the SyncGroups of a
 * generation are answered, when a join leaves the group empty and when a static member is
 * replaced without a rebalance. restore() rebuilds a Stable group from that record; its members
 * must heartbeat within their session timeouts. Not thread-safe: main thread only.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import type { GroupMemberRecord, GroupRecord } from './records.js';

export type ClassicState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

/** What a member states in its JoinGroup, which the group keeps for it. */
export interface MemberJoinFields {
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
}

export interface Member extends MemberJoinFields {
  memberId: string;
  /** Its assignment in the current generation (empty until the leader's SyncGroup). */
  assignment: Buffer;
  awaitingJoin: ((r: JoinResult) => void) | null;
  awaitingSync: ((r: SyncResult) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

export interface GroupSettings {
  initialRebalanceDelayMs: number;
  maxSize: number;
  /** Persists the group after a generation's assignments are known (or it became empty). */
  persist: (group: ClassicGroup) => Promise<number>;
  /** Called whenever the group changes state (for offset expiry bookkeeping). */
  onStateChange: (group: ClassicGroup) => void;
}

const EMPTY = Buffer.alloc(0);

function joinError(errorCode: number, memberId = ''): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export interface JoinRequest extends MemberJoinFields {
  /** "" for a member that has no id yet. */
  memberId: string;
  /** JoinGroup v4+: an unknown member must first fetch a member id (MEMBER_ID_REQUIRED). */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a rejoining static leader can be told to skip the assignment (KIP-814). */
  supportsSkipAssignment: boolean;
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** v5+: checked against the group's when not null. */
  protocolType: string | null;
  protocolName: string | null;
  /** The leader's assignments for the generation (ignored from the other members). */
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

/** The JoinGroup fields of a request, without the request-only ones. */
function joinFieldsOf(req: MemberJoinFields): MemberJoinFields {
  return {
    groupInstanceId: req.groupInstanceId,
    clientId: req.clientId,
    clientHost: req.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols,
  };
}

export class ClassicGroup {
  state: ClassicState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id -> current member id */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet. */
  private readonly pendingMembers = new Set<string>();
  private joinTimer: NodeJS.Timeout | null = null;
  private initialDelayUntil = 0;
  stateTimestamp = Date.now();

  constructor(
    readonly groupId: string,
    private readonly settings: GroupSettings,
  ) {}

  private setState(s: ClassicState): void {
    this.state = s;
    this.stateTimestamp = Date.now();
    this.settings.onStateChange(this);
  }

  /** Rebuilds a group from its `__consumer_offsets` record (members must heartbeat to stay). */
  static restore(groupId: string, rec: GroupRecord, settings: GroupSettings): ClassicGroup {
    const g = new ClassicGroup(groupId, settings);
    g.generationId = rec.generation;
    g.protocolType = rec.protocolType === '' ? null : rec.protocolType;
    g.protocolName = rec.protocol;
    g.leaderId = rec.leader;
    for (const m of rec.members) {
      const member: Member = {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeout,
        rebalanceTimeoutMs: m.rebalanceTimeout,
        protocolType: rec.protocolType,
        protocols: rec.protocol === null ? [] : [{ name: rec.protocol, metadata: m.subscription }],
        assignment: m.assignment,
        awaitingJoin: null,
        awaitingSync: null,
        sessionTimer: null,
      };
      g.members.set(m.memberId, member);
      if (m.groupInstanceId !== null) g.staticMembers.set(m.groupInstanceId, m.memberId);
      g.scheduleSessionExpiry(member);
    }
    g.state = g.members.size > 0 ? 'Stable' : 'Empty';
    g.stateTimestamp = rec.currentStateTimestamp > 0 ? rec.currentStateTimestamp : Date.now();
    return g;
  }

  toRecord(): GroupRecord {
    const members: GroupMemberRecord[] = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeout: m.rebalanceTimeoutMs,
      sessionTimeout: m.sessionTimeoutMs,
      subscription: this.metadataOf(m) ?? EMPTY,
      assignment: m.assignment,
    }));
    return {
      protocolType: this.protocolType ?? '',
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: this.stateTimestamp,
      members,
    };
  }

  private metadataOf(m: Member): Buffer | null {
    const p = m.protocols.find((x) => x.name === this.protocolName);
    return p?.metadata ?? null;
  }

  /** Topics the members subscribe to, when the protocol type is "consumer" (for OffsetDelete). */
  subscribedTopics(decode: (metadata: Buffer) => string[] | null): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return null;
    const out = new Set<string>();
    for (const m of this.members.values()) {
      const md = this.metadataOf(m);
      const topics = md === null ? null : decode(md);
      if (topics === null) return null;
      for (const t of topics) out.add(t);
    }
    return out;
  }

  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  private checkStatic(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId === null) return ErrorCode.NONE;
    const current = this.staticMembers.get(groupInstanceId);
    if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    return ErrorCode.NONE;
  }

  private supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (protocols.length === 0 || protocolType === '') return false;
    if (this.isEmpty) return true;
    if (this.protocolType !== protocolType) return false;
    const names = new Set(protocols.map((p) => p.name));
    for (const m of this.members.values()) {
      if (!m.protocols.some((p) => names.has(p.name))) return false;
    }
    return true;
  }

  join(req: JoinRequest): Promise<JoinResult> | JoinResult {
    if (this.state === 'Dead') return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.memberId);
    if (!this.supportsProtocols(req.protocolType, req.protocols)) {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    }
    if (req.memberId === '') return this.joinUnknown(req);
    return this.joinKnown(req);
  }

  private newMemberId(clientId: string): string {
    return `${clientId}-${randomUUID()}`;
  }

  private joinUnknown(req: JoinRequest): Promise<JoinResult> | JoinResult {
    const memberId = this.newMemberId(req.clientId);
    if (req.groupInstanceId !== null) {
      const oldId = this.staticMembers.get(req.groupInstanceId);
      if (oldId !== undefined && this.members.has(oldId)) return this.replaceStaticMember(req, oldId, memberId);
    } else if (req.requireKnownMemberId) {
      // KIP-394: hand out the id first so a client that times out does not leave a ghost member.
      this.pendingMembers.add(memberId);
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId);
    }
    if (this.members.size >= this.settings.maxSize) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, memberId);
    return this.addMemberAndRebalance(req, memberId);
  }

  private joinKnown(req: JoinRequest): Promise<JoinResult> | JoinResult {
    const fenced = this.checkStatic(req.memberId, req.groupInstanceId);
    if (fenced !== ErrorCode.NONE) return joinError(fenced, req.memberId);
    if (this.pendingMembers.has(req.memberId)) {
      this.pendingMembers.delete(req.memberId);
      if (this.members.size >= this.settings.maxSize) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, req.memberId);
      return this.addMemberAndRebalance(req, req.memberId);
    }
    const m = this.members.get(req.memberId);
    if (m === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    switch (this.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndAwaitJoin(m, req);
      case 'CompletingRebalance':
        if (sameProtocols(m.protocols, req.protocols)) {
          // The member lost the JoinGroup response: give it the same generation again.
          this.touch(m);
          return this.joinResponseFor(m);
        }
        return this.updateMemberAndRebalance(m, req);
      case 'Stable':
        if (m.memberId === this.leaderId || !sameProtocols(m.protocols, req.protocols)) {
          return this.updateMemberAndRebalance(m, req);
        }
        this.touch(m);
        return this.joinResponseFor(m);
      default:
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    }
  }

  private replaceStaticMember(req: JoinRequest, oldId: string, newId: string): Promise<JoinResult> | JoinResult {
    const old = this.members.get(oldId)!;
    this.members.delete(oldId);
    if (old.sessionTimer !== null) clearTimeout(old.sessionTimer);
    // A request still parked under the old id is answered as fenced.
    old.awaitingJoin?.(joinError(ErrorCode.FENCED_INSTANCE_ID, oldId));
    old.awaitingSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    const m: Member = {
      ...old,
      memberId: newId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      awaitingJoin: null,
      awaitingSync: null,
      sessionTimer: null,
    };
    this.members.set(newId, m);
    this.staticMembers.set(req.groupInstanceId!, newId);
    const wasLeader = this.leaderId === oldId;
    if (wasLeader) this.leaderId = newId;
    if (this.state === 'Stable' && sameProtocols(old.protocols, req.protocols)) {
      // KIP-345: a static member coming back within its session keeps its assignment, no rebalance,
      // even the leader. KIP-814: a leader that can skip the assignment (JoinGroup v9+) is told so
      // with the member list; an older one gets no members, so it has nothing to assign, and its
      // SyncGroup in the Stable group returns the assignment it had.
      this.touch(m);
      this.persistSoon();
      const r = this.joinResponseFor(m);
      if (!wasLeader) return r;
      return req.supportsSkipAssignment ? { ...r, skipAssignment: true } : { ...r, members: [] };
    }
    m.protocols = req.protocols;
    if (this.state === 'PreparingRebalance') return this.awaitJoin(m);
    return this.rebalanceAndAwait(m, 'static member replaced');
  }

  private addMemberAndRebalance(req: JoinRequest, memberId: string): Promise<JoinResult> {
    const m: Member = {
      ...joinFieldsOf(req),
      memberId,
      assignment: EMPTY,
      awaitingJoin: null,
      awaitingSync: null,
      sessionTimer: null,
    };
    if (this.isEmpty) this.protocolType = req.protocolType;
    this.members.set(memberId, m);
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, memberId);
    if (this.state === 'PreparingRebalance') {
      // A new member extends the initial delay, up to the rebalance timeout (Kafka's InitialDelayedJoin).
      if (this.initialDelayUntil > 0) this.extendInitialDelay();
      return this.awaitJoin(m);
    }
    return this.rebalanceAndAwait(m, 'new member joined');
  }

  private updateMemberAndAwaitJoin(m: Member, req: JoinRequest): Promise<JoinResult> {
    m.protocols = req.protocols;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    return this.awaitJoin(m);
  }

  private updateMemberAndRebalance(m: Member, req: JoinRequest): Promise<JoinResult> {
    m.protocols = req.protocols;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    return this.rebalanceAndAwait(m, 'member rejoined with new metadata or as leader');
  }

  private rebalanceAndAwait(m: Member, reason: string): Promise<JoinResult> {
    const p = this.awaitJoin(m);
    this.prepareRebalance(reason);
    return p;
  }

  private awaitJoin(m: Member): Promise<JoinResult> {
    // Only one parked JoinGroup per member: an older one is superseded.
    m.awaitingJoin?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, m.memberId));
    // While parked, the member's session does not expire (Kafka only times out the rebalance).
    if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
    const p = new Promise<JoinResult>((resolve) => {
      m.awaitingJoin = resolve;
    });
    queueMicrotask(() => this.maybeCompleteJoin());
    return p;
  }

  private maxRebalanceTimeout(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  prepareRebalance(reason: string): void {
    void reason;
    if (this.state === 'PreparingRebalance') return;
    // Members waiting for their assignment must rejoin.
    for (const m of this.members.values()) {
      if (m.awaitingSync !== null) {
        const f = m.awaitingSync;
        m.awaitingSync = null;
        f(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      }
    }
    const wasEmpty = this.state === 'Empty';
    this.setState('PreparingRebalance');
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    if (wasEmpty && this.settings.initialRebalanceDelayMs > 0) {
      this.initialDelayUntil = Date.now() + Math.min(this.settings.initialRebalanceDelayMs, this.maxRebalanceTimeout());
      this.joinTimer = setTimeout(() => this.onInitialDelay(), this.settings.initialRebalanceDelayMs);
    } else {
      this.initialDelayUntil = 0;
      this.joinTimer = setTimeout(() => this.completeJoin(), this.maxRebalanceTimeout());
    }
  }

  private extendInitialDelay(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    const delay = this.settings.initialRebalanceDelayMs;
    this.joinTimer = setTimeout(() => this.onInitialDelay(), delay);
  }

  private onInitialDelay(): void {
    this.initialDelayUntil = 0;
    this.joinTimer = null;
    if (this.allJoined()) this.completeJoin();
    else this.joinTimer = setTimeout(() => this.completeJoin(), this.maxRebalanceTimeout());
  }

  private allJoined(): boolean {
    for (const m of this.members.values()) if (m.awaitingJoin === null) return false;
    return true;
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.initialDelayUntil > 0) return;
    if (this.allJoined()) this.completeJoin();
  }

  private completeJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    this.initialDelayUntil = 0;
    // Members that did not rejoin within the rebalance timeout leave the group.
    for (const m of [...this.members.values()]) {
      if (m.awaitingJoin === null) this.removeMember(m, false);
    }
    this.pendingMembers.clear();
    this.generationId++;
    if (this.isEmpty) {
      this.protocolName = null;
      this.leaderId = null;
      this.setState('Empty');
      this.persistSoon();
      return;
    }
    this.protocolName = this.selectProtocol();
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.setState('CompletingRebalance');
    for (const m of this.members.values()) {
      m.assignment = EMPTY;
      const reply = m.awaitingJoin!;
      m.awaitingJoin = null;
      this.scheduleSessionExpiry(m);
      reply(this.joinResponseFor(m));
    }
  }

  private joinResponseFor(m: Member): JoinResult {
    const isLeader = m.memberId === this.leaderId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      skipAssignment: false,
      memberId: m.memberId,
      members: isLeader
        ? [...this.members.values()].map((x) => ({
            memberId: x.memberId,
            groupInstanceId: x.groupInstanceId,
            metadata: this.metadataOf(x) ?? EMPTY,
          }))
        : [],
    };
  }

  /** Among the protocols every member supports, the one most members list first. */
  private selectProtocol(): string {
    const members = [...this.members.values()];
    const candidates = members[0]!.protocols
      .map((p) => p.name)
      .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  sync(req: SyncRequest): Promise<SyncResult> | SyncResult {
    const { memberId, groupInstanceId, generationId, protocolType, protocolName } = req;
    const m = this.members.get(memberId);
    if (m === undefined) {
      return syncError(this.checkStatic(memberId, groupInstanceId) || ErrorCode.UNKNOWN_MEMBER_ID);
    }
    const fenced = this.checkStatic(memberId, groupInstanceId);
    if (fenced !== ErrorCode.NONE) return syncError(fenced);
    if (generationId !== this.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((protocolType !== null && protocolType !== this.protocolType) || (protocolName !== null && protocolName !== this.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (this.state) {
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.touch(m);
        return this.syncResponseFor(m);
      case 'CompletingRebalance': {
        this.touch(m);
        const p = new Promise<SyncResult>((resolve) => {
          m.awaitingSync = resolve;
        });
        if (memberId === this.leaderId) this.applyAssignments(req.assignments);
        return p;
      }
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private syncResponseFor(m: Member): SyncResult {
    return { errorCode: ErrorCode.NONE, protocolType: this.protocolType, protocolName: this.protocolName, assignment: m.assignment };
  }

  private applyAssignments(assignments: Array<{ memberId: string; assignment: Buffer }>): void {
    const generation = this.generationId;
    for (const m of this.members.values()) m.assignment = EMPTY;
    for (const a of assignments) {
      const m = this.members.get(a.memberId);
      if (m !== undefined) m.assignment = a.assignment;
    }
    // Kafka stores the group (with assignments) before answering the SyncGroups.
    this.settings.persist(this).then((errorCode) => {
      if (this.state !== 'CompletingRebalance' || this.generationId !== generation) return;
      if (errorCode !== ErrorCode.NONE) {
        for (const m of this.members.values()) {
          const f = m.awaitingSync;
          m.awaitingSync = null;
          f?.(syncError(errorCode));
        }
        this.prepareRebalance('could not store the assignment');
        return;
      }
      this.setState('Stable');
      for (const m of this.members.values()) {
        const f = m.awaitingSync;
        m.awaitingSync = null;
        f?.(this.syncResponseFor(m));
      }
    });
  }

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    const fenced = this.checkStatic(memberId, groupInstanceId);
    if (fenced !== ErrorCode.NONE) return fenced;
    const m = this.members.get(memberId);
    if (m === undefined || this.state === 'Empty' || this.state === 'Dead') return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(m);
    if (this.state === 'PreparingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /** LeaveGroup for one member (by member id, or by instance id with an unknown member id). */
  leave(memberId: string, groupInstanceId: string | null): number {
    let id = memberId;
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== '' && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      id = current;
    }
    const m = this.members.get(id);
    if (m === undefined) {
      if (this.pendingMembers.delete(id)) return ErrorCode.NONE;
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    this.removeMember(m, true);
    return ErrorCode.NONE;
  }

  /** Validates an OffsetCommit against the group's generation; returns an error code. */
  validateCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (generationId < 0 && memberId === '') {
      // A "simple" consumer (assign + commit) may only commit to a group without members.
      return this.isEmpty ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const fenced = this.checkStatic(memberId, groupInstanceId);
    if (fenced !== ErrorCode.NONE) return fenced;
    const m = this.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (this.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    this.touch(m);
    return ErrorCode.NONE;
  }

  /** Marks the group dead (DeleteGroups); only called when it is empty. */
  kill(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.setState('Dead');
  }

  private touch(m: Member): void {
    this.scheduleSessionExpiry(m);
  }

  private scheduleSessionExpiry(m: Member): void {
    if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
    m.sessionTimer = setTimeout(() => this.expire(m), m.sessionTimeoutMs);
    m.sessionTimer.unref();
  }

  private expire(m: Member): void {
    m.sessionTimer = null;
    if (this.members.get(m.memberId) !== m || m.awaitingJoin !== null) return;
    this.removeMember(m, true);
  }

  private removeMember(m: Member, rebalance: boolean): void {
    this.members.delete(m.memberId);
    if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === m.memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    m.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, m.memberId));
    m.awaitingJoin = null;
    m.awaitingSync?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    m.awaitingSync = null;
    if (m.memberId === this.leaderId) this.leaderId = null;
    if (!rebalance) return;
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance('member left');
    else if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
  }

  private persistSoon(): void {
    void this.settings.persist(this);
  }

  /** Stops every timer (broker shutdown). */
  shutdown(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    for (const m of this.members.values()) if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
  }
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || !a[i]!.metadata.equals(b[i]!.metadata)) return false;
  }
  return true;
}
