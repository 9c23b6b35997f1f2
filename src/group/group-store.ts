/**
 * GroupStore: committed offsets and group metadata, kept in the internal topic `__consumer_offsets`
 * (offsets.topic.num.partitions partitions, cleanup.policy=compact; a StateTopic, which also
 * compacts it), each group on the partition Kafka would choose (`abs(hashCode(group)) %
 * partitions`). Writes go through the same log append as produced records and are answered once
 * durable. At start-up the whole topic is replayed to rebuild the state, before the listener opens.
 *
 * Offsets committed in a transaction (TxnOffsetCommit) are written as a transactional batch of
 * their producer; they count once the transaction coordinator's commit marker reaches the
 * partition (an abort marker drops them). Replay applies the same rule.
 */
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { InternalTopics, PartitionLogs } from '../metadata/ports.js';
import { StateTopic } from '../metadata/state-topic.js';
import { ErrorCode } from '../protocol/errors.js';
import { ControlType, type RecordBatch } from '../records/record-batch.js';
import { tpKey } from './topic-partition.js';
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  groupKey,
  groupValue,
  offsetKey,
  offsetValue,
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

/** Offsets a producer's open transaction committed: group -> partition key -> offset. */
export interface PendingTxnOffsets {
  readonly offsets: Map<string, Map<string, CommittedOffset>>;
}

export interface LoadedState {
  offsets: Map<string, Map<string, CommittedOffset>>;
  groups: Map<string, GroupRecord>;
  /** Open transactions' offsets, by producer id. */
  pending: Map<number, PendingTxnOffsets>;
}

export class GroupStore {
  readonly topic: StateTopic;

  constructor(ports: GroupPorts) {
    this.topic = new StateTopic(ports, {
      name: OFFSETS_TOPIC,
      partitions: ports.config.num('offsets.topic.num.partitions'),
      segmentBytes: ports.config.get('offsets.topic.segment.bytes'),
      replicationFactor: ports.config.num('offsets.topic.replication.factor'),
      commitTimeoutMs: OFFSETS_COMMIT_TIMEOUT_MS,
    });
  }

  get partitions(): number {
    return this.topic.partitions;
  }

  /** Whether this broker leads the offsets partition of `group` (always, on a single node). */
  leads(group: string): boolean {
    return this.topic.leads(this.partitionFor(group));
  }

  partitionFor(group: string): number {
    return this.topic.partitionFor(group);
  }

  /** Replays every partition of the topic. Later records win; null values delete. */
  load(): LoadedState {
    const state: LoadedState = { offsets: new Map(), groups: new Map(), pending: new Map() };
    for (let p = 0; p < this.partitions; p++) this.loadInto(state, p);
    return state;
  }

  /**
   * Replays one partition (this broker has just become its leader: the groups it holds move here);
   * empty when this broker does not lead it.
   */
  loadPartition(p: number): LoadedState {
    const state: LoadedState = { offsets: new Map(), groups: new Map(), pending: new Map() };
    this.loadInto(state, p);
    return state;
  }

  private loadInto(state: LoadedState, p: number): void {
    // Open transactions of this partition, by producer id, until their markers.
    const open = new Map<number, PendingTxnOffsets>();
    this.topic.replay(p, (b: RecordBatch) => {
      if (b.control) {
        const txn = open.get(b.producerId);
        open.delete(b.producerId);
        const type = b.records[0]?.key?.readInt16BE(2);
        if (txn === undefined || type !== ControlType.commit) return;
        for (const [group, m] of txn.offsets) {
          let committed = state.offsets.get(group);
          if (committed === undefined) {
            committed = new Map();
            state.offsets.set(group, committed);
          }
          for (const [k, v] of m) committed.set(k, v);
        }
        return;
      }
      if (b.transactional) {
        let txn = open.get(b.producerId);
        if (txn === undefined) {
          txn = { offsets: new Map() };
          open.set(b.producerId, txn);
        }
        for (const rec of b.records) {
          if (rec.key === null) continue;
          const k = decodeKey(rec.key);
          const v = rec.value === null ? null : decodeOffsetValue(rec.value);
          if (k.kind !== 'offset' || v === null) continue;
          let m = txn.offsets.get(k.group);
          if (m === undefined) {
            m = new Map();
            txn.offsets.set(k.group, m);
          }
          m.set(tpKey(k.topic, k.partition), v);
        }
        return;
      }
      for (const rec of b.records) if (rec.key !== null) this.apply(state, rec.key, rec.value);
    });
    for (const [pid, txn] of open) state.pending.set(pid, txn);
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

  /** Kafka answers a commit too large to store with INVALID_COMMIT_OFFSET_SIZE. */
  async commitOffsets(group: string, commits: Array<{ topic: string; partition: number; value: CommittedOffset }>): Promise<number> {
    const code = await this.topic.write(
      this.partitionFor(group),
      commits.map((c) => ({ key: offsetKey(group, c.topic, c.partition), value: offsetValue(c.value) })),
    );
    return code === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : code;
  }

  /**
   * TxnOffsetCommit: the offsets as a transactional batch of the producer; they count once its
   * commit marker reaches the partition. Returns an error code.
   */
  async commitTxnOffsets(
    group: string,
    producerId: number,
    producerEpoch: number,
    commits: Array<{ topic: string; partition: number; value: CommittedOffset }>,
  ): Promise<number> {
    const records = commits.map((c) => ({ key: offsetKey(group, c.topic, c.partition), value: offsetValue(c.value) }));
    const code = await this.topic.write(this.partitionFor(group), records, { producerId, producerEpoch });
    return code === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : code;
  }

  deleteOffsets(group: string, tps: Array<{ topic: string; partition: number }>): Promise<number> {
    return this.topic.write(
      this.partitionFor(group),
      tps.map((t) => ({ key: offsetKey(group, t.topic, t.partition), value: null })),
    );
  }

  /** Kafka answers a group too large to store (huge member metadata) with UNKNOWN_SERVER_ERROR. */
  async storeGroup(group: string, record: GroupRecord | null): Promise<number> {
    const code = await this.topic.write(this.partitionFor(group), [
      { key: groupKey(group), value: record === null ? null : groupValue(record) },
    ]);
    return code === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.UNKNOWN_SERVER_ERROR : code;
  }
}
