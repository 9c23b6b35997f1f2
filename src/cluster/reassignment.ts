/**
 * Partition reassignment (AlterPartitionReassignments, KIP-455), as records to compare-and-swap.
 *
 * A reassignment from the original replicas O to a target T writes one record whose replicas are
 * T followed by what leaves (O minus T), with `adding` = T minus O and `removing` = O minus T. The
 * brokers in `adding` start following the leader at once (every broker hosts what `replicas`
 * lists) and join the ISR by the usual rule once they have everything below the high watermark.
 * When every added replica is in sync the controller completes the move in a second write:
 * replicas become T, the ISR keeps only members of T, and if the leader is leaving, the first
 * in-sync live member of T leads with a new leader epoch. Nothing leaves before its successors
 * are in sync, so at every step the ISR holds every acknowledged record. Brokers that left drop
 * their copy once they see the completed record.
 *
 * A new target replaces one in progress (O stays the replicas before the first); a null target
 * cancels, going back to O (a leader among the added replicas hands over to an original one).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { PartitionRecord, PartitionState } from './state.js';

export interface Refusal {
  errorCode: number;
  message: string;
}

/** The replicas a partition had before the reassignment in progress (all of them when there is none). */
export function originalReplicas(s: PartitionRecord): number[] {
  const adding = s.adding ?? [];
  return s.replicas.filter((r) => !adding.includes(r));
}

export function isReassigning(s: PartitionRecord): boolean {
  return (s.adding?.length ?? 0) > 0 || (s.removing?.length ?? 0) > 0;
}

/**
 * The record that starts, replaces or (target null) cancels a reassignment, or why not.
 * `brokers`: the registered brokers (a target may only name those); `allowRfChange`: KIP-860.
 */
export function reassign(
  s: PartitionState,
  target: readonly number[] | null,
  brokers: ReadonlySet<number>,
  allowRfChange: boolean,
): PartitionRecord | Refusal {
  const original = originalReplicas(s);
  if (target === null) {
    if (!isReassigning(s)) return { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, message: 'No reassignment is in progress.' };
    return (
      settle(s, original, brokers) ?? { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, message: 'No original replica is in sync.' }
    );
  }
  if (target.length === 0) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: 'The target replica list is empty.' };
  if (new Set(target).size !== target.length)
    return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: 'The target replica list names a broker twice.' };
  const unknown = target.filter((r) => !brokers.has(r));
  if (unknown.length > 0)
    return {
      errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: `The target names brokers that are not registered: ${unknown.join(', ')}.`,
    };
  if (!allowRfChange && target.length !== original.length)
    return {
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      message: `The target has ${target.length} replicas and the partition ${original.length}; the request does not allow a change.`,
    };
  const adding = target.filter((r) => !original.includes(r));
  const removing = original.filter((r) => !target.includes(r));
  const { revision: _revision, ...current } = s;
  const started: PartitionRecord = {
    ...current,
    replicas: [...target, ...removing],
    adding,
    removing,
    partitionEpoch: s.partitionEpoch + 1,
  };
  // Nothing to copy (a reordering or a shrink): completed at once when an in-sync target replica can lead.
  return (adding.length === 0 ? settle(s, [...target], brokers) : null) ?? started;
}

/** The record that completes a reassignment whose added replicas are all in sync, or null while it waits. */
export function completeReassignment(s: PartitionState, live: ReadonlySet<number>): PartitionRecord | null {
  if (!isReassigning(s)) return null;
  if (!(s.adding ?? []).every((r) => s.isr.includes(r))) return null;
  const removing = s.removing ?? [];
  return settle(
    s,
    s.replicas.filter((r) => !removing.includes(r)),
    live,
  );
}

/**
 * The record with `replicas` as the whole assignment and no reassignment: the ISR keeps its members
 * among them, the leader stays if it is one, else the first in-sync live one leads (a new epoch).
 * null when no in-sync replica among them could lead.
 */
function settle(s: PartitionState, replicas: number[], live: ReadonlySet<number>): PartitionRecord | null {
  const isr = s.isr.filter((r) => replicas.includes(r));
  const base = { topicId: s.topicId, replicas, isr, partitionEpoch: s.partitionEpoch + 1 };
  if (s.leader !== -1 && replicas.includes(s.leader)) return { ...base, leader: s.leader, leaderEpoch: s.leaderEpoch };
  const leader = replicas.find((r) => isr.includes(r) && live.has(r));
  return leader === undefined ? null : { ...base, leader, leaderEpoch: s.leaderEpoch + 1 };
}
