/**
 * OffsetCommit (8), v2-9.
 *
 * Behavior: stores committed offsets in `__consumer_offsets` and answers once they are durable.
 * A member of a classic group must name its member id and current generation (UNKNOWN_MEMBER_ID,
 * ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS while the group completes a rebalance,
 * FENCED_INSTANCE_ID); a consumer without a group membership (assign() + commit) commits with
 * generation -1 and member id "" to a group that has no members. Metadata longer than
 * offset.metadata.max.bytes is OFFSET_METADATA_TOO_LARGE for that partition. Retention time
 * (v2-4) is accepted and ignored, as in Kafka since KIP-211. A member of a KIP-848 consumer group
 * commits with v9+ (else UNSUPPORTED_VERSION) and its current member epoch (STALE_MEMBER_EPOCH
 * when it differs, UNKNOWN_MEMBER_ID for a non-member). A partition of a topic this broker does not
 * have is UNKNOWN_TOPIC_OR_PARTITION and is not stored, as in Kafka.
 * Version notes: v6 leader epoch; v7 group instance id; v8 flexible; v9 member epoch for KIP-848
 * groups in place of the generation.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/08-offset-commit.js';
import { commitRequest, traceCommits } from './offset-commit-request.js';
import { defineHandler } from './registry.js';

export const offsetCommit = defineHandler(spec, {
  versions: [2, 9],
  async handle(ctx, req) {
    const { groupId } = req;
    const r = commitRequest(ctx, req.topics);
    const answer = (topics: ReturnType<typeof r.respond>) => ({ throttleTimeMs: 0, topics });
    if (groupId === '') return answer(r.all(ErrorCode.INVALID_GROUP_ID));
    const elsewhere = ctx.groups.notCoordinator(groupId);
    if (elsewhere !== null) return answer(r.all(elsewhere));
    const coordinator = ctx.groups;
    const check = coordinator.validateCommit(groupId, req.memberId, req.groupInstanceId, req.generationIdOrMemberEpoch, ctx.version);
    if (check !== ErrorCode.NONE) return answer(r.all(check));
    const codes = r.inputs.length === 0 ? [] : await coordinator.commit(groupId, r.inputs);
    traceCommits(ctx, groupId, req.memberId, r.inputs, codes);
    return answer(r.respond(codes));
  },
});
