/**
 * ConsumerGroupHeartbeat (68), v0-1.
 *
 * Behavior: the KIP-848 consumer protocol (group/consumer-group.ts): joins (member epoch 0),
 * heartbeats with the member's epoch and, when they change, its subscription and owned
 * partitions, and leaves (epoch -1; -2 for a static member that will come back). The response
 * carries the member's epoch, the heartbeat interval (group.consumer.heartbeat.interval.ms) and,
 * on a join, when the member reported its owned partitions or when its assignment changed, the
 * partitions (by topic id) it may use now. Requests Kafka rejects before looking at the group are
 * INVALID_REQUEST (empty group id, member id, instance id or rack; a join without rebalance
 * timeout, with owned partitions or without any subscription field; an epoch below -2; -2 without
 * an instance id) or UNSUPPORTED_ASSIGNOR (a server assignor not in group.consumer.assignors).
 * Fencing errors: UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID,
 * UNRELEASED_INSTANCE_ID; a group id held by a classic group with members is GROUP_ID_NOT_FOUND.
 * Consumer-group membership is not persisted: after a broker restart members get
 * UNKNOWN_MEMBER_ID and rejoin.
 * Version notes: v0 the coordinator generates the member id on a join with member id ""; v1
 * (KIP-1082) the client generates it (so "" is INVALID_REQUEST) and adds SubscribedTopicRegex
 * (KIP-848 regex subscriptions, INVALID_REGULAR_EXPRESSION).
 */
import { heartbeatError, LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH } from '../group/consumer-group.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/68-consumer-group-heartbeat.js';
import type { DecodedRequest, ResponseBody } from '../protocol/schema.js';
import { clientHost, defineHandler, type RequestContext } from './registry.js';

/** The first 'INVALID_REQUEST'/'UNSUPPORTED_ASSIGNOR' reason Kafka would give, or null. */
function invalid(ctx: RequestContext, req: DecodedRequest<typeof spec>): { errorCode: number; message: string } | null {
  const bad = (message: string) => ({ errorCode: ErrorCode.INVALID_REQUEST, message });
  const blank = (v: string | null): boolean => v !== null && v.trim() === '';
  const epoch = req.memberEpoch;
  if ((ctx.version >= 1 || epoch > 0 || epoch === LEAVE_GROUP_MEMBER_EPOCH) && blank(req.memberId)) return bad("MemberId can't be empty.");
  if (blank(req.groupId)) return bad("GroupId can't be empty.");
  if (blank(req.instanceId)) return bad("InstanceId can't be empty.");
  if (blank(req.rackId)) return bad("RackId can't be empty.");
  if (epoch === 0) {
    if (req.rebalanceTimeoutMs === -1) return bad('RebalanceTimeoutMs must be provided in first request.');
    const owned = req.topicPartitions;
    if (owned === null || owned.length > 0) return bad('TopicPartitions must be empty when (re-)joining.');
    if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) {
      return bad('Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.');
    }
  } else if (epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    if (req.instanceId === null) return bad("InstanceId can't be null.");
  } else if (epoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    return bad('MemberEpoch is invalid.');
  }
  const assignor = req.serverAssignor;
  if (assignor !== null) {
    const enabled = ctx.groups.serverAssignorNames();
    if (!enabled.includes(assignor)) {
      return {
        errorCode: ErrorCode.UNSUPPORTED_ASSIGNOR,
        message: `ServerAssignor ${assignor} is not supported. Supported assignors: ${enabled.join(', ')}.`,
      };
    }
  }
  return null;
}

export const consumerGroupHeartbeat = defineHandler(spec, {
  versions: [0, 1],
  handle(ctx, req) {
    const reply = (r: ReturnType<typeof heartbeatError>): ResponseBody<typeof spec> => ({ throttleTimeMs: 0, ...r });
    const refused = invalid(ctx, req);
    if (refused !== null) return reply(heartbeatError(refused.errorCode, refused.message));
    const groupId = req.groupId;
    const memberId = req.memberId;
    const epoch = req.memberEpoch;
    const instanceId = req.instanceId;
    const coordinator = ctx.groups;
    const elsewhere = coordinator.notCoordinator(groupId);
    if (elsewhere !== null) return reply(heartbeatError(elsewhere, null));
    if (epoch === LEAVE_GROUP_MEMBER_EPOCH || epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      const group = coordinator.consumer.get(groupId);
      if (group === undefined) return reply(heartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${groupId} not found.`));
      return reply(group.leave(memberId, instanceId, epoch));
    }
    const group = coordinator.consumerGroupFor(groupId, epoch === 0);
    if ('errorCode' in group) return reply(heartbeatError(group.errorCode, group.message));
    const owned = req.topicPartitions;
    return reply(
      group.heartbeat({
        memberId,
        memberEpoch: epoch,
        instanceId,
        rackId: req.rackId,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        subscribedTopicNames: req.subscribedTopicNames,
        subscribedTopicRegex: ctx.version >= 1 ? req.subscribedTopicRegex : null,
        serverAssignor: req.serverAssignor,
        ownedTopicPartitions: owned === null ? null : owned.map((t) => ({ topicId: t.topicId, partitions: [...t.partitions] })),
        clientId: ctx.header.clientId ?? '',
        clientHost: clientHost(ctx),
      }),
    );
  },
});
