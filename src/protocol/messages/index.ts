import { spec as produce } from './00-produce.js';
import { spec as fetch } from './01-fetch.js';
import { spec as listOffsets } from './02-list-offsets.js';
import { spec as metadata } from './03-metadata.js';
import { spec as offsetCommit } from './08-offset-commit.js';
import { spec as offsetFetch } from './09-offset-fetch.js';
import { spec as findCoordinator } from './10-find-coordinator.js';
import { spec as joinGroup } from './11-join-group.js';
import { spec as heartbeat } from './12-heartbeat.js';
import { spec as leaveGroup } from './13-leave-group.js';
import { spec as syncGroup } from './14-sync-group.js';
import { spec as describeGroups } from './15-describe-groups.js';
import { spec as listGroups } from './16-list-groups.js';
import { spec as apiVersions } from './18-api-versions.js';
import { spec as createTopics } from './19-create-topics.js';
import { spec as deleteTopics } from './20-delete-topics.js';
import { spec as deleteRecords } from './21-delete-records.js';
import { spec as initProducerId } from './22-init-producer-id.js';
import { spec as offsetForLeaderEpoch } from './23-offset-for-leader-epoch.js';
import { spec as addPartitionsToTxn } from './24-add-partitions-to-txn.js';
import { spec as addOffsetsToTxn } from './25-add-offsets-to-txn.js';
import { spec as endTxn } from './26-end-txn.js';
import { spec as writeTxnMarkers } from './27-write-txn-markers.js';
import { spec as txnOffsetCommit } from './28-txn-offset-commit.js';
import { spec as describeConfigs } from './32-describe-configs.js';
import { spec as alterConfigs } from './33-alter-configs.js';
import { spec as describeLogDirs } from './35-describe-log-dirs.js';
import { spec as createPartitions } from './37-create-partitions.js';
import { spec as deleteGroups } from './42-delete-groups.js';
import { spec as electLeaders } from './43-elect-leaders.js';
import { spec as incrementalAlterConfigs } from './44-incremental-alter-configs.js';
import { spec as alterPartitionReassignments } from './45-alter-partition-reassignments.js';
import { spec as listPartitionReassignments } from './46-list-partition-reassignments.js';
import { spec as offsetDelete } from './47-offset-delete.js';
import { spec as describeCluster } from './60-describe-cluster.js';
import { spec as describeProducers } from './61-describe-producers.js';
import { spec as describeTransactions } from './65-describe-transactions.js';
import { spec as listTransactions } from './66-list-transactions.js';
import { spec as consumerGroupHeartbeat } from './68-consumer-group-heartbeat.js';
import { spec as consumerGroupDescribe } from './69-consumer-group-describe.js';

/**
 * Every API description we carry, sorted by apiKey: the one list of APIs. The handler registry
 * checks its handlers against it, ApiVersions is derived from the registry, and the client's
 * `ApiKey` names come from here.
 */
export const specs = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  initProducerId,
  offsetForLeaderEpoch,
  addPartitionsToTxn,
  addOffsetsToTxn,
  endTxn,
  writeTxnMarkers,
  txnOffsetCommit,
  describeConfigs,
  alterConfigs,
  describeLogDirs,
  createPartitions,
  deleteGroups,
  electLeaders,
  incrementalAlterConfigs,
  alterPartitionReassignments,
  listPartitionReassignments,
  offsetDelete,
  describeCluster,
  describeProducers,
  describeTransactions,
  listTransactions,
  consumerGroupHeartbeat,
  consumerGroupDescribe,
] as const;

export type AnySpec = (typeof specs)[number];
export type ApiName = AnySpec['name'];

/** The description of the API named `N` (Kafka's name: 'Produce', 'Fetch', ...). */
export type SpecNamed<N extends ApiName> = Extract<AnySpec, { readonly name: N }>;

/** API keys by Kafka's API name: `ApiKey.Produce === 0`. */
export const ApiKey = Object.fromEntries(specs.map((s) => [s.name, s.apiKey])) as {
  readonly [S in AnySpec as S['name']]: S['apiKey'];
};

const byKey = new Map<number, AnySpec>(specs.map((s) => [s.apiKey, s]));

/** The description of an API key, if we carry one. */
export function specForKey(apiKey: number): AnySpec | undefined {
  return byKey.get(apiKey);
}
