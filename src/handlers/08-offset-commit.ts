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
 * when it differs, UNKNOWN_MEMBER_ID for a non-member).
 * Version notes: v6 leader epoch; v7 group instance id; v8 flexible; v9 member epoch for KIP-848
 * groups in place of the generation.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import type { Handler } from './registry.js';

export const offsetCommit: Handler = {
  apiKey: 8,
  versions: [2, 9],
  async handle(ctx, req) {
    const groupId = req.groupId as string;
    const topics = req.topics as Array<{ name: string; partitions: Message[] }>;
    const respond = (codes: number[]): Message => {
      let i = 0;
      return {
        throttleTimeMs: 0,
        topics: topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[i++] })),
        })),
      };
    };
    const count = topics.reduce((n, t) => n + t.partitions.length, 0);
    const all = (code: number): Message => respond(new Array<number>(count).fill(code));
    if (groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    const coordinator = ctx.broker.groups;
    const check = coordinator.validateCommit(
      groupId,
      req.memberId as string,
      req.groupInstanceId as string | null,
      req.generationIdOrMemberEpoch as number,
      ctx.version,
    );
    if (check !== ErrorCode.NONE) return all(check);
    const inputs = topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex as number,
        offset: p.committedOffset as number,
        leaderEpoch: p.committedLeaderEpoch as number,
        metadata: p.committedMetadata as string | null,
      })),
    );
    return respond(await coordinator.commit(groupId, inputs));
  },
};
