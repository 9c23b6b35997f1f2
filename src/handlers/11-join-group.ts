/**
 * JoinGroup (11), v0-9.
 *
 * Behavior: the classic rebalance protocol's join barrier (see group/classic-group.ts). The
 * session timeout must lie within group.min/max.session.timeout.ms (INVALID_SESSION_TIMEOUT); an
 * empty group id is INVALID_GROUP_ID; protocols the group cannot agree on are
 * INCONSISTENT_GROUP_PROTOCOL, as is a join to a KIP-848 consumer group that has members (Kafka 4
 * would let the classic member into it; franz has no mixed groups). From v4 a member without an id first gets MEMBER_ID_REQUIRED with
 * its id; static members (v5+, group.instance.id) skip that step.
 * Version notes: v1 rebalance timeout (v0 uses the session timeout); v5 group instance id; v6
 * flexible; v7 protocol type in the response; v8 reason; v9 skipAssignment (true only for a static leader that rejoined a Stable group, KIP-814).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { ResponseBody } from '../protocol/schema.js';
import { spec } from '../protocol/messages/11-join-group.js';
import { clientHost, defineHandler } from './registry.js';

export const joinGroup = defineHandler(spec, {
  versions: [0, 9],
  handle(ctx, req) {
    const fail = (errorCode: number): ResponseBody<typeof spec> => ({
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: ctx.version >= 7 ? null : '',
      leader: '',
      skipAssignment: false,
      memberId: req.memberId,
      members: [],
    });
    const groupId = req.groupId;
    if (groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const elsewhere = ctx.groups.notCoordinator(groupId);
    if (elsewhere !== null) return fail(elsewhere);
    const session = req.sessionTimeoutMs;
    const coordinator = ctx.groups;
    if (session < coordinator.minSessionTimeoutMs || session > coordinator.maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const rebalance = req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : session;
    const conflict = coordinator.classicJoinConflict(groupId);
    if (conflict !== ErrorCode.NONE) return fail(conflict);
    const group = coordinator.getOrCreateClassic(groupId);
    const result = group.join({
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: ctx.header.clientId ?? '',
      clientHost: clientHost(ctx),
      sessionTimeoutMs: session,
      rebalanceTimeoutMs: rebalance,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({
        name: p.name,
        // The request frame is reused by the connection; keep our own copy of what we store.
        metadata: Buffer.from(p.metadata),
      })),
      requireKnownMemberId: ctx.version >= 4,
      supportsSkipAssignment: ctx.version >= 9,
    });
    const finish = (r: Awaited<typeof result>): ResponseBody<typeof spec> => ({
      throttleTimeMs: 0,
      ...r,
      protocolName: r.protocolName ?? (ctx.version >= 7 ? null : ''),
    });
    return result instanceof Promise ? result.then(finish) : finish(result);
  },
});
