/**
 * Transaction markers on the partitions this broker leads: a commit or abort control batch
 * appended by the leader (Log.appendMarker), answered once it is durable (fsynced, or in a
 * cluster held by the ISR), since the last stable offset and the coordinator's Complete state
 * must never run ahead of a marker a crash could lose. Used by the local coordinator and by
 * WriteTxnMarkers (a coordinator on another broker).
 */
import type { PartitionLogs } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { ControlType } from '../records/record-batch.js';

export interface TxnMarker {
  readonly commit: boolean;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The coordinator's epoch (the leader epoch of its `__transaction_state` partition). */
  readonly coordinatorEpoch: number;
}

/** How long a marker waits for the ISR in a cluster before the coordinator retries it. */
const MARKER_ISR_TIMEOUT_MS = 30_000;

/** Appends `marker` to a partition this broker leads and waits until it is durable; returns an error code. */
export async function writeMarkerLocally(logs: PartitionLogs, topic: string, partition: number, marker: TxnMarker): Promise<number> {
  const log = logs.partition(topic, partition);
  if (log === undefined) return logs.missingPartitionError(topic, partition);
  const r = log.appendMarker(
    {
      type: marker.commit ? ControlType.commit : ControlType.abort,
      producerId: marker.producerId,
      producerEpoch: marker.producerEpoch,
      coordinatorEpoch: marker.coordinatorEpoch,
    },
    logs.leaderEpochOf(topic, partition),
  );
  if (r.errorCode !== ErrorCode.NONE) return r.errorCode;
  const end = r.lastOffset + 1;
  if (logs.replicated) {
    const w = await log.waitForHighWatermark(end, MARKER_ISR_TIMEOUT_MS);
    return w === 'reached' ? ErrorCode.NONE : w === 'timed-out' ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }
  if (log.config.durable) {
    try {
      await log.flushTo(end);
    } catch {
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
  }
  return ErrorCode.NONE;
}
