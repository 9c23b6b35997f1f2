/**
 * FindCoordinator (10), v0-6.
 *
 * Behavior: this broker coordinates every group and transactional id, so the answer is always
 * this node. Key type 0 is a group, 1 a transactional id; share groups (2) are not supported
 * (INVALID_REQUEST). An empty group id is INVALID_GROUP_ID, as in Kafka.
 * Version notes: v1 adds key type and error message; v3 flexible; v4 batches several keys.
 */
import { CoordinatorKeyType } from '../protocol/constants.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/10-find-coordinator.js';
import { defineHandler } from './registry.js';

const { GROUP, TRANSACTION } = CoordinatorKeyType;

function lookup(key: string, keyType: number): { errorCode: number; errorMessage: string | null } {
  if (keyType !== GROUP && keyType !== TRANSACTION) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `key type ${keyType} is not supported` };
  }
  if (keyType === GROUP && key === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'the group id is empty' };
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

export const findCoordinator = defineHandler(spec, {
  versions: [0, 6],
  handle(ctx, req) {
    const { nodeId, advertised } = ctx.cluster;
    const node = { nodeId, host: advertised.host, port: advertised.port };
    const none = { nodeId: -1, host: '', port: -1 };
    if (ctx.version >= 4) {
      return {
        throttleTimeMs: 0,
        coordinators: req.coordinatorKeys.map((key) => {
          const r = lookup(key, req.keyType);
          return { key, ...(r.errorCode === ErrorCode.NONE ? node : none), ...r };
        }),
      };
    }
    const r = lookup(req.key, req.keyType);
    return { throttleTimeMs: 0, ...r, ...(r.errorCode === ErrorCode.NONE ? node : none) };
  },
});
