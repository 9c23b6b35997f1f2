/**
 * Server-side partition assignors for KIP-848 consumer groups (`group.consumer.assignors`). Pure
 * functions: the members with their subscriptions (topic ids) and their current target
 * assignment, plus each subscribed topic's partition count, in; one assignment per member out.
 * Every partition of a subscribed topic goes to exactly one member subscribed to it; a topic that
 * no member subscribes to is left unassigned. Topics are opaque keys here (the group passes
 * topic ids). Deterministic: the same input gives the same output, whatever the input order.
 *
 * - `uniform` (Kafka's default): balances the number of partitions per member and is sticky: a
 *   member keeps the partitions of its current target that it may still own as long as that
 *   keeps the group balanced, so a membership change moves as few partitions as possible. With
 *   identical subscriptions every member ends up with floor(P/N) or ceil(P/N) partitions; with
 *   different subscriptions, partitions move from a member to one with at least two fewer
 *   partitions that can take them, until no such move exists.
 * - `range`: per topic, the subscribers sorted by instance id (static members) or member id get
 *   consecutive ranges, the first P%N one partition more. Members with the same subscriptions
 *   get the same partition numbers of co-partitioned topics (joins by key work). Not sticky beyond
 *   that determinism.
 *
 * Racks are accepted but not used (single-node broker: every replica is in one rack).
 */
import { tpKey } from './topic-partition.js';

/** Partitions per topic id. */
export type TopicAssignment = Map<string, number[]>;

export interface AssignorMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  /** Topic ids this member subscribes to (unknown ids are ignored). */
  subscribedTopicIds: readonly string[];
  /** The member's current target assignment, for stickiness (absent for a new member). */
  current?: ReadonlyMap<string, Iterable<number>>;
}

export interface AssignmentSpec {
  members: readonly AssignorMember[];
  /** Partition count of every topic that may be assigned, by topic id. */
  topics: ReadonlyMap<string, number>;
}

/** Member id -> its assignment (every member of the spec appears, possibly with nothing). */
export type GroupAssignment = Map<string, TopicAssignment>;

export interface ServerAssignor {
  readonly name: string;
  assign(spec: AssignmentSpec): GroupAssignment;
}

interface Slot {
  memberId: string;
  sortKey: string;
  topics: Set<string>;
  owned: Array<[string, number]>;
}

