/**
 * ApiVersions (18), v0-4.
 *
 * Behavior: lists every API in the handler registry with the range we advertise. The response
 * header is always v0 (see protocol/header.ts). A request with a version we do not know is answered
 * in connection.ts with UNSUPPORTED_VERSION and a v0 body, as KIP-511 asks.
 * Version notes: v1 adds throttle time; v3 is flexible and carries the client's software name.
 */
import type { Handler } from './registry.js';

export const apiVersions: Handler = {
  apiKey: 18,
  versions: [0, 4],
  handle(ctx) {
    return {
      errorCode: 0,
      apiKeys: ctx.broker.registry.apiVersions(),
      throttleTimeMs: 0,
    };
  },
};
