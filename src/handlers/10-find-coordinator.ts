/**
 * FindCoordinator (10), v0-6.
 *
 * Behavior: this broker coordinates every group and transactional id, so the answer is always
 * this node. Key type 0 is a group, 1 a transactional id; share groups (2) are not supported
 * (INVALID_REQUEST). An empty group id is INVALID_GROUP_ID, as in Kafka.
 * Version notes: v1 adds key type and error message; v3 flexible; v4 batches several keys.
 */
import type { Broker } from '../broker.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Handler } from './registry.js';

function lookup(broker: Broker, key: string, keyType: number): { errorCode: number; errorMessage: string | null } {
  if (keyType !== 0 && keyType !== 1) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `key type ${keyType} is not supported` };
  if (keyType === 0 && key === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'the group id is empty' };
  void broker;
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

export const findCoordinator: Handler = {
  apiKey: 10,
  versions: [0, 6],
  handle(ctx, req) {
    const { broker } = ctx;
    const node = { nodeId: broker.nodeId, host: broker.advertisedHost, port: broker.advertisedPort };
    const keyType = req.keyType as number;
    if (ctx.version >= 4) {
      return {
        throttleTimeMs: 0,
        coordinators: (req.coordinatorKeys as string[]).map((key) => {
          const r = lookup(broker, key, keyType);
          return r.errorCode === ErrorCode.NONE ? { key, ...node, ...r } : { key, nodeId: -1, host: '', port: -1, ...r };
        }),
      };
    }
    const r = lookup(broker, req.key as string, keyType);
    return r.errorCode === ErrorCode.NONE
      ? { throttleTimeMs: 0, ...r, ...node }
      : { throttleTimeMs: 0, ...r, nodeId: -1, host: '', port: -1 };
  },
};
