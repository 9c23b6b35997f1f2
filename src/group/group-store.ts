/**
 * GroupStore: committed offsets and group metadata, kept in the internal topic `__consumer_offsets`
 * (offsets.topic.num.partitions partitions, cleanup.policy=compact), each group on the partition
 * Kafka would choose (`abs(hashCode(group)) % partitions`). Writes go through the same log append as
 * produced records and, in durable mode, are acknowledged only once fsynced. At start-up the whole
 * topic is replayed to rebuild the state, before the listener opens.
 *
 * Compaction: the store keeps, per partition, the latest value of every key it has written or
 * replayed (what Kafka's log cleaner would keep). When a partition's log grows past
 * COMPACT_MIN_BYTES (or twice its segment size, if less) and four times that live set, a new
 * segment is rolled and the live records are appended to it again, in the same tick in which they
 * are read (so no write can slip between); once they are durable the log start offset moves to
 * them, dropping every older segment. Compacting early matters: each segment keeps a table row
 * per batch in memory, and commits are one small batch each, so waiting for two 100 MiB segments
 * held hundreds of thousands of rows (the soak's RSS creep, docs/perf/hardening.md). A crash in between only replays the
 * live records twice, to the same state. Tombstones go with the records they deleted.
 */
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { InternalTopics, PartitionLogs } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { tpKey } from './topic-partition.js';
import { decodeRecordBatches, encodeRecordBatch, type RecordInput } from '../records/record-batch.js';
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  groupKey,
  groupValue,
  offsetKey,
  offsetValue,
  offsetsPartitionFor,
  type CommittedOffset,
  type GroupRecord,
} from './records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Kafka's offsets.commit.timeout.ms default: how long a write waits for the ISR in a cluster. */
const OFFSETS_COMMIT_TIMEOUT_MS = 5000;

/** What the group coordinator and its store reach of the broker. */
export interface GroupPorts {
  readonly logs: PartitionLogs;
  readonly topics: InternalTopics;
  readonly config: BrokerConfig;
  readonly log: Logger;
}

export interface LoadedState {
  offsets: Map<string, Map<string, CommittedOffset>>;
  groups: Map<string, GroupRecord>;
}

/** Bytes of record payload per batch when the live set is re-appended (well under max.message.bytes). */
const COMPACT_BATCH_BYTES = 256 * 1024;
/** A partition's log is compacted once past this size (or twice its segment size, if that is less). */
const COMPACT_MIN_BYTES = 4 * 1024 * 1024;

export class GroupStore {
  readonly partitions: number;
  /** Per partition: key (latin1 of its bytes) -> latest value, for compaction. */
  private readonly live: Array<Map<string, Buffer>> = [];
  private readonly liveBytes: number[] = [];
  private readonly compacting = new Set<number>();

  private readonly logs: PartitionLogs;
  private readonly log: Logger;

  constructor(ports: GroupPorts) {
    const { topics, config } = ports;
    this.logs = ports.logs;
    this.log = ports.log;
    const existing = topics.get(OFFSETS_TOPIC);
    if (existing !== undefined) {
      this.partitions = existing.partitions;
    } else {
      this.partitions = config.num('offsets.topic.num.partitions');
      const r = topics.createInternalTopic(OFFSETS_TOPIC, this.partitions, {
        'cleanup.policy': 'compact',
        'segment.bytes': config.get('offsets.topic.segment.bytes'),
      });
      if (r.errorCode !== ErrorCode.NONE) throw new Error(`cannot create ${OFFSETS_TOPIC}: ${r.message}`);
    }
    for (let p = 0; p < this.partitions; p++) {
      this.live.push(new Map());
      this.liveBytes.push(0);
    }
  }

