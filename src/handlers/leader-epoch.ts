/**
 * The check of a request's current leader epoch (KIP-320) that Fetch, ListOffsets and
 * OffsetForLeaderEpoch share: -1 skips it; an epoch older than the partition's is
 * FENCED_LEADER_EPOCH (the client's metadata is stale), a newer one UNKNOWN_LEADER_EPOCH (this
 * broker has not yet learned of the new leadership).
 */
import { ErrorCode } from '../protocol/errors.js';

export function checkLeaderEpoch(requested: number, current: number): number | null {
  if (requested < 0) return null;
  if (requested < current) return ErrorCode.FENCED_LEADER_EPOCH;
  if (requested > current) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return null;
}
