/**
 * What the client hands back and takes in: plain read-only records, free of the wire format (the
 * helpers in metadata.ts, admin.ts, groups.ts and data.ts translate from the protocol's messages).
 */
import type { CompressionCodec, KafkaRecord } from '../records/record-batch.js';

export interface ConnectionOptions {
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * Read responses into one buffer the connection keeps and reuses (socket reads into a fixed
   * scratch buffer, frames into a buffer that only grows): no allocation per response, so a
   * stream of large responses puts no pressure on V8's garbage collector. A response's bytes
   * (records fields included) are then valid only until the next response arrives: for callers
   * with one request in flight that are done with a response before they send the next request
   * (a replica fetcher).
   */
  reuseResponseBuffers?: boolean;
}

export interface ClientOptions extends ConnectionOptions {
  /** Bootstrap addresses, HOST:PORT, tried in order. */
  brokers: readonly string[];
  /** Attempts for a request whose partition leader is not (yet) available. */
  retries?: number;
  retryBackoffMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Metadata

export interface PartitionMetadata {
  readonly partition: number;
  readonly errorCode: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly errorCode: number;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionMetadata[];
}

export interface BrokerMetadata {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface ClusterMetadata {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: readonly BrokerMetadata[];
  readonly topics: readonly TopicMetadata[];
}

// ---------------------------------------------------------------------------------------------
// Admin

export interface NewTopic {
  readonly name: string;
  /** -1 (the default) lets the broker choose (CreateTopics v4+). */
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** Where the value comes from: a ConfigSourceId (-1 from a broker too old to say). */
  readonly source: number;
  /** Kafka's name of the source, e.g. DYNAMIC_TOPIC_CONFIG. */
  readonly sourceName: string;
  readonly sensitive: boolean;
}

export type AlterOp =
  | { readonly op: 'set'; readonly name: string; readonly value: string }
  | { readonly op: 'delete'; readonly name: string };

// ---------------------------------------------------------------------------------------------
// Data plane

export interface OffsetAnswer {
  readonly offset: number;
  readonly timestamp: number;
}

export interface FetchedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Records at or after the requested offset, control batches left out. */
  readonly records: KafkaRecord[];
  /** The records of control batches (transaction markers, franz's delay records), for tools. */
  readonly controlRecords: KafkaRecord[];
  /** The offset to fetch next (past every batch seen, control batches included). */
  readonly nextOffset: number;
  /** True when the answer held only part of a batch: ask again with a larger partitionMaxBytes. */
  readonly truncated: boolean;
}

export interface FetchOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
}

export interface ProduceOptions {
  compression?: CompressionCodec;
  /** -1 (all, the default), 1 or 0. */
  acks?: number;
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Consumer groups

export interface GroupListing {
  readonly groupId: string;
  /** "consumer" for consumer groups, "" for groups that only hold committed offsets. */
  readonly protocolType: string;
  /** Kafka's state name (ListGroups v4+), or null from an older broker. */
  readonly state: string | null;
  /** "classic" or "consumer" (ListGroups v5+), or null from an older broker. */
  readonly type: string | null;
}

export interface GroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** The member's metadata for the group's protocol (a consumer subscription for consumers). */
  readonly metadata: Buffer;
  /** Its assignment (a consumer assignment for consumers); empty until the group is Stable. */
  readonly assignment: Buffer;
}

export interface GroupDescription {
  readonly groupId: string;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable or Dead (a group the broker does not know). */
  readonly state: string;
  readonly protocolType: string;
  /** The chosen protocol, e.g. the assignor's name; "" while there is none. */
  readonly protocol: string;
  readonly members: readonly GroupMember[];
  /** The coordinator's node id. */
  readonly coordinator: number;
}

export interface ConsumerGroupMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly memberEpoch: number;
  readonly clientId: string;
  readonly clientHost: string;
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  /** What the member owns now. */
  readonly assignment: readonly TopicPartitions[];
  /** What the coordinator wants it to own once it has reconciled. */
  readonly targetAssignment: readonly TopicPartitions[];
}

/** A KIP-848 consumer group, from ConsumerGroupDescribe. */
export interface ConsumerGroupDescription {
  readonly groupId: string;
  /** Empty, Assigning, Reconciling, Stable, or Dead when the broker has no such consumer group. */
  readonly state: string;
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly assignor: string;
  readonly members: readonly ConsumerGroupMember[];
  readonly coordinator: number;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch?: number;
  readonly metadata?: string | null;
}

export interface CommitOptions {
  /** -1 with member id "" (the defaults) is a commit from outside the group, accepted while it has no members. */
  readonly generationId?: number;
  readonly memberId?: string;
  readonly groupInstanceId?: string | null;
}

export interface DeleteGroupResult {
  readonly groupId: string;
  /** Kafka's error code, 0 when the group was deleted (e.g. NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND). */
  readonly errorCode: number;
}

/** A partition move in progress (ListPartitionReassignments). */
export interface PartitionMove {
  topic: string;
  partition: number;
  replicas: readonly number[];
  adding: readonly number[];
  removing: readonly number[];
}