function byKey(a: { sortKey: string; memberId: string }, b: { sortKey: string; memberId: string }): number {
  if (a.sortKey !== b.sortKey) return a.sortKey < b.sortKey ? -1 : 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function slotsOf(spec: AssignmentSpec, sortKey: (m: AssignorMember) => string): Slot[] {
  return spec.members
    .map((m) => ({
      memberId: m.memberId,
      sortKey: sortKey(m),
      topics: new Set(m.subscribedTopicIds.filter((t) => spec.topics.has(t))),
      owned: [] as Array<[string, number]>,
    }))
    .sort(byKey);
}

function toAssignment(slots: Slot[]): GroupAssignment {
  const out: GroupAssignment = new Map();
  for (const s of slots) {
    const a: TopicAssignment = new Map();
    for (const [t, p] of s.owned) {
      let ps = a.get(t);
      if (ps === undefined) {
        ps = [];
        a.set(t, ps);
      }
      ps.push(p);
    }
    for (const ps of a.values()) ps.sort((x, y) => x - y);
    out.set(s.memberId, a);
  }
  return out;
}

/** Compares partitions for hand-out order: partition index first, so topics spread across members. */
function handOutOrder(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return a[1] - b[1];
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function sortedTopicIds(topics: ReadonlyMap<string, number>): string[] {
  return [...topics.keys()].sort();
}

/**
 * The partitions each member may keep from its current target: still subscribed, still existing,
 * and not already kept by a member earlier in the order (a partition is never kept twice).
 */
function keepSticky(spec: AssignmentSpec, slots: Slot[]): Set<string> {
  const taken = new Set<string>();
  const byId = new Map(spec.members.map((m) => [m.memberId, m]));
  for (const s of slots) {
    const current = byId.get(s.memberId)!.current;
    if (current === undefined) continue;
    const kept: Array<[string, number]> = [];
    for (const [t, ps] of current) {
      if (!s.topics.has(t)) continue;
      const count = spec.topics.get(t)!;
      for (const p of ps) {
        const k = tpKey(t, p);
        if (p < 0 || p >= count || taken.has(k)) continue;
        taken.add(k);
        kept.push([t, p]);
      }
    }
    kept.sort(handOutOrder);
    s.owned = kept;
  }
  return taken;
}

function sameSubscriptions(slots: Slot[]): boolean {
  const first = slots[0]!.topics;
  return slots.every((s) => s.topics.size === first.size && [...s.topics].every((t) => first.has(t)));
}

/** Identical subscriptions: quotas floor/ceil(P/N); members that keep more get the larger quotas. */
function uniformHomogeneous(spec: AssignmentSpec, slots: Slot[], taken: Set<string>): void {
  const topics = [...slots[0]!.topics].sort();
  let total = 0;
  for (const t of topics) total += spec.topics.get(t)!;
  const n = slots.length;
  const base = Math.floor(total / n);
  let extra = total % n;
  const quota = new Map<Slot, number>();
  const byKept = [...slots].sort((a, b) => b.owned.length - a.owned.length || byKey(a, b));
  for (const s of byKept) {
    const q = base + (extra > 0 && s.owned.length > base ? 1 : 0);
    if (q > base) extra--;
    quota.set(s, q);
  }
  // Members that kept no more than the base share the remaining larger quotas, in member order.
  for (const s of slots) {
    if (extra === 0) break;
    if (quota.get(s) === base) {
      quota.set(s, base + 1);
      extra--;
    }
  }
  const pool: Array<[string, number]> = [];
  for (const s of slots) {
    const q = quota.get(s)!;
    while (s.owned.length > q) {
      const [t, p] = s.owned.pop()!;
      taken.delete(tpKey(t, p));
    }
  }
  for (const t of topics) {
    const count = spec.topics.get(t)!;
    for (let p = 0; p < count; p++) if (!taken.has(tpKey(t, p))) pool.push([t, p]);
  }
  handOut(pool, slots, (s) => s.owned.length < quota.get(s)!);
}

/** Gives each partition of the pool, in hand-out order, to the least-loaded slot that may take it. */
function handOut(pool: Array<[string, number]>, slots: Slot[], mayTake: (s: Slot, tp: [string, number]) => boolean): void {
  pool.sort(handOutOrder);
  for (const tp of pool) {
    let best: Slot | null = null;
    for (const s of slots) {
      if (!mayTake(s, tp)) continue;
      if (best === null || s.owned.length < best.owned.length) best = s;
    }
    best!.owned.push(tp);
  }
}

/** Different subscriptions: least-loaded hand-out, then moves from heavy to light members. */
function uniformHeterogeneous(spec: AssignmentSpec, slots: Slot[], taken: Set<string>): void {
  const pool: Array<[string, number]> = [];
  for (const t of sortedTopicIds(spec.topics)) {
    if (!slots.some((s) => s.topics.has(t))) continue;
    const count = spec.topics.get(t)!;
    for (let p = 0; p < count; p++) if (!taken.has(tpKey(t, p))) pool.push([t, p]);
  }
  handOut(pool, slots, (s, tp) => s.topics.has(tp[0]));
  // Each move lowers the sum of squared counts, so this ends.
  for (;;) {
    const heavyFirst = [...slots].sort((a, b) => b.owned.length - a.owned.length || byKey(a, b));
    let moved = false;
    for (const heavy of heavyFirst) {
      for (let i = heavyFirst.length - 1; i >= 0 && !moved; i--) {
        const light = heavyFirst[i]!;
        if (light.owned.length + 1 >= heavy.owned.length) break;
        // Give away the most recently handed-out partition the light member can take.
        for (let j = heavy.owned.length - 1; j >= 0; j--) {
          const tp = heavy.owned[j]!;
          if (!light.topics.has(tp[0])) continue;
          heavy.owned.splice(j, 1);
          light.owned.push(tp);
          moved = true;
          break;
        }
      }
      if (moved) break;
    }
    if (!moved) return;
  }
}

export const uniformAssignor: ServerAssignor = {
  name: 'uniform',
  assign(spec) {
    const slots = slotsOf(spec, (m) => m.memberId);
    if (slots.length === 0) return new Map();
    const taken = keepSticky(spec, slots);
    if (sameSubscriptions(slots)) uniformHomogeneous(spec, slots, taken);
    else uniformHeterogeneous(spec, slots, taken);
    return toAssignment(slots);
  },
};

export const rangeAssignor: ServerAssignor = {
  name: 'range',
  assign(spec) {
    const slots = slotsOf(spec, (m) => m.instanceId ?? m.memberId);
    for (const t of sortedTopicIds(spec.topics)) {
      const subscribers = slots.filter((s) => s.topics.has(t));
      if (subscribers.length === 0) continue;
      const count = spec.topics.get(t)!;
      const base = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      let next = 0;
      subscribers.forEach((s, i) => {
        const n = base + (i < extra ? 1 : 0);
        for (let k = 0; k < n; k++) s.owned.push([t, next++]);
      });
    }
    return toAssignment(slots);
  },
};

/** Every server-side assignor franz has, by name. */
export const SERVER_ASSIGNORS: ReadonlyMap<string, ServerAssignor> = new Map([uniformAssignor, rangeAssignor].map((a) => [a.name, a]));
