/**
 * DeleteGroups (42), v0-2.
 *
 * Behavior: deletes empty groups with their committed offsets (tombstones in __consumer_offsets).
 * A group with members is NON_EMPTY_GROUP; an unknown one GROUP_ID_NOT_FOUND; "" INVALID_GROUP_ID.
 * Version notes: v2 flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/42-delete-groups.js';
import { defineHandler } from './registry.js';

export const deleteGroups = defineHandler(spec, {
  versions: [0, 2],
  async handle(ctx, req) {
    const results = [];
    for (const groupId of req.groupsNames) {
      const errorCode =
        groupId === '' ? ErrorCode.INVALID_GROUP_ID : (ctx.groups.notCoordinator(groupId) ?? (await ctx.groups.deleteGroup(groupId)));
      results.push({ groupId, errorCode });
    }
    return { throttleTimeMs: 0, results };
  },
});
