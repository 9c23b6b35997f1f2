/**
 * The controller: one broker at a time, chosen through etcd (the `controller` key is created only
 * if absent, attached to the winner's lease, so it vanishes with that broker and the others
 * campaign again). It moves leadership away from brokers that are gone.
 *
 * An in-sync replica whose broker is gone leaves the ISR. A partition whose leader's registration has vanished (its lease expired: see membership.ts for
 * why that broker has stopped leading by then) gets a new leader from its in-sync replicas that
 * are alive, with a higher leader epoch; if none is alive the partition is left without a leader
 * (-1) and its ISR as it was, unless `unclean.leader.election.enable` lets any live replica lead.
 * A partition without a leader gets one again when an in-sync replica comes back. A reassignment
 * whose added replicas are all in sync is completed (reassignment.ts). Every change is a
 * compare-and-swap on the partition's record: a stale controller's write fails.
 */
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { EtcdStore } from './etcd-store.js';
import type { Membership } from './membership.js';
import { ErrorCode } from '../protocol/errors.js';
import { completeReassignment, isReassigning } from './reassignment.js';
import { keptParts, type ClusterEvent, type ClusterImage, type PartitionRecord, type PartitionState } from './state.js';

/** The record a partition should move to now, or null when it is fine as it is. */
/**
 * Who can lead a partition whose leader is gone: its first live in-sync replica (the ISR keeps its
 * live members), else with `unclean` its first live replica (the ISR becomes that one), else nobody.
 */
function chooseLeader(s: PartitionState, live: ReadonlySet<number>, unclean: boolean): { leader: number; isr: number[] } | null {
  const inSync = s.replicas.filter((r) => s.isr.includes(r) && live.has(r));
  if (inSync[0] !== undefined) return { leader: inSync[0], isr: s.isr.filter((r) => live.has(r)) };
  const any = unclean ? s.replicas.find((r) => live.has(r)) : undefined;
  return any === undefined ? null : { leader: any, isr: [any] };
}

export function electLeader(s: PartitionState, live: ReadonlySet<number>, unclean: boolean): PartitionRecord | null {
  if (s.leader !== -1 && live.has(s.leader)) {
    // A live leader stays; in-sync replicas on brokers that are gone leave the ISR (as Kafka's
    // controller does when it fences a broker), so acks=all stops waiting for them at once.
    const isr = s.isr.filter((r) => live.has(r));
    if (isr.length === s.isr.length) return null;
    return { ...keptParts(s), partitionEpoch: s.partitionEpoch + 1, leader: s.leader, leaderEpoch: s.leaderEpoch, isr };
  }
  const chosen = chooseLeader(s, live, unclean);
  const next = { ...keptParts(s), partitionEpoch: s.partitionEpoch + 1 };
  if (chosen === null) {
    // Nobody can lead: keep the ISR (those replicas hold everything acknowledged) and wait for one.
    return s.leader === -1 ? null : { ...next, leader: -1, leaderEpoch: s.leaderEpoch + 1, isr: s.isr };
  }
  return { ...next, ...chosen, leaderEpoch: s.leaderEpoch + 1 };
}

/** ElectLeaders' election types (KIP-460). */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

/**
 * An election asked for by ElectLeaders (or the preferred-leader rebalance): the record to write,
 * or the error code that says why there is nothing to do.
 */
export function electOnRequest(s: PartitionState, live: ReadonlySet<number>, type: number): PartitionRecord | number {
  const next = { ...keptParts(s), partitionEpoch: s.partitionEpoch + 1, leaderEpoch: s.leaderEpoch + 1 };
  if (type === ElectionType.PREFERRED) {
    const preferred = s.replicas[0];
    if (preferred === undefined) return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
    if (s.leader === preferred) return ErrorCode.ELECTION_NOT_NEEDED;
    if (!live.has(preferred) || !s.isr.includes(preferred)) return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
    return { ...next, leader: preferred, isr: s.isr };
  }
  if (s.leader !== -1 && live.has(s.leader)) return ErrorCode.ELECTION_NOT_NEEDED;
  const chosen = chooseLeader(s, live, true);
  return chosen === null ? ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE : { ...next, ...chosen };
}

export class Controller {
  private active = false;
  private stopped = false;
  private campaigning = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private sweepAgain = false;

  constructor(
    private readonly store: EtcdStore,
    private readonly image: ClusterImage,
    private readonly membership: Membership,
    private readonly nodeId: number,
    private readonly config: BrokerConfig,
    private readonly log: Logger,
  ) {}

