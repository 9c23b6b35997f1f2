import type { ApiSpec } from '../schema.js';
import { spec as produce } from './00-produce.js';
import { spec as fetch } from './01-fetch.js';
import { spec as listOffsets } from './02-list-offsets.js';
import { spec as metadata } from './03-metadata.js';
import { spec as apiVersions } from './18-api-versions.js';
import { spec as createTopics } from './19-create-topics.js';
import { spec as deleteTopics } from './20-delete-topics.js';
import { spec as deleteRecords } from './21-delete-records.js';
import { spec as initProducerId } from './22-init-producer-id.js';
import { spec as describeConfigs } from './32-describe-configs.js';
import { spec as alterConfigs } from './33-alter-configs.js';
import { spec as describeLogDirs } from './35-describe-log-dirs.js';
import { spec as createPartitions } from './37-create-partitions.js';
import { spec as incrementalAlterConfigs } from './44-incremental-alter-configs.js';
import { spec as describeCluster } from './60-describe-cluster.js';

/** Every API description we carry, sorted by apiKey. */
export const specs: readonly ApiSpec[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  initProducerId,
  describeConfigs,
  alterConfigs,
  describeLogDirs,
  createPartitions,
  incrementalAlterConfigs,
  describeCluster,
];
