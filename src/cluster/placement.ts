/**
 * Replica placement for new topics and partitions, as Kafka's controller does it: leaders spread
 * evenly over the brokers, each partition's replicas on distinct brokers, and, when brokers name a
 * rack, each partition's replicas on as many distinct racks as there are.
 *
 * Pure: given the live brokers (sorted by id) and a start offset, the same answer every time. The
 * start comes from the topic (a hash of its name) so that topics do not all begin on broker 0.
 */

export interface PlacementBroker {
  id: number;
  rack: string | null;
}

/**
 * Replicas for partitions [from, from + count): replica lists of `replicationFactor` distinct
 * brokers, the first being the preferred leader. Returns null when there are fewer brokers than
 * replicas (INVALID_REPLICATION_FACTOR).
 */
export function placeReplicas(
  brokers: readonly PlacementBroker[],
  from: number,
  count: number,
  replicationFactor: number,
  start: number,
): number[][] | null {
  if (replicationFactor < 1 || replicationFactor > brokers.length) return null;
  const order = rackAlternating(brokers);
  const n = order.length;
  const out: number[][] = [];
  for (let p = from; p < from + count; p++) {
    // The leader walks the rack-alternating order; followers are the next brokers after a shift
    // that grows every n partitions (Kafka's scheme), so that a broker's followers are not always
    // the same brokers.
    const first = (start + p) % n;
    const shift = 1 + (Math.floor((start + p) / n) % Math.max(1, n - 1));
    const replicas = [order[first]!];
    const racks = new Set<string | null>([rackOf(brokers, order[first]!)]);
    const allRacks = new Set(brokers.map((b) => b.rack)).size;
    // Followers: prefer a broker on a rack not used yet while racks remain, then any unused broker.
    for (let k = 0; replicas.length < replicationFactor && k < n * 2; k++) {
      const candidate = order[(first + shift + k) % n]!;
      if (replicas.includes(candidate)) continue;
      const rack = rackOf(brokers, candidate);
      if (k < n && racks.size < allRacks && racks.has(rack)) continue;
      replicas.push(candidate);
      racks.add(rack);
    }
    out.push(replicas);
  }
  return out;
}

function rackOf(brokers: readonly PlacementBroker[], id: number): string | null {
  return brokers.find((b) => b.id === id)?.rack ?? null;
}

/** Broker ids sorted, and interleaved across racks (rack A's first, rack B's first, ...). */
function rackAlternating(brokers: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((a, c) => a.id - c.id)) {
    const key = b.rack ?? '';
    const list = byRack.get(key) ?? [];
    list.push(b.id);
    byRack.set(key, list);
  }
  const racks = [...byRack.keys()].sort();
  const out: number[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const r of racks) {
      const id = byRack.get(r)![i];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}

/** A stable start for a topic's placement, from its name. */
export function placementStart(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h;
}
