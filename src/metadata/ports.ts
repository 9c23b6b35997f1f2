/**
 * The narrow interfaces through which handlers and the group coordinator reach broker state.
 * Each names what one kind of caller needs and no more, so that a handler or a coordinator can be
 * built and tested against small fakes, and so that the cluster mode can put other implementations
 * (etcd-backed topics, replicated partitions) behind the same names.
 *
 * Implemented by TopicManager (topics, partition logs, log dirs), ProducerIdManager (producer ids)
 * and the Broker (cluster identity); wired together in src/broker.ts.
 */
import type { ConfigSource } from '../config.js';
import type { Log } from '../storage/log.js';
import type { TopicInfo } from './topics.js';

/** The partition logs this node leads. */
export interface PartitionLogs {
  /** The leader epoch of a partition this node leads (a single node never changes leaders: 0). */
  leaderEpochOf(topic: string, partition: number): number;
  /** The open log of a partition this node leads, or undefined (unknown, led elsewhere, or its log is still being made). */
  partition(topic: string, partition: number): Log | undefined;
  /** The error for a partition that partition() did not find (see TopicManager). */
  missingPartitionError(topic: string, partition: number): number;
  /** Persists every log's start offset and recovery point (after DeleteRecords moved a start). */
  writeCheckpoints(): Promise<void>;
  /** True when acks=all waits for other replicas (the high watermark), not only for this log. */
  readonly replicated: boolean;
  /** Before an acks=all append: NOT_ENOUGH_REPLICAS when the ISR is below min.insync.replicas, else NONE. */
  acksAllError(topic: string, partition: number): number;
  /** A follower fetched a partition this node leads from `fetchOffset` (its log end offset). */
  followerFetched(topic: string, partition: number, replicaId: number, fetchOffset: number): void;
}

/** Reading the topic registry. */
export interface TopicLookup {
  get(name: string): TopicInfo | undefined;
  getById(id: string): TopicInfo | undefined;
  list(): TopicInfo[];
}

/** How a creation ended: Kafka's error code and message. */
export interface Outcome {
  errorCode: number;
  message: string | null;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: ConfigSource;
  readOnly: boolean;
  sensitive: boolean;
}

/** Topic lifecycle and topic configs, for the admin handlers. */
export interface TopicAdmin extends TopicLookup {
  /** Validates and creates a topic with its logs before returning (auto-creation, validateOnly). */
  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly?: boolean,
  ): Outcome & { topic?: TopicInfo };
  /** Validates and registers a topic at once; its logs are made in the background (`ready`). */
  createTopicAsync(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): Outcome & { topic?: TopicInfo; ready?: Promise<Outcome> };
  /** Creates a topic on first use when auto.create.topics.enable is on. */
  autoCreate(name: string): TopicInfo | undefined;
  deleteTopic(name: string): number;
  addPartitions(name: string, count: number): Promise<Outcome>;
  setTopicConfigs(name: string, configs: Record<string, string>): void;
  /**
   * ElectLeaders: elects the preferred (type 0) or any live (type 1, unclean) replica for each
   * partition, or for every partition that needs it when `partitions` is null (then only those
   * are reported).
   */
  electLeaders(electionType: number, partitions: ReadonlyArray<PartitionRef> | null): Promise<ElectionResult[]>;
  /**
   * AlterPartitionReassignments: starts moving each partition to its target replicas (null
   * cancels a move in progress); `allowRfChange` false refuses targets of another size (KIP-860).
   */
  alterPartitionReassignments(
    changes: ReadonlyArray<PartitionRef & { replicas: readonly number[] | null }>,
    allowRfChange: boolean,
  ): Promise<ElectionResult[]>;
  /** ListPartitionReassignments: the moves in progress, of the partitions asked for (null: all). */
  listPartitionReassignments(partitions: ReadonlyArray<PartitionRef> | null): Reassignment[];
  describeTopicConfigs(t: TopicInfo): ConfigEntry[];
}

/** Creating the internal topics a coordinator keeps its state in. */
export interface InternalTopics extends TopicLookup {
  /** `replicationFactor` is a cluster's (a single node keeps one replica). */
  createInternalTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Outcome;
}

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** What became of one partition of an election or reassignment request. */
export interface ElectionResult extends PartitionRef {
  errorCode: number;
  message: string | null;
}

/** A partition move in progress: every replica it has now, those being added and those leaving. */
export interface Reassignment extends PartitionRef {
  replicas: readonly number[];
  adding: readonly number[];
  removing: readonly number[];
}

/** The producer-id allocator (InitProducerId): ids unique across the cluster and across restarts. */
export interface ProducerIds {
  /** A new id, or null while none is at hand (a cluster broker fetching its next block): retry. */
  allocate(): number | null;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface BrokerEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** Where a partition's replicas are, and which one leads. */
export interface ReplicaState {
  /** -1 when no replica can lead. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Replicas on brokers that are gone (or, on a single node, whose log failed). */
  readonly offline: readonly number[];
  /** Leaderless because the leader's log failed (KAFKA_STORAGE_ERROR rather than LEADER_NOT_AVAILABLE). */
  readonly storageFailed?: boolean;
}

/** Who this node is, where clients reach it, and what it knows of the other brokers. */
export interface ClusterInfo {
  readonly nodeId: number;
  readonly clusterId: string;
  /** The address listened on. */
  readonly listener: Endpoint;
  /** The address given to clients (Metadata, FindCoordinator, DescribeCluster). */
  readonly advertised: Endpoint;
  /** The controller's id (-1 while there is none). */
  readonly controllerId: number;
  /** Every live broker, this one included, by id. */
  brokers(): BrokerEndpoint[];
  /** The replicas of a partition the topic registry has (undefined otherwise). */
  replicaState(topic: string, partition: number): ReplicaState | undefined;
}

/** The log directories (DescribeLogDirs). */
export interface LogDirs {
  /** The data directory (absolute path) and its disk space; -1 where statfs fails. */
  describe(): { path: string; totalBytes: number; usableBytes: number };
}
