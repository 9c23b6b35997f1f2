/**
 * The data plane: Produce, ListOffsets and Fetch, each split by partition leader and sent to every
 * leader at once.
 *
 * Produce and ListOffsets answer per partition and are retried for the partitions whose leader
 * moved or is not yet known (`perLeader`); Fetch returns partition errors to the caller, who
 * decides (OFFSET_OUT_OF_RANGE is not a reason to retry). No idempotent or transactional producing.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec as produceSpec } from '../protocol/messages/00-produce.js';
import { spec as fetchSpec } from '../protocol/messages/01-fetch.js';
import { spec as listOffsetsSpec } from '../protocol/messages/02-list-offsets.js';
import type { DecodedResponse, Elem } from '../protocol/schema.js';
import { Compression, decodeRecordBatches, encodeRecordBatch, type KafkaRecord, type RecordInput } from '../records/record-batch.js';
import { KafkaError, type BrokerConnection } from './connection.js';
import { RETRIABLE_WITH_METADATA, type Cluster } from './metadata.js';
import type { FetchedPartition, FetchOptions, OffsetAnswer, ProduceOptions, TopicMetadata } from './types.js';

/** One partition's part of a leader's answer. */
interface PartitionAnswer<T> {
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage?: string | null;
  /** The partition's result, when errorCode is NONE. */
  readonly value: T;
}

type FetchedTopic = Elem<DecodedResponse<typeof fetchSpec>['responses']>;

/** Records of a fetched partition at or after `from`, and the offset to fetch next. */
function readRecords(
  p: Elem<FetchedTopic['partitions']>,
  from: number,
): { records: KafkaRecord[]; controlRecords: KafkaRecord[]; nextOffset: number; truncated: boolean } {
  const records: KafkaRecord[] = [];
  const controlRecords: KafkaRecord[] = [];
  let nextOffset = from;
  if (p.errorCode !== ErrorCode.NONE || p.records === null || p.records.length === 0) {
    return { records, controlRecords, nextOffset, truncated: false };
  }
  const { batches, partialBytes } = decodeRecordBatches(p.records);
  for (const b of batches) {
    const end = b.baseOffset + b.lastOffsetDelta + 1;
    if (end > nextOffset) nextOffset = end;
    const into = b.control ? controlRecords : records;
    for (const r of b.records) if (r.offset >= from) into.push(r);
  }
  return { records, controlRecords, nextOffset, truncated: batches.length === 0 && partialBytes > 0 };
}

export class DataPlane {
  constructor(private readonly cluster: Cluster) {}

  /**
   * Asks each leader about the partitions it leads that have no answer yet and collects the
   * per-partition answers. A leader-related error code on a partition refreshes the topic's
   * metadata and asks again for what is missing (Cluster.withLeaderRetry); any other error code is
   * thrown as a KafkaError naming `what` and the partition.
   */
  private perLeader<T>(
    topicName: string,
    partitions: readonly number[],
    opts: { readonly allowAutoCreate: boolean; readonly what: string },
    ask: (c: BrokerConnection, partitions: readonly number[]) => Promise<Iterable<PartitionAnswer<T>>>,
  ): Promise<Map<number, T>> {
    const done = new Map<number, T>();
    return this.cluster.withLeaderRetry(topicName, opts.allowAutoCreate, async (topic) => {
      const todo = partitions.filter((p) => !done.has(p));
      const leaders = await this.cluster.byLeader(topic, todo);
      let retriable: number | null = null;
      await Promise.all(
        [...leaders].map(async ([c, ps]) => {
          for (const a of await ask(c, ps)) {
            if (a.errorCode === ErrorCode.NONE) done.set(a.partition, a.value);
            else if (RETRIABLE_WITH_METADATA.has(a.errorCode)) retriable = a.errorCode;
            else throw new KafkaError(a.errorCode, `${opts.what} ${topicName}-${a.partition}`, a.errorMessage);
          }
        }),
      );
      const missing = partitions.find((p) => !done.has(p));
      // A retriable code makes withLeaderRetry ask again for what is missing.
      if (missing !== undefined) throw new KafkaError(retriable ?? ErrorCode.UNKNOWN_SERVER_ERROR, `${opts.what} ${topicName}-${missing}`);
      return done;
    });
  }

