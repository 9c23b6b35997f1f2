/** Every API handler, one file per API named by key, and their registration. */
import { HandlerRegistry } from './registry.js';
import { produce } from './00-produce.js';
import { fetchHandler } from './01-fetch.js';
import { listOffsets } from './02-list-offsets.js';
import { metadata } from './03-metadata.js';
import { apiVersions } from './18-api-versions.js';
import { createTopics } from './19-create-topics.js';
import { deleteTopics } from './20-delete-topics.js';
import { deleteRecords } from './21-delete-records.js';
import { initProducerId } from './22-init-producer-id.js';
import { addPartitionsToTxn } from './24-add-partitions-to-txn.js';
import { addOffsetsToTxn } from './25-add-offsets-to-txn.js';
import { endTxn } from './26-end-txn.js';
import { writeTxnMarkers } from './27-write-txn-markers.js';
import { txnOffsetCommit } from './28-txn-offset-commit.js';
import { describeProducers } from './61-describe-producers.js';
import { describeTransactions } from './65-describe-transactions.js';
import { listTransactions } from './66-list-transactions.js';
import { offsetForLeaderEpoch } from './23-offset-for-leader-epoch.js';
import { electLeaders } from './43-elect-leaders.js';
import { alterPartitionReassignments } from './45-alter-partition-reassignments.js';
import { listPartitionReassignments } from './46-list-partition-reassignments.js';
import { describeConfigs } from './32-describe-configs.js';
import { alterConfigs } from './33-alter-configs.js';
import { describeLogDirs } from './35-describe-log-dirs.js';
import { createPartitions } from './37-create-partitions.js';
import { incrementalAlterConfigs } from './44-incremental-alter-configs.js';
import { describeCluster } from './60-describe-cluster.js';
import { offsetCommit } from './08-offset-commit.js';
import { offsetFetch } from './09-offset-fetch.js';
import { findCoordinator } from './10-find-coordinator.js';
import { joinGroup } from './11-join-group.js';
import { heartbeat } from './12-heartbeat.js';
import { leaveGroup } from './13-leave-group.js';
import { syncGroup } from './14-sync-group.js';
import { describeGroups } from './15-describe-groups.js';
import { listGroups } from './16-list-groups.js';
import { deleteGroups } from './42-delete-groups.js';
import { offsetDelete } from './47-offset-delete.js';
import { consumerGroupHeartbeat } from './68-consumer-group-heartbeat.js';
import { consumerGroupDescribe } from './69-consumer-group-describe.js';

/** The registry of every handler franz serves (each checked against its API's description). */
export function createRegistry(): HandlerRegistry {
  const r = new HandlerRegistry();
  // The data path and the broker's own.
  r.register(produce);
  r.register(fetchHandler);
  r.register(listOffsets);
  r.register(offsetForLeaderEpoch);
  r.register(metadata);
  r.register(apiVersions);
  r.register(initProducerId);
  // Admin APIs.
  r.register(createTopics);
  r.register(deleteTopics);
  r.register(deleteRecords);
  r.register(describeConfigs);
  r.register(alterConfigs);
  r.register(describeLogDirs);
  r.register(createPartitions);
  r.register(electLeaders);
  r.register(alterPartitionReassignments);
  r.register(listPartitionReassignments);
  r.register(incrementalAlterConfigs);
  r.register(describeCluster);
  // Consumer groups (classic protocol) and committed offsets.
  r.register(offsetCommit);
  r.register(offsetFetch);
  r.register(findCoordinator);
  r.register(joinGroup);
  r.register(heartbeat);
  r.register(leaveGroup);
  r.register(syncGroup);
  r.register(describeGroups);
  r.register(listGroups);
  r.register(deleteGroups);
  r.register(offsetDelete);
  // Consumer groups with the KIP-848 consumer protocol.
  r.register(consumerGroupHeartbeat);
  r.register(consumerGroupDescribe);
  // Transactions.
  r.register(addPartitionsToTxn);
  r.register(addOffsetsToTxn);
  r.register(endTxn);
  r.register(writeTxnMarkers);
  r.register(txnOffsetCommit);
  r.register(describeProducers);
  r.register(describeTransactions);
  r.register(listTransactions);
  return r;
}
