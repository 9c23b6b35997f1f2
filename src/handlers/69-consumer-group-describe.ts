/**
 * ConsumerGroupDescribe (69), v0-1.
 *
 * Behavior: per KIP-848 consumer group: state (Empty, Assigning, Reconciling, Stable), group epoch,
 * target assignment epoch, the assignor in use, and each member with its epoch, client, instance
 * and rack ids, subscription (names and regex), current assignment and target assignment (topic
 * id, name and partitions). A group id that is unknown or belongs to a classic group is
 * GROUP_ID_NOT_FOUND, so Kafka's admin client falls back to DescribeGroups; "" is
 * INVALID_GROUP_ID. Authorized operations are not computed (-2^31).
 * Version notes: v1 member type (KIP-1099): always 1, a consumer-protocol member (franz has no
 * classic members inside consumer groups).
 */
import type { ConsumerGroup, Partitions } from '../group/consumer-group.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/69-consumer-group-describe.js';
import type { Elem, ResponseBody } from '../protocol/schema.js';
import { defineHandler } from './registry.js';

type Assignment = Elem<Elem<ResponseBody<typeof spec>['groups']>['members']>['assignment'];

const NO_OPERATIONS = -2147483648;
const CONSUMER_MEMBER_TYPE = 1;

function describeAssignment(group: ConsumerGroup, p: Partitions): Assignment {
  return {
    topicPartitions: [...p]
      .filter(([, ps]) => ps.size > 0)
      .map(([topicId, ps]) => ({ topicId, topicName: group.topicName(topicId), partitions: [...ps].sort((a, b) => a - b) })),
  };
}

function notFound(groupId: string, errorCode: number, errorMessage: string) {
  return {
    errorCode,
    errorMessage,
    groupId,
    groupState: '',
    groupEpoch: 0,
    assignmentEpoch: 0,
    assignorName: '',
    members: [],
    authorizedOperations: NO_OPERATIONS,
  };
}

export const consumerGroupDescribe = defineHandler(spec, {
  versions: [0, 1],
  handle(ctx, req) {
    const coordinator = ctx.groups;
    return {
      throttleTimeMs: 0,
      groups: req.groupIds.map((groupId) => {
        if (groupId === '') return notFound(groupId, ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
        const elsewhere = coordinator.notCoordinator(groupId);
        if (elsewhere !== null) return notFound(groupId, elsewhere, 'This broker is not the coordinator of the group.');
        const g = coordinator.consumer.get(groupId);
        if (g === undefined) {
          const classic = coordinator.stateOf(groupId) !== 'Dead';
          return notFound(
            groupId,
            ErrorCode.GROUP_ID_NOT_FOUND,
            classic ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.`,
          );
        }
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          groupId,
          groupState: g.state,
          groupEpoch: g.groupEpoch,
          assignmentEpoch: g.assignmentEpoch,
          assignorName: g.assignorName(),
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            instanceId: m.instanceId,
            rackId: m.rackId,
            memberEpoch: m.memberEpoch,
            clientId: m.clientId,
            clientHost: m.clientHost,
            subscribedTopicNames: m.subscribedTopicNames,
            subscribedTopicRegex: m.subscribedTopicRegex,
            assignment: describeAssignment(g, m.assigned),
            targetAssignment: describeAssignment(g, g.targetOf(m.memberId)),
            memberType: CONSUMER_MEMBER_TYPE,
          })),
          authorizedOperations: NO_OPERATIONS,
        };
      }),
    };
  },
});
