/**
 * The HTTP layer's way into the broker: the same handlers the Kafka listener dispatches to, called
 * in-process with a request the HTTP route built (no socket, no Kafka client loopback), and the
 * same ports (BrokerServices) for what needs no handler. A REST produce is thus a Produce request
 * to the Produce handler: validation, delayed delivery, trace, acks and durability are the ones
 * every Kafka client gets.
 */
import type { BrokerServices, HandlerRegistry, RequestContext } from '../handlers/registry.js';
import { spec as produceSpec } from '../protocol/messages/00-produce.js';
import { spec as offsetCommitSpec } from '../protocol/messages/08-offset-commit.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ApiSpec, DecodedRequest, ResponseBody } from '../protocol/schema.js';

/** The client id HTTP requests carry into the handlers (trace names the producer so). */
export const HTTP_CLIENT_ID = 'franz-http';

export interface ProduceOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
}

/** An offset to commit, and a commit's refusal of one. */
export interface CommitOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}
export interface CommitRefusal extends CommitOffset {
  readonly errorCode: number;
}

export class BrokerCalls {
  constructor(
    readonly services: BrokerServices,
    private readonly registry: HandlerRegistry,
  ) {}

  /** Calls the handler of `spec` at `version` with `request`, as if a client at `peer` had sent it. */
  async call<S extends ApiSpec>(
    spec: S,
    version: number,
    request: DecodedRequest<S>,
    peer: string,
    clientId = HTTP_CLIENT_ID,
  ): Promise<ResponseBody<S> | null> {
    const route = this.registry.get(spec.apiKey);
    if (route === undefined) throw new Error(`no handler for ${spec.name}`);
    const ctx: RequestContext = {
      ...this.services,
      header: { apiKey: spec.apiKey, apiVersion: version, correlationId: 0, clientId },
      version,
      peer,
    };
    return (await route.handler.handle(ctx, request as never)) as ResponseBody<S> | null;
  }

  /** Appends a record batch to a partition with acks=all, through the Produce handler (v9). */
  async produce(topic: string, partition: number, batch: Buffer, peer: string, timeoutMs = 30_000): Promise<ProduceOutcome> {
    return (await this.produceMany(topic, [{ partition, batch }], peer, timeoutMs))[0]!;
  }

  /** Appends one record batch to each of several partitions of a topic in one Produce request (acks=all); outcomes in `parts` order. */
  async produceMany(
    topic: string,
    parts: ReadonlyArray<{ partition: number; batch: Buffer }>,
    peer: string,
    timeoutMs = 30_000,
  ): Promise<ProduceOutcome[]> {
    const request: DecodedRequest<typeof produceSpec> = {
      transactionalId: null,
      acks: -1,
      timeoutMs,
      topicData: [{ name: topic, partitionData: parts.map((p) => ({ index: p.partition, records: p.batch })) }],
    } as DecodedRequest<typeof produceSpec>;
    const r = await this.call(produceSpec, 9, request, peer);
    const answers = r?.responses[0]?.partitionResponses ?? [];
    return parts.map((part) => {
      const p = answers.find((a) => a.index === part.partition);
      if (p === undefined) return { errorCode: -1, errorMessage: 'no answer', baseOffset: -1, logAppendTimeMs: -1 };
      return {
        errorCode: p.errorCode,
        errorMessage: p.errorMessage ?? null,
        baseOffset: p.baseOffset,
        logAppendTimeMs: p.logAppendTimeMs ?? -1,
      };
    });
  }

  /**
   * Commits offsets for `group` as a consumer outside the group's membership (generation -1, no
   * member id: Kafka's simple commit, which a group with live members refuses); returns what was refused.
   */
  async commitOffsets(group: string, offsets: readonly CommitOffset[], peer: string): Promise<CommitRefusal[]> {
    const byTopic = new Map<string, CommitOffset[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, [o]);
      else list.push(o);
    }
    const request = {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, ps]) => ({
        name,
        partitions: ps.map((p) => ({
          partitionIndex: p.partition,
          committedOffset: p.offset,
          committedLeaderEpoch: -1,
          committedMetadata: '',
        })),
      })),
    } as unknown as DecodedRequest<typeof offsetCommitSpec>;
    const r = await this.call(offsetCommitSpec, 8, request, peer);
    const refused: CommitRefusal[] = [];
    for (const t of r?.topics ?? [])
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.NONE) continue;
        const offset = offsets.find((o) => o.topic === t.name && o.partition === p.partitionIndex)?.offset ?? -1;
        refused.push({ topic: t.name, partition: p.partitionIndex, offset, errorCode: p.errorCode });
      }
    return refused;
  }
}