  get isActive(): boolean {
    return this.active;
  }

  async start(): Promise<void> {
    await this.campaign();
    // A safety net for a compare-and-swap lost to a concurrent change: look again now and then.
    this.sweepTimer = setInterval(() => this.sweep(), 2000);
    this.sweepTimer.unref();
    if (this.config.bool('auto.leader.rebalance.enable')) {
      this.rebalanceTimer = setInterval(() => void this.rebalance(), this.config.num('leader.imbalance.check.interval.seconds') * 1000);
      this.rebalanceTimer.unref();
    }
  }

  /**
   * auto.leader.rebalance.enable: moves each partition's leadership back to its preferred replica
   * (the first) once that replica is in sync again, so that leaders stay spread after failovers.
   */
  private async rebalance(): Promise<void> {
    if (!this.active || !this.membership.live) return;
    const live = new Set(this.image.brokers.keys());
    for (const t of [...this.image.topics.values()]) {
      for (let p = 0; p < t.replicas.length; p++) {
        if (!this.active) return;
        const s = this.image.partition(t.name, p);
        if (s === undefined) continue;
        const next = electOnRequest(s, live, ElectionType.PREFERRED);
        if (typeof next === 'number') continue;
        const ok = await this.store.updatePartition(t.name, p, s, next, this.image.topicRevisions.get(t.name) ?? 0).catch(() => false);
        if (ok)
          this.log.info('preferred leader elected', {
            topic: t.name,
            partition: p,
            from: s.leader,
            to: next.leader,
            leaderEpoch: next.leaderEpoch,
          });
      }
    }
  }

  private async campaign(): Promise<void> {
    if (this.stopped || this.campaigning || this.image.controller !== null) return;
    this.campaigning = true;
    try {
      const won = await this.store.campaign(this.membership.currentLease, { id: this.nodeId, incarnation: this.membership.incarnation });
      if (won) this.log.info('became the controller', { nodeId: this.nodeId });
    } catch (err) {
      this.log.warn('controller election failed', { err: String(err) });
    } finally {
      this.campaigning = false;
    }
  }

  onEvent(e: ClusterEvent): void {
    if (this.stopped) return;
    if (e.kind === 'controller') {
      const mine = e.record !== null && e.record.id === this.nodeId && e.record.incarnation === this.membership.incarnation;
      this.active = mine;
      if (e.record === null) void this.campaign();
      if (mine) this.sweep();
      return;
    }
    if (this.active && e.kind === 'broker') this.sweep();
    // A reassignment whose new replicas may now all be in sync: see whether it can complete.
    if (this.active && e.kind === 'partition' && e.state !== null && isReassigning(e.state)) this.sweep();
  }

  /** Elects leaders where needed; runs one pass at a time, and once more if asked meanwhile. */
  private sweep(): void {
    if (!this.active || this.stopped) return;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    this.elect()
      .catch((err: unknown) => this.log.warn('leader election pass failed', { err: String(err) }))
      .finally(() => {
        this.sweeping = false;
        if (this.sweepAgain) {
          this.sweepAgain = false;
          this.sweep();
        }
      });
  }

  private async elect(): Promise<void> {
    const live = new Set(this.image.brokers.keys());
    const unclean = this.config.bool('unclean.leader.election.enable');
    for (const t of [...this.image.topics.values()]) {
      for (let p = 0; p < t.replicas.length; p++) {
        if (!this.active || !this.membership.live) return;
        const s = this.image.partition(t.name, p);
        if (s === undefined) continue;
        const next = electLeader(s, live, unclean) ?? completeReassignment(s, live);
        if (next === null) continue;
        const topicRevision = this.image.topicRevisions.get(t.name) ?? 0;
        const ok = await this.store.updatePartition(t.name, p, s, next, topicRevision);
        if (ok && isReassigning(s) && !isReassigning(next)) {
          this.log.info('reassignment completed', { topic: t.name, partition: p, replicas: next.replicas, leader: next.leader });
        } else if (ok) {
          this.log.info('partition leader changed', {
            topic: t.name,
            partition: p,
            from: s.leader,
            to: next.leader,
            leaderEpoch: next.leaderEpoch,
          });
        }
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.active = false;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    if (this.rebalanceTimer !== null) clearInterval(this.rebalanceTimer);
  }
}
