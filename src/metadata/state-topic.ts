/**
 * StateTopic: an internal, compacted topic in which a coordinator keeps its state, keyed records
 * whose latest value per key is the state (`__consumer_offsets` for groups, `__transaction_state`
 * for transactions). Each key belongs to the partition Kafka would choose
 * (`abs(hashCode(id)) % partitions`), whose leader is the key's coordinator. Writes go through the
 * same log append as produced records and are answered once they are durable (fsynced, or in a
 * cluster held by the ISR). A partition is replayed when this broker starts leading it.
 *
 * Compaction: the topic keeps, per partition, the latest value of every key it has written or
 * replayed (what Kafka's log cleaner would keep). When a partition's log grows past
 * COMPACT_MIN_BYTES (or twice its segment size, if less) and four times that live set, a new
 * segment is rolled and the live records are appended to it again, in the same tick in which they
 * are read (so no write can slip between); once they are durable the log start offset moves to
 * them, dropping every older segment. Compacting early matters: each segment keeps a table row
 * per batch in memory, and commits are one small batch each, so waiting for two 100 MiB segments
 * held hundreds of thousands of rows (the soak's RSS creep, docs/perf/hardening.md). A crash in
 * between only replays the live records twice, to the same state. Tombstones go with the records
 * they deleted.
 *
 * Transactional records (offsets committed in a transaction) are not live until their commit
 * marker: the owner tracks them then (`track`), and holds compaction of a partition while any of
 * its transactions is open (`holdCompaction`), so that no open transaction's records are dropped.
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

/** Bytes of record payload per batch when the live set is re-appended (well under max.message.bytes). */
const COMPACT_BATCH_BYTES = 256 * 1024;
/** A partition's log is compacted once past this size (or twice its segment size, if that is less). */
const COMPACT_MIN_BYTES = 4 * 1024 * 1024;

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
  /** True while partition p must not be compacted (its owner has open transactions there). */
  holdCompaction: (p: number) => boolean = () => false;
  /** Per partition: key (latin1 of its bytes) -> latest value, for compaction. */
  private readonly live: Array<Map<string, Buffer>> = [];
  private readonly liveBytes: number[] = [];
  private readonly compacting = new Set<number>();
  private readonly logs: PartitionLogs;
  private readonly log: Logger;
  private readonly commitTimeoutMs: number;

  constructor(ports: StateTopicPorts, spec: StateTopicSpec) {
    this.name = spec.name;
    this.logs = ports.logs;
    this.log = ports.log;
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
    for (let p = 0; p < this.partitions; p++) {
      this.live.push(new Map());
      this.liveBytes.push(0);
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

  /** Records that `key` now holds `value` (null deletes) in partition p's live set. */
  track(p: number, key: Buffer, value: Buffer | null): void {
    const k = key.toString('latin1');
    const m = this.live[p]!;
    const old = m.get(k);
    if (old !== undefined) this.liveBytes[p]! -= k.length + old.length;
    if (value === null) m.delete(k);
    else {
      // The frame or batch the value came from may be reused: keep our own copy.
      m.set(k, Buffer.from(value));
      this.liveBytes[p]! += k.length + value.length;
    }
  }

  /** Forgets what partition p held (its leadership moved away); the log stays, as a replica. */
  unload(p: number): void {
    this.live[p]?.clear();
    if (p < this.liveBytes.length) this.liveBytes[p] = 0;
  }

  /**
   * Replays partition p from its log start to its end, batch by batch; nothing when this broker
   * does not lead it. The records of plain batches become the live set; transactional ones and
   * markers are the visitor's to interpret.
   */
  replay(p: number, visit: (batch: RecordBatch) => void): void {
    const log = this.logs.partition(this.name, p);
    if (log === undefined) return;
    this.unload(p);
    let at = log.logStartOffset;
    while (at < log.logEndOffset) {
      // To the log end: a new leader's log is the partition's truth, its high watermark may lag.
      const bytes = log.readBytes(at, 1 << 20, true);
      if (bytes.length === 0) break;
      const { batches } = decodeRecordBatches(bytes);
      if (batches.length === 0) break;
      for (const b of batches) {
        if (!b.transactional && !b.control) for (const rec of b.records) if (rec.key !== null) this.track(p, rec.key, rec.value);
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
    if (txn === undefined)
      for (const rec of records) this.track(p, Buffer.from(rec.key!), rec.value === null ? null : Buffer.from(rec.value));
    const code = await this.durable(p, r.lastOffset + 1);
    if (code === ErrorCode.NONE) this.maybeCompact(p);
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

  /** Starts a compaction of partition p when its log has outgrown its live set (see the top). */
  maybeCompact(p: number): void {
    const log = this.logs.partition(this.name, p);
    if (log === undefined || this.compacting.has(p) || this.holdCompaction(p)) return;
    const size = log.sizeBytes;
    if (size <= Math.min(2 * log.config.segmentBytes, COMPACT_MIN_BYTES) || size <= 4 * this.liveBytes[p]!) return;
    this.compacting.add(p);
    this.compact(p).finally(() => this.compacting.delete(p));
  }

  private async compact(p: number): Promise<void> {
    const log = this.logs.partition(this.name, p)!;
    // The live set starts a segment of its own, so that every older one (and its table) can go.
    log.roll();
    const from = log.logEndOffset;
    const sizeBefore = log.sizeBytes;
    // Read and append in one tick: every record appended later comes after these.
    let batch: RecordInput[] = [];
    let bytes = 0;
    let last = from;
    const flush = (): boolean => {
      if (batch.length === 0) return true;
      const encoded = encodeRecordBatch(batch);
      const r = log.appendAsLeader(encoded, { leaderEpoch: this.logs.leaderEpochOf(this.name, p), origin: 'coordinator' });
      if (r.errorCode !== ErrorCode.NONE) return false;
      last = r.lastOffset + 1;
      batch = [];
      bytes = 0;
      return true;
    };
    for (const [k, value] of this.live[p]!) {
      batch.push({ key: Buffer.from(k, 'latin1'), value });
      bytes += k.length + value.length;
      if (bytes >= COMPACT_BATCH_BYTES && !flush()) return;
    }
    if (!flush()) return;
    try {
      await log.flushTo(last);
    } catch {
      return;
    }
    log.deleteRecordsBefore(from);
    this.log.info(`compacted ${this.name}`, {
      partition: p,
      from,
      liveRecords: this.live[p]!.size,
      sizeBefore,
      sizeAfter: log.sizeBytes,
    });
  }
}
