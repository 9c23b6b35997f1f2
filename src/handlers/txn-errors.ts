/**
 * PRODUCER_FENCED (KIP-588) is answered only to versions that know it; older ones get
 * INVALID_PRODUCER_EPOCH, as Kafka does: InitProducerId before v4, AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn before v2, TxnOffsetCommit before v3.
 */
import { ErrorCode } from '../protocol/errors.js';

export function fencedFor(code: number, version: number, firstVersionWithFenced: number): number {
  return code === ErrorCode.PRODUCER_FENCED && version < firstVersionWithFenced ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}
