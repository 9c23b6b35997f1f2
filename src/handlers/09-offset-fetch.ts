/**
 * OffsetFetch (9), v1-9.
 *
 * Behavior: the committed offset, leader epoch and metadata of each requested partition, or
 * offset -1 when nothing is committed; topics null (v2+) means every partition the group has
 * committed. With requireStable (v7+) a partition whose offset an open transaction has committed
 * (TxnOffsetCommit, not yet ended) is UNSTABLE_OFFSET_COMMIT, which the client retries: a
 * read_committed consumer does not start from an offset the transaction may still abort. An
 * empty group id is INVALID_GROUP_ID.
 * Version notes: v2 top-level error; v5 leader epoch; v6 flexible; v7 requireStable; v8 several
 * groups per request; v9 member id and epoch (KIP-848): for a consumer group a member id other than
 * null (with epoch -1) must be a member at that epoch (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
 */
import type { GroupCoordinator } from '../group/coordinator.js';
import { splitTpKey } from '../group/topic-partition.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/09-offset-fetch.js';
import type { Elem, ResponseBody } from '../protocol/schema.js';
import { defineHandler } from './registry.js';

type TopicRequest = ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null;
type GroupResult = Pick<Elem<ResponseBody<typeof spec>['groups']>, 'errorCode' | 'topics'>;

function fetchGroup(
  coordinator: GroupCoordinator,
  groupId: string,
  topics: TopicRequest,
  memberId: string | null = null,
  memberEpoch = -1,
  requireStable = false,
): Required<GroupResult> {
  if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
  const elsewhere = coordinator.notCoordinator(groupId);
  if (elsewhere !== null) return { errorCode: elsewhere, topics: [] };
  const memberCheck = coordinator.validateFetch(groupId, memberId, memberEpoch);
  if (memberCheck !== ErrorCode.NONE) return { errorCode: memberCheck, topics: [] };
  const committed = coordinator.committed(groupId);
  let wanted: TopicRequest = topics;
  if (wanted === null) {
    const byTopic = new Map<string, number[]>();
    for (const k of committed?.keys() ?? []) {
      const { topic, partition } = splitTpKey(k);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    }
    wanted = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes: partitionIndexes.sort((a, b) => a - b) }));
  }
  return {
    errorCode: ErrorCode.NONE,
    topics: wanted.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => {
        const c = coordinator.committedOffset(groupId, t.name, p);
        return {
          partitionIndex: p,
          committedOffset: c?.offset ?? -1,
          committedLeaderEpoch: c?.leaderEpoch ?? -1,
          metadata: c?.metadata ?? '',
          errorCode: requireStable && coordinator.hasPendingOffset(groupId, t.name, p) ? ErrorCode.UNSTABLE_OFFSET_COMMIT : ErrorCode.NONE,
        };
      }),
    })),
  };
}

export const offsetFetch = defineHandler(spec, {
  versions: [1, 9],
  handle(ctx, req) {
    const coordinator = ctx.groups;
    if (ctx.version >= 8) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => ({
          groupId: g.groupId,
          ...fetchGroup(coordinator, g.groupId, g.topics, g.memberId ?? null, g.memberEpoch ?? -1, req.requireStable),
        })),
      };
    }
    const r = fetchGroup(coordinator, req.groupId, req.topics, null, -1, req.requireStable);
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode };
  },
});
