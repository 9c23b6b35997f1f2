/**
 * DeleteGroups (42), v0-2.
 *
 * Behavior: deletes empty groups with their committed offsets (tombstones in __consumer_offsets).
 * A group with members is NON_EMPTY_GROUP; an unknown one GROUP_ID_NOT_FOUND; "" INVALID_GROUP_ID.
 * Version notes: v2 flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler } from './registry.js';

export const deleteGroups: Handler = {
  apiKey: 42,
  versions: [0, 2],
  async handle(ctx, req) {
    const results = [];
    for (const groupId of req.groupsNames as string[]) {
      const errorCode = groupId === '' ? ErrorCode.INVALID_GROUP_ID : await ctx.broker.groups.deleteGroup(groupId);
      results.push({ groupId, errorCode });
    }
    return { throttleTimeMs: 0, results };
  },
};
