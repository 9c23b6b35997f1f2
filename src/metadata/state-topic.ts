/**
 * StateTopic: an internal, compacted topic in which a coordinator keeps its state, keyed records
 * whose latest value per key is the state (`__consumer_offsets` for groups, `__transaction_state`
 * for transactions). Each key belongs to the partition Kafka would choose
 * (`abs(hashCode(id)) % partitions`), whose leader is the key's coordinator. Writes go through the
 * same log append as produced records and are answered once they are durable (fsynced, or in a
 * cluster held by the ISR). A partition is replayed when this broker starts leading it.
 *
 * Compaction is the log cleaner's (storage/log-cleaner.ts), as for any compacted topic: it keeps
 * the latest record of each key, drops aborted transactions' records, never touches what an open
 * transaction wrote (it cleans below the last stable offset) and removes tombstones after
 * delete.retention.ms. The cleaner only cleans closed segments, so a state topic rolls its active
 * segment once it passes ROLL_BYTES (or its segment.bytes, if less): each segment keeps a table
 * row per batch in memory and commits are one small batch each, so waiting for a 100 MiB segment
 * to fill held hundreds of thousands of rows (the soak's RSS creep, docs/perf/hardening.md).
 */
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { decodeRecordBatches, encodeRecordBatch, type RecordBatch, type RecordInput } from '../records/record-batch.js';
import type { InternalTopics, PartitionLogs } from './ports.js';

/** What a state topic reaches of the broker. */
export interface StateTopicPorts {
  readonly logs: PartitionLogs;
  readonly topics: InternalTopics;
  readonly log: Logger;
}

export interface StateTopicSpec {
  readonly name: string;
  /** The partition count when the topic is made (an existing topic keeps its own). */
  readonly partitions: number;
  readonly segmentBytes: string;
  /** Replicas of each partition in a cluster (offsets.topic.replication.factor and the like). */
  readonly replicationFactor: number;
  /** How long a write waits for the ISR in a cluster (offsets.commit.timeout.ms and the like). */
  readonly commitTimeoutMs: number;
}

/** A transactional write: the producer whose marker later commits or aborts the records. */
export interface TransactionalWrite {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** A partition's active segment is rolled past this size, for the cleaner to compact it. */
const ROLL_BYTES = 4 * 1024 * 1024;

/** Java's String.hashCode, which Kafka uses to place a coordinator key on a partition. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's `Utils.abs(id.hashCode) % partitions`. */
export function statePartitionFor(id: string, partitions: number): number {
  const h = javaStringHash(id);
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitions;
}

export class StateTopic {
  readonly name: string;
  readonly partitions: number;
  private readonly logs: PartitionLogs;
  private readonly commitTimeoutMs: number;

  constructor(ports: StateTopicPorts, spec: StateTopicSpec) {
    this.name = spec.name;
    this.logs = ports.logs;
    this.commitTimeoutMs = spec.commitTimeoutMs;
    const existing = ports.topics.get(spec.name);
    if (existing !== undefined) {
      this.partitions = existing.partitions;
    } else {
      this.partitions = spec.partitions;
      const r = ports.topics.createInternalTopic(spec.name, spec.partitions, spec.replicationFactor, {
        'cleanup.policy': 'compact',
        'segment.bytes': spec.segmentBytes,
      });
      if (r.errorCode !== ErrorCode.NONE) throw new Error(`cannot create ${spec.name}: ${r.message}`);
    }
  }

  /** The partition of a coordinator key (a group id, a transactional id). */
  partitionFor(id: string): number {
    return statePartitionFor(id, this.partitions);
  }

  /** Whether this broker leads partition p (always, on a single node). */
  leads(p: number): boolean {
    return this.logs.partition(this.name, p) !== undefined;
  }

  /**
   * Replays partition p from its log start to its end, batch by batch; nothing when this broker
   * does not lead it.
   */
  replay(p: number, visit: (batch: RecordBatch) => void): void {
    const log = this.logs.partition(this.name, p);
    if (log === undefined) return;
    let at = log.logStartOffset;
    while (at < log.logEndOffset) {
      // To the log end: a new leader's log is the partition's truth, its high watermark may lag.
      const bytes = log.readBytes(at, 1 << 20, true);
      if (bytes.length === 0) break;
      const { batches } = decodeRecordBatches(bytes);
      if (batches.length === 0) break;
      for (const b of batches) {
        visit(b);
        at = b.baseOffset + b.lastOffsetDelta + 1;
      }
    }
  }

  /**
   * Appends records to partition p and waits until they are durable. Returns an error code:
   * COORDINATOR_NOT_AVAILABLE when this broker does not lead p (or its log failed), NOT_COORDINATOR
   * when the leadership moved during the write, MESSAGE_TOO_LARGE past the topic's
   * max.message.bytes, REQUEST_TIMED_OUT when the ISR did not follow in time.
   */
  async write(p: number, records: RecordInput[], txn?: TransactionalWrite): Promise<number> {
    if (records.length === 0) return ErrorCode.NONE;
    const log = this.logs.partition(this.name, p);
    if (log === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const batch = encodeRecordBatch(
      records,
      txn === undefined ? {} : { producerId: txn.producerId, producerEpoch: txn.producerEpoch, baseSequence: 0, transactional: true },
    );
    if (batch.length > log.config.maxMessageBytes) return ErrorCode.MESSAGE_TOO_LARGE;
    const r = log.appendAsLeader(batch, { leaderEpoch: this.logs.leaderEpochOf(this.name, p), origin: 'coordinator' });
    if (r.errorCode !== ErrorCode.NONE) {
      // Records the coordinator encoded itself failing validation would be a bug of ours.
      if (r.invalidRecords) return ErrorCode.UNKNOWN_SERVER_ERROR;
      // Kafka maps storage failures of its state topics to a retriable coordinator error.
      return r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.COORDINATOR_NOT_AVAILABLE : r.errorCode;
    }
    const code = await this.durable(p, r.lastOffset + 1);
    if (code === ErrorCode.NONE) this.maybeRoll(p);
    return code;
  }

  /** Waits until partition p's log is durable up to `end` (fsynced; in a cluster, held by the ISR). */
  async durable(p: number, end: number): Promise<number> {
    const log = this.logs.partition(this.name, p);
    if (log === undefined) return ErrorCode.NOT_COORDINATOR;
    if (this.logs.replicated) {
      const w = await log.waitForHighWatermark(end, this.commitTimeoutMs);
      // A coordinator whose partition moved away mid-write is no longer the coordinator.
      if (w !== 'reached') return w === 'timed-out' ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_COORDINATOR;
    } else if (log.config.durable) {
      try {
        await log.flushTo(end);
      } catch {
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return ErrorCode.NONE;
  }

  /** Rolls partition p's active segment once past ROLL_BYTES, for the log cleaner (see the top). */
  private maybeRoll(p: number): void {
    const log = this.logs.partition(this.name, p);
    // A write answered after a shutdown closed the log finds no segment to roll.
    log?.rollPast(Math.min(ROLL_BYTES, log.config.segmentBytes));
  }
}
