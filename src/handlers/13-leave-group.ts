/**
 * LeaveGroup (13), v0-5.
 *
 * Behavior: removes members and starts a rebalance for the rest. From v3 several members (static
 * ones by group.instance.id, with member id "" allowed) leave in one request, each with its own
 * error; the top-level error is set only for group-level failures.
 * Version notes: v3 batches members; v4 flexible; v5 reason.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler } from './registry.js';

export const leaveGroup: Handler = {
  apiKey: 13,
  versions: [0, 5],
  handle(ctx, req) {
    const groupId = req.groupId as string;
    const group = ctx.broker.groups.classic.get(groupId);
    if (ctx.version < 3) {
      const errorCode = group === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : group.leave(req.memberId as string, null);
      return { throttleTimeMs: 0, errorCode, members: [] };
    }
    const requested = req.members as Array<{ memberId: string; groupInstanceId: string | null }>;
    if (group === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] };
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      members: requested.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode: group.leave(m.memberId, m.groupInstanceId),
      })),
    };
  },
};
