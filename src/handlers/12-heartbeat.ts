/**
 * Heartbeat (12), v0-4.
 *
 * Behavior: keeps a classic group member's session alive. REBALANCE_IN_PROGRESS tells a member to
 * rejoin; ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and FENCED_INSTANCE_ID fence stale members.
 * Version notes: v3 group instance id; v4 flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/12-heartbeat.js';
import { defineHandler } from './registry.js';

export const heartbeat = defineHandler(spec, {
  versions: [0, 4],
  handle(ctx, req) {
    const groupId = req.groupId;
    if (groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
    const elsewhere = ctx.groups.notCoordinator(groupId);
    if (elsewhere !== null) return { throttleTimeMs: 0, errorCode: elsewhere };
    const group = ctx.groups.classic.get(groupId);
    if (group === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    const errorCode = group.heartbeat(req.memberId, req.groupInstanceId, req.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
});
