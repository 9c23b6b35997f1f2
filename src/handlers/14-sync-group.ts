/**
 * SyncGroup (14), v0-5.
 *
 * Behavior: the leader sends the assignments of the generation; every member's SyncGroup waits
 * until the group has stored them in `__consumer_offsets`, then gets its own. A non-member gets
 * UNKNOWN_MEMBER_ID, a stale generation ILLEGAL_GENERATION, a sync during a new join phase
 * REBALANCE_IN_PROGRESS, a replaced static member FENCED_INSTANCE_ID.
 * Version notes: v3 group instance id; v4 flexible; v5 protocol type and name, checked against the
 * group's (INCONSISTENT_GROUP_PROTOCOL).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { ResponseBody } from '../protocol/schema.js';
import { spec } from '../protocol/messages/14-sync-group.js';
import { defineHandler } from './registry.js';

export const syncGroup = defineHandler(spec, {
  versions: [0, 5],
  handle(ctx, req) {
    const groupId = req.groupId;
    const fail = (errorCode: number): ResponseBody<typeof spec> => ({
      throttleTimeMs: 0,
      errorCode,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    });
    if (groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const elsewhere = ctx.groups.notCoordinator(groupId);
    if (elsewhere !== null) return fail(elsewhere);
    const group = ctx.groups.classic.get(groupId);
    if (group === undefined || group.state === 'Dead') return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    const result = group.sync({
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      generationId: req.generationId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments.map((a) => ({
        memberId: a.memberId,
        assignment: Buffer.from(a.assignment),
      })),
    });
    const finish = (r: Awaited<typeof result>): ResponseBody<typeof spec> => ({ throttleTimeMs: 0, ...r });
    return result instanceof Promise ? result.then(finish) : finish(result);
  },
});