  /**
   * Produces one batch per partition (acks=-1 by default) and resolves with each partition's base
   * offset (-1 for acks=0). Creates the topic if the broker auto-creates topics.
   */
  produce(
    topicName: string,
    byPartition: ReadonlyMap<number, readonly RecordInput[]>,
    opts: ProduceOptions = {},
  ): Promise<Map<number, number>> {
    const acks = opts.acks ?? -1;
    const compression = opts.compression ?? Compression.none;
    const batches = new Map<number, Buffer>();
    for (const [p, records] of byPartition) if (records.length > 0) batches.set(p, encodeRecordBatch(records, { compression }));
    return this.perLeader(topicName, [...batches.keys()], { allowAutoCreate: true, what: 'produce to' }, async (c, partitions) => {
      const body = {
        acks,
        timeoutMs: opts.timeoutMs ?? 30_000,
        topicData: [{ name: topicName, partitionData: partitions.map((index) => ({ index, records: batches.get(index)! })) }],
      };
      if (acks === 0) {
        c.requestNoResponse(produceSpec, body);
        return partitions.map((partition) => ({ partition, errorCode: ErrorCode.NONE, value: -1 }));
      }
      const res = await c.request(produceSpec, body);
      return res.responses.flatMap((t) =>
        t.partitionResponses.map((pr) => ({
          partition: pr.index,
          errorCode: pr.errorCode,
          errorMessage: pr.errorMessage,
          value: pr.baseOffset,
        })),
      );
    });
  }

  /**
   * ListOffsets: for each partition, the first offset whose timestamp is >= `timestamp`, or the
   * earliest (-2) or latest (-1) offset. An offset of -1 means no record is that recent.
   */
  listOffsets(topicName: string, partitions: readonly number[], timestamp: number): Promise<Map<number, OffsetAnswer>> {
    return this.perLeader(topicName, partitions, { allowAutoCreate: false, what: 'list offsets of' }, async (c, ps) => {
      const res = await c.request(listOffsetsSpec, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topicName, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) }],
        timeoutMs: 30_000,
      });
      return res.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          partition: p.partitionIndex,
          errorCode: p.errorCode,
          value: { offset: p.offset, timestamp: p.timestamp },
        })),
      );
    });
  }

  /**
   * One Fetch round for the given partitions (partition -> offset), sent to each leader. Partition
   * errors are returned in `errorCode`, not thrown, so the caller decides (e.g. OFFSET_OUT_OF_RANGE).
   */
  async fetch(topicName: string, positions: ReadonlyMap<number, number>, opts: FetchOptions = {}): Promise<FetchedPartition[]> {
    const topic = await this.cluster.topic(topicName);
    const leaders = await this.cluster.byLeader(topic, positions.keys());
    const results = await Promise.all([...leaders].map(([c, ps]) => this.fetchFrom(c, topic, ps, positions, opts)));
    return results.flat().sort((a, b) => a.partition - b.partition);
  }

  private async fetchFrom(
    c: BrokerConnection,
    topic: TopicMetadata,
    partitions: readonly number[],
    positions: ReadonlyMap<number, number>,
    opts: FetchOptions,
  ): Promise<FetchedPartition[]> {
    // Fetch v13+ names topics by id only.
    const byId = c.version(fetchSpec) >= 13;
    const res = await c.request(fetchSpec, {
      maxWaitMs: opts.maxWaitMs ?? 500,
      minBytes: opts.minBytes ?? 1,
      maxBytes: opts.maxBytes ?? 50 * 1024 * 1024,
      isolationLevel: 0,
      topics: [
        {
          topic: topic.name,
          topicId: topic.topicId,
          partitions: partitions.map((partition) => ({
            partition,
            fetchOffset: positions.get(partition)!,
            partitionMaxBytes: opts.partitionMaxBytes ?? 1024 * 1024,
          })),
        },
      ],
    });
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `fetch from ${topic.name}`);
    const out: FetchedPartition[] = [];
    for (const t of res.responses) {
      if (byId ? t.topicId !== topic.topicId : t.topic !== topic.name) continue;
      for (const p of t.partitions) {
        const from = positions.get(p.partitionIndex);
        if (from === undefined) continue;
        out.push({
          partition: p.partitionIndex,
          errorCode: p.errorCode,
          highWatermark: p.highWatermark,
          logStartOffset: p.logStartOffset,
          ...readRecords(p, from),
        });
      }
    }
    return out;
  }
}
