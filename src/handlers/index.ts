/** Registers every API handler. One file per API, named by key. */
import type { HandlerRegistry } from './registry.js';
import { produce } from './00-produce.js';
import { fetchHandler } from './01-fetch.js';
import { listOffsets } from './02-list-offsets.js';
import { metadata } from './03-metadata.js';
import { apiVersions } from './18-api-versions.js';
import { createTopics } from './19-create-topics.js';
import { deleteTopics } from './20-delete-topics.js';
import { deleteRecords } from './21-delete-records.js';
import { initProducerId } from './22-init-producer-id.js';
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

export function registerAll(r: HandlerRegistry): void {
  for (const h of [produce, fetchHandler, listOffsets, metadata, apiVersions, initProducerId]) r.register(h);
  // Admin APIs.
  for (const h of [
    createTopics,
    deleteTopics,
    deleteRecords,
    describeConfigs,
    alterConfigs,
    describeLogDirs,
    createPartitions,
    incrementalAlterConfigs,
    describeCluster,
  ]) {
    r.register(h);
  }
  // Consumer groups (classic protocol) and committed offsets.
  for (const h of [
    offsetCommit,
    offsetFetch,
    findCoordinator,
    joinGroup,
    heartbeat,
    leaveGroup,
    syncGroup,
    describeGroups,
    listGroups,
    deleteGroups,
    offsetDelete,
  ]) {
    r.register(h);
  }
  // Consumer groups with the KIP-848 consumer protocol.
  for (const h of [consumerGroupHeartbeat, consumerGroupDescribe]) r.register(h);
}
