/**
 * What OffsetCommit (8) and TxnOffsetCommit (28) share: their topics and partitions have the same
 * shape in the request and the response. Partitions of topics this broker does not have get
 * UNKNOWN_TOPIC_OR_PARTITION, as Kafka answers before the group is asked, and are not stored; the
 * others become the group coordinator's inputs, answered in the same order.
 */
import type { OffsetCommitInput } from '../group/coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { clientHost, type RequestContext } from './registry.js';

interface CommitTopic {
  readonly name: string;
  readonly partitions: ReadonlyArray<{
    readonly partitionIndex: number;
    readonly committedOffset: number;
    readonly committedLeaderEpoch: number;
    readonly committedMetadata: string | null;
  }>;
}

export interface CommitTopicResult {
  name: string;
  partitions: Array<{ partitionIndex: number; errorCode: number }>;
}

export interface CommitRequest {
  /** The partitions of known topics, in request order. */
  readonly inputs: OffsetCommitInput[];
  /** The response topics: `codes` answer the inputs in order (each passed through `map`). */
  respond(codes: readonly number[], map?: (code: number) => number): CommitTopicResult[];
  /** Every input answered with `code`. */
  all(code: number): CommitTopicResult[];
}

export function commitRequest(ctx: RequestContext, topics: readonly CommitTopic[]): CommitRequest {
  const known = topics.map((t) => ctx.topics.get(t.name) !== undefined);
  const inputs = topics
    .filter((_, ti) => known[ti])
    .flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.committedMetadata,
      })),
    );
  const respond = (codes: readonly number[], map: (code: number) => number = (c) => c): CommitTopicResult[] => {
    let i = 0;
    return topics.map((t, ti) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: known[ti] ? map(codes[i++] ?? ErrorCode.UNKNOWN_SERVER_ERROR) : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      })),
    }));
  };
  return { inputs, respond, all: (code) => respond(new Array<number>(inputs.length).fill(code)) };
}

/** Message trace: the stored commits (code NONE) of traced topics, as commit events. */
export function traceCommits(
  ctx: RequestContext,
  groupId: string,
  member: string,
  inputs: readonly OffsetCommitInput[],
  codes: readonly number[],
  transactionalId?: string,
): void {
  let who: { client: string; address: string } | undefined;
  inputs.forEach((c, i) => {
    if (codes[i] !== ErrorCode.NONE || !ctx.trace.traced(c.topic)) return;
    who ??= { client: ctx.header.clientId ?? '', address: clientHost(ctx) };
    const e = { topic: c.topic, partition: c.partition, offset: c.offset, group: groupId, member, ...who };
    ctx.trace.committed(transactionalId === undefined ? e : { ...e, transactionalId });
  });
}
