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
import type { BrokerConfig } from '../config.js';
import { spec } from '../protocol/messages/18-api-versions.js';
import { defineHandler } from './registry.js';

/**
 * The features franz implements, at the highest level it supports and the level finalized for
 * clients: group.version 1 is the KIP-848 consumer group protocol (ConsumerGroupHeartbeat);
 * transaction.version 2 is KIP-890's transactions v2 (Produce v12, TxnOffsetCommit v5 and EndTxn
 * v5 with an epoch bump per transaction), finalized at `franz.transaction.version` (default 2; a
 * Java client 4.x uses v2 only when it is finalized). Levels never change while a broker runs, so
 * the finalized epoch is fixed.
 */
export function features(config: BrokerConfig): Array<{ name: string; supported: number; finalized: number }> {
  return [
    { name: 'group.version', supported: 1, finalized: 1 },
    { name: 'transaction.version', supported: 2, finalized: config.num('franz.transaction.version') },
  ];
}
const FINALIZED_EPOCH = 0;

export const apiVersions = defineHandler(spec, {
  versions: [0, 4],
  handle(ctx) {
    const list = features(ctx.config);
    return {
      errorCode: 0,
      apiKeys: ctx.apiVersions(),
      throttleTimeMs: 0,
      supportedFeatures: list.map((f) => ({ name: f.name, minVersion: 0, maxVersion: f.supported })),
      finalizedFeaturesEpoch: FINALIZED_EPOCH,
      // A level of 0 is not finalized at all, as Kafka lists it.
      finalizedFeatures: list
        .filter((f) => f.finalized > 0)
        .map((f) => ({ name: f.name, minVersionLevel: f.finalized, maxVersionLevel: f.finalized })),
    };
  },
});
