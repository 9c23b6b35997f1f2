/** Registers every API handler. One file per API, named by key. */
import type { HandlerRegistry } from './registry.js';
import { produce } from './00-produce.js';
import { fetchHandler } from './01-fetch.js';
import { listOffsets } from './02-list-offsets.js';
import { metadata } from './03-metadata.js';
import { apiVersions } from './18-api-versions.js';
import { initProducerId } from './22-init-producer-id.js';

export function registerAll(r: HandlerRegistry): void {
  for (const h of [produce, fetchHandler, listOffsets, metadata, apiVersions, initProducerId]) r.register(h);
}
