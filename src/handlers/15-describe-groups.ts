/**
 * DescribeGroups (15), v0-5.
 *
 * Behavior: state, protocol type, protocol, and members with their metadata and assignment. A
 * group this broker does not know is described as state "Dead" with no error, as Kafka does
 * before v6. Groups that only hold committed offsets are "Empty". A KIP-848 consumer group is not a
 * classic group, so it is described as "Dead" too, as Kafka 4 does (ConsumerGroupDescribe
 * describes it).
 * Version notes: v3 authorized operations (not computed: -2^31); v4 group instance ids; v5 flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/15-describe-groups.js';
import { defineHandler } from './registry.js';

export const describeGroups = defineHandler(spec, {
  versions: [0, 5],
  handle(ctx, req) {
    const coordinator = ctx.groups;
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => {
        if (groupId === '') {
          return { errorCode: ErrorCode.INVALID_GROUP_ID, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
        }
        const elsewhere = coordinator.notCoordinator(groupId);
        if (elsewhere !== null) return { errorCode: elsewhere, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
        if (coordinator.typeOf(groupId) === 'consumer') {
          return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
        }
        const state = coordinator.stateOf(groupId);
        const g = coordinator.classic.get(groupId);
        if (g === undefined || g.state === 'Dead') {
          return { errorCode: ErrorCode.NONE, groupId, groupState: state, protocolType: '', protocolData: '', members: [] };
        }
        const stable = g.state === 'Stable';
        return {
          errorCode: ErrorCode.NONE,
          groupId,
          groupState: g.state,
          protocolType: g.protocolType ?? '',
          protocolData: g.protocolName ?? '',
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? Buffer.alloc(0),
            // Kafka only shows assignments once the group is Stable.
            memberAssignment: stable ? m.assignment : Buffer.alloc(0),
          })),
        };
      }),
    };
  },
});
