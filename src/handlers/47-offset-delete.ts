/**
 * OffsetDelete (47), v0.
 *
 * Behavior: deletes a group's committed offsets for the given partitions, except for topics the
 * group's members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC per partition). An unknown group is
 * GROUP_ID_NOT_FOUND; a group that is rebalancing with members whose subscriptions cannot be read
 * is treated as subscribed to nothing. For a KIP-848 consumer group, the topics its members
 * subscribe to by name or regex are protected.
 */
import { ErrorCode } from '../protocol/errors.js';
import { subscribedTopicsOf } from '../group/consumer-protocol.js';
import { spec } from '../protocol/messages/47-offset-delete.js';
import { defineHandler } from './registry.js';

export const offsetDelete = defineHandler(spec, {
  versions: [0, 0],
  async handle(ctx, req) {
    const groupId = req.groupId;
    const { topics } = req;
    const coordinator = ctx.groups;
    const fail = (errorCode: number) => ({ errorCode, throttleTimeMs: 0, topics: [] });
    if (groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const elsewhere = coordinator.notCoordinator(groupId);
    if (elsewhere !== null) return fail(elsewhere);
    if (coordinator.stateOf(groupId) === 'Dead') return fail(ErrorCode.GROUP_ID_NOT_FOUND);
    const g = coordinator.classic.get(groupId);
    const cg = coordinator.consumer.get(groupId);
    const subscribed = cg !== undefined ? cg.subscribedTopicNames() : g === undefined ? null : g.subscribedTopics(subscribedTopicsOf);
    const tps = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
    const codes = await coordinator.deleteOffsets(groupId, tps, subscribed);
    let i = 0;
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: codes[i++] ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        })),
      })),
    };
  },
});
