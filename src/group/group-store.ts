/**
 * GroupStore: committed offsets and group metadata, kept in the internal topic `__consumer_offsets`
 * (offsets.topic.num.partitions partitions, cleanup.policy=compact), each group on the partition
 * Kafka would choose (`abs(hashCode(group)) % partitions`). Writes go through the same log append as
 * produced records and, in durable mode, are acknowledged only once fsynced. At start-up the whole
 * topic is replayed to rebuild the state, before the listener opens.
 */
import type { Broker } from '../broker.js';
import * as native from '../native/index.js';
import { ErrorCode } from '../protocol/errors.js';
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

export interface LoadedState {
  offsets: Map<string, Map<string, CommittedOffset>>;
  groups: Map<string, GroupRecord>;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function splitTpKey(k: string): { topic: string; partition: number } {
  const i = k.lastIndexOf('\u0000');
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
}

export class GroupStore {
  readonly partitions: number;

  constructor(private readonly broker: Broker) {
    const existing = broker.topics.get(OFFSETS_TOPIC);
    if (existing !== undefined) {
      this.partitions = existing.partitions;
    } else {
      this.partitions = broker.config.num('offsets.topic.num.partitions');
      const r = broker.createTopic(OFFSETS_TOPIC, this.partitions, 1, {
        'cleanup.policy': 'compact',
        'segment.bytes': broker.config.get('offsets.topic.segment.bytes'),
      }, false, true);
      if (r.errorCode !== ErrorCode.NONE) throw new Error(`cannot create ${OFFSETS_TOPIC}: ${r.message}`);
    }
  }

  partitionFor(group: string): number {
    return offsetsPartitionFor(group, this.partitions);
  }

  /** Replays every partition of the topic. Later records win; null values delete. */
  load(): LoadedState {
    const state: LoadedState = { offsets: new Map(), groups: new Map() };
    for (let p = 0; p < this.partitions; p++) {
      const log = this.broker.partition(OFFSETS_TOPIC, p);
      if (log === undefined) continue;
      let at = log.logStartOffset;
      while (at < log.highWatermark) {
        const bytes = log.readBytes(at, 1 << 20);
        if (bytes.length === 0) break;
        const { batches } = decodeRecordBatches(bytes);
        if (batches.length === 0) break;
        for (const b of batches) {
          for (const rec of b.records) {
            if (rec.key !== null) this.apply(state, rec.key, rec.value);
          }
          at = b.baseOffset + b.lastOffsetDelta + 1;
        }
      }
    }
    return state;
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
      if (m === undefined) state.offsets.set(k.group, (m = new Map()));
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
    const log = this.broker.partition(OFFSETS_TOPIC, this.partitionFor(group));
    if (log === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const batch = encodeRecordBatch(records);
    // The offsets topic's max.message.bytes bounds what one group can store (huge member metadata).
    if (batch.length > log.config.maxMessageBytes) return ErrorCode.MESSAGE_TOO_LARGE;
    const v = native.validateBatches(batch, log.config.maxMessageBytes);
    if (v.errorCode !== ErrorCode.NONE) return ErrorCode.UNKNOWN_SERVER_ERROR;
    const r = log.append(batch, v.batches, this.broker.leaderEpoch);
    if (r.errorCode !== ErrorCode.NONE) {
      // Kafka maps storage failures of the offsets topic to a retriable coordinator error.
      return r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.COORDINATOR_NOT_AVAILABLE : r.errorCode;
    }
    if (log.config.durable) {
      try {
        await log.flushTo(r.lastOffset + 1);
      } catch {
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return ErrorCode.NONE;
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
    return this.write(group, tps.map((t) => ({ key: offsetKey(group, t.topic, t.partition), value: null })));
  }

  /** Kafka answers a group too large to store (huge member metadata) with UNKNOWN_SERVER_ERROR. */
  async storeGroup(group: string, record: GroupRecord | null): Promise<number> {
    const code = await this.write(group, [{ key: groupKey(group), value: record === null ? null : groupValue(record) }]);
    return code === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.UNKNOWN_SERVER_ERROR : code;
  }
}