  /** Records that `key` now holds `value` (null deletes) in partition p's live set. */
  private track(p: number, key: Buffer, value: Buffer | null): void {
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

  /** Whether this broker leads the offsets partition of `group` (always, on a single node). */
  leads(group: string): boolean {
    return this.logs.partition(OFFSETS_TOPIC, this.partitionFor(group)) !== undefined;
  }

  partitionFor(group: string): number {
    return offsetsPartitionFor(group, this.partitions);
  }

  /** Replays every partition of the topic. Later records win; null values delete. */
  load(): LoadedState {
    const state: LoadedState = { offsets: new Map(), groups: new Map() };
    for (let p = 0; p < this.partitions; p++) this.loadInto(state, p);
    return state;
  }

  /**
   * Replays one partition (this broker has just become its leader: the groups it holds move here);
   * empty when this broker does not lead it.
   */
  loadPartition(p: number): LoadedState {
    const state: LoadedState = { offsets: new Map(), groups: new Map() };
    this.loadInto(state, p);
    return state;
  }

  /** Forgets what partition p held (its leadership moved away); the log stays, as a replica. */
  unloadPartition(p: number): void {
    this.live[p]?.clear();
    if (p < this.liveBytes.length) this.liveBytes[p] = 0;
  }

  private loadInto(state: LoadedState, p: number): void {
    const log = this.logs.partition(OFFSETS_TOPIC, p);
    if (log === undefined) return;
    this.unloadPartition(p);
    let at = log.logStartOffset;
    while (at < log.logEndOffset) {
      // To the log end: a new leader's log is the partition's truth, its high watermark may lag.
      const bytes = log.readBytes(at, 1 << 20, true);
      if (bytes.length === 0) break;
      const { batches } = decodeRecordBatches(bytes);
      if (batches.length === 0) break;
      for (const b of batches) {
        for (const rec of b.records) {
          if (rec.key === null) continue;
          this.apply(state, rec.key, rec.value);
          this.track(p, rec.key, rec.value);
        }
        at = b.baseOffset + b.lastOffsetDelta + 1;
      }
    }
  }

  private apply(state: LoadedState, key: Buffer, value: Buffer | null): void {
    const k = decodeKey(key);
    if (k.kind === 'offset') {
      let m = state.offsets.get(k.group);
      if (value === null) {
        m?.delete(tpKey(k.topic, k.partition));
        return;
      }
      const v = decodeOffsetValue(value);
      if (v === null) return;
      if (m === undefined) {
        m = new Map();
        state.offsets.set(k.group, m);
      }
      m.set(tpKey(k.topic, k.partition), v);
    } else if (k.kind === 'group') {
      if (value === null) {
        state.groups.delete(k.group);
        return;
      }
      const v = decodeGroupValue(value);
      if (v !== null) state.groups.set(k.group, v);
    }
  }

  /** Appends records for one group and waits until they are durable. Returns an error code. */
  private async write(group: string, records: RecordInput[]): Promise<number> {
    if (records.length === 0) return ErrorCode.NONE;
    const log = this.logs.partition(OFFSETS_TOPIC, this.partitionFor(group));
    if (log === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const batch = encodeRecordBatch(records);
    // The offsets topic's max.message.bytes bounds what one group can store (huge member metadata).
    if (batch.length > log.config.maxMessageBytes) return ErrorCode.MESSAGE_TOO_LARGE;
    const r = log.appendAsLeader(batch, { leaderEpoch: this.logs.leaderEpochOf(OFFSETS_TOPIC, this.partitionFor(group)) });
    if (r.errorCode !== ErrorCode.NONE) {
      // Records the store encoded itself failing validation would be a bug of ours.
      if (r.invalidRecords) return ErrorCode.UNKNOWN_SERVER_ERROR;
      // Kafka maps storage failures of the offsets topic to a retriable coordinator error.
      return r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.COORDINATOR_NOT_AVAILABLE : r.errorCode;
    }
    const p = this.partitionFor(group);
    for (const rec of records) this.track(p, Buffer.from(rec.key!), rec.value === null ? null : Buffer.from(rec.value));
    if (this.logs.replicated) {
      // In a cluster a commit counts once the ISR has it (a coordinator that moves finds it there).
      const w = await log.waitForHighWatermark(r.lastOffset + 1, OFFSETS_COMMIT_TIMEOUT_MS);
      // A coordinator whose offsets partition moved away mid-commit is no longer the coordinator.
      if (w !== 'reached') return w === 'timed-out' ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_COORDINATOR;
    } else if (log.config.durable) {
      try {
        await log.flushTo(r.lastOffset + 1);
      } catch {
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    this.maybeCompact(p);
    return ErrorCode.NONE;
  }

  /** Starts a compaction of partition p when its log has outgrown its live set (see the top). */
  maybeCompact(p: number): void {
    const log = this.logs.partition(OFFSETS_TOPIC, p);
    if (log === undefined || this.compacting.has(p)) return;
    const size = log.sizeBytes;
    if (size <= Math.min(2 * log.config.segmentBytes, COMPACT_MIN_BYTES) || size <= 4 * this.liveBytes[p]!) return;
    this.compacting.add(p);
    this.compact(p).finally(() => this.compacting.delete(p));
  }

  private async compact(p: number): Promise<void> {
    const log = this.logs.partition(OFFSETS_TOPIC, p)!;
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
      const r = log.appendAsLeader(encoded, { leaderEpoch: this.logs.leaderEpochOf(OFFSETS_TOPIC, p) });
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
    this.log.info('compacted the offsets topic', {
      partition: p,
      from,
      liveRecords: this.live[p]!.size,
      sizeBefore,
      sizeAfter: log.sizeBytes,
    });
  }

  /** Kafka answers a commit too large to store with INVALID_COMMIT_OFFSET_SIZE. */
  async commitOffsets(group: string, commits: Array<{ topic: string; partition: number; value: CommittedOffset }>): Promise<number> {
    const code = await this.write(
      group,
      commits.map((c) => ({ key: offsetKey(group, c.topic, c.partition), value: offsetValue(c.value) })),
    );
    return code === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : code;
  }

  deleteOffsets(group: string, tps: Array<{ topic: string; partition: number }>): Promise<number> {
    return this.write(
      group,
      tps.map((t) => ({ key: offsetKey(group, t.topic, t.partition), value: null })),
    );
  }

  /** Kafka answers a group too large to store (huge member metadata) with UNKNOWN_SERVER_ERROR. */
  async storeGroup(group: string, record: GroupRecord | null): Promise<number> {
    const code = await this.write(group, [{ key: groupKey(group), value: record === null ? null : groupValue(record) }]);
    return code === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.UNKNOWN_SERVER_ERROR : code;
  }
}
