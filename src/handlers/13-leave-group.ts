/**
 * LeaveGroup (13), v0-5.
 *
 * Behavior: removes members and starts a rebalance for the rest. From v3 several members (static
 * ones by group.instance.id, with member id "" allowed) leave in one request, each with its own
 * error; the top-level error is set only for group-level failures.
 * Version notes: v3 batches members; v4 flexible; v5 reason.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/13-leave-group.js';
import { defineHandler } from './registry.js';

export const leaveGroup = defineHandler(spec, {
  versions: [0, 5],
  handle(ctx, req) {
    const groupId = req.groupId;
    const elsewhere = ctx.groups.notCoordinator(groupId);
    if (elsewhere !== null) return { throttleTimeMs: 0, errorCode: elsewhere, members: [] };
    const group = ctx.groups.classic.get(groupId);
    if (ctx.version < 3) {
      const errorCode = group === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : group.leave(req.memberId, null);
      return { throttleTimeMs: 0, errorCode, members: [] };
    }
    if (group === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] };
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      members: req.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode: group.leave(m.memberId, m.groupInstanceId),
      })),
    };
  },
});
