/**
 * ApiVersions (18), v0-4.
 *
 * Behavior: lists every API in the handler registry with the range we advertise. The response
 * header is always v0 (see protocol/header.ts). A request with a version we do not know is answered
 * in connection.ts with UNSUPPORTED_VERSION and a v0 body, as KIP-511 asks. From v3 the response
 * also carries the features franz implements (KIP-584), supported and finalized at the same level,
 * so that tools such as kafka-features.sh and clients that choose a protocol by feature (KIP-848's
 * group.version) see them.
 * Version notes: v1 adds throttle time; v3 is flexible, carries the client's software name, and
 * adds the (tagged) supported and finalized features.
 */
import { spec } from '../protocol/messages/18-api-versions.js';
import { defineHandler } from './registry.js';

/**
 * The features franz implements and the level it implements them at: group.version 1 is the
 * KIP-848 consumer group protocol (ConsumerGroupHeartbeat). transaction.version joins when
 * transactions land. Levels never change at run time, so the finalized epoch is fixed.
 */
export const FEATURES: ReadonlyArray<{ name: string; level: number }> = [{ name: 'group.version', level: 1 }];
const FINALIZED_EPOCH = 0;

export const apiVersions = defineHandler(spec, {
  versions: [0, 4],
  handle(ctx) {
    return {
      errorCode: 0,
      apiKeys: ctx.apiVersions(),
      throttleTimeMs: 0,
      supportedFeatures: FEATURES.map((f) => ({ name: f.name, minVersion: 0, maxVersion: f.level })),
      finalizedFeaturesEpoch: FINALIZED_EPOCH,
      finalizedFeatures: FEATURES.map((f) => ({ name: f.name, minVersionLevel: f.level, maxVersionLevel: f.level })),
    };
  },
});
