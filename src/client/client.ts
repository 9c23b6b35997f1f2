/**
 * A small Kafka client built on franz's own protocol codecs, for the `franz` client commands, the
 * tests and the bench. This file is its entry point: `Client` is the one object users hold, and
 * its methods hand each job to the module that does it:
 *
 * - connection.ts: one TCP connection per broker, correlation, ApiVersions negotiation, errors;
 * - metadata.ts:   connections by broker, the metadata cache, routing to partition leaders;
 * - admin.ts:      topics and configs;
 * - groups.ts:     consumer-group administration, through each group's coordinator;
 * - data.ts:       produce, list offsets, fetch;
 * - types.ts:      the records the client takes and returns.
 *
 * Errors: Kafka error codes in responses become a thrown KafkaError carrying the code and its name;
 * transport problems become a ClientError with a stable `code` (see connection.ts).
 *
 * Scope: a single cluster. The client can inspect and administer consumer groups but does not join
 * them; no idempotent or transactional producing.
 */
import { TransactionTools } from './transactions.js';
import { ListOffsetsTimestamp } from '../protocol/constants.js';
import type { RecordInput } from '../records/record-batch.js';
import { Admin } from './admin.js';
import type { BrokerConnection } from './connection.js';
import { DataPlane } from './data.js';
import { Groups } from './groups.js';
import { Cluster } from './metadata.js';
import type {
  AlterOp,
  BrokerMetadata,
  ClientOptions,
  ClusterMetadata,
  CommitOptions,
  CommittedOffset,
  ConfigEntry,
  ConsumerGroupDescription,
  DeleteGroupResult,
  FetchedPartition,
  FetchOptions,
  GroupDescription,
  GroupListing,
  NewTopic,
  OffsetAnswer,
  OffsetToCommit,
  PartitionMove,
  ProduceOptions,
  TopicMetadata,
  TopicPartitions,
} from './types.js';

export { BrokerConnection, ClientError, KafkaError, type ClientErrorCode } from './connection.js';
export { ApiKey } from '../protocol/messages/index.js';
export { ResourceType, ConfigSourceId } from '../protocol/constants.js';
export type * from './types.js';

/** ListOffsets: the high watermark. */
export const LATEST_TIMESTAMP = ListOffsetsTimestamp.LATEST;
/** ListOffsets: the log start offset. */
export const EARLIEST_TIMESTAMP = ListOffsetsTimestamp.EARLIEST;

/** A client of one Kafka cluster. */
export class Client {
  private readonly cluster: Cluster;
  private readonly admin: Admin;
  private readonly groups: Groups;
  private readonly data: DataPlane;
  /** Transaction tooling (transactions.ts): list, describe, describeProducers, abort. */
  readonly transactions: TransactionTools;

  constructor(opts: ClientOptions) {
    this.cluster = new Cluster(opts);
    this.admin = new Admin(this.cluster);
    this.groups = new Groups(this.cluster);
    this.data = new DataPlane(this.cluster);
    this.transactions = new TransactionTools(this.cluster);
  }

  /** The connection used for cluster-wide requests (metadata, admin). */
  connection(): Promise<BrokerConnection> {
    return this.cluster.connection();
  }

  /** True when the bootstrap broker serves this API at a version both sides know. */
  async supports(apiKey: number): Promise<boolean> {
    return (await this.cluster.connection()).supports(apiKey);
  }

  close(): Promise<void> {
    return this.cluster.close();
  }

  // Metadata (metadata.ts)

  metadata(topics: readonly string[] | null, opts: { allowAutoCreate?: boolean } = {}): Promise<ClusterMetadata> {
    return this.cluster.metadata(topics, opts);
  }

  topic(name: string, opts: { allowAutoCreate?: boolean; refresh?: boolean } = {}): Promise<TopicMetadata> {
    return this.cluster.topic(name, opts);
  }

  // Admin (admin.ts)

  createTopics(topics: readonly NewTopic[], opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    return this.admin.createTopics(topics, opts);
  }

  createPartitions(topic: string, count: number, opts: { timeoutMs?: number } = {}): Promise<void> {
    return this.admin.createPartitions(topic, count, opts);
  }

  deleteTopics(names: readonly string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    return this.admin.deleteTopics(names, opts);
  }

  describeConfigs(resourceType: number, name: string, keys: readonly string[] | null = null): Promise<ConfigEntry[]> {
    return this.admin.describeConfigs(resourceType, name, keys);
  }

  listPartitionReassignments(): Promise<PartitionMove[]> {
    return this.admin.listPartitionReassignments();
  }

  incrementalAlterConfigs(
    resourceType: number,
    name: string,
    ops: readonly AlterOp[],
    opts: { validateOnly?: boolean } = {},
  ): Promise<void> {
    return this.admin.incrementalAlterConfigs(resourceType, name, ops, opts);
  }

  // Consumer groups (groups.ts)

  findCoordinator(groupId: string, opts: { refresh?: boolean } = {}): Promise<BrokerMetadata> {
    return this.groups.findCoordinator(groupId, opts);
  }

  listGroups(opts: { states?: readonly string[] } = {}): Promise<GroupListing[]> {
    return this.groups.listGroups(opts);
  }

  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return this.groups.describeGroups(groupIds);
  }

  consumerGroupDescribe(groupIds: readonly string[]): Promise<ConsumerGroupDescription[]> {
    return this.groups.consumerGroupDescribe(groupIds);
  }

  offsetFetch(groupId: string, topics: readonly TopicPartitions[] | null = null): Promise<CommittedOffset[]> {
    return this.groups.offsetFetch(groupId, topics);
  }

  offsetCommit(groupId: string, offsets: readonly OffsetToCommit[], opts: CommitOptions = {}): Promise<void> {
    return this.groups.offsetCommit(groupId, offsets, opts);
  }

  deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    return this.groups.deleteGroups(groupIds);
  }

  // Data plane (data.ts)

  produce(
    topicName: string,
    byPartition: ReadonlyMap<number, readonly RecordInput[]>,
    opts: ProduceOptions = {},
  ): Promise<Map<number, number>> {
    return this.data.produce(topicName, byPartition, opts);
  }

  listOffsets(topicName: string, partitions: readonly number[], timestamp: number): Promise<Map<number, OffsetAnswer>> {
    return this.data.listOffsets(topicName, partitions, timestamp);
  }

  fetch(topicName: string, positions: ReadonlyMap<number, number>, opts: FetchOptions = {}): Promise<FetchedPartition[]> {
    return this.data.fetch(topicName, positions, opts);
  }
}
