/**
 * CreatePartitions (37), v0-3.
 *
 * Behavior: raises a topic's partition count to `count` at once and makes the new partitions' logs
 * in the background (Broker.addPartitions); the answer waits for them up to timeoutMs, and is NONE
 * after that even if they are not all open yet (NOT_LEADER_OR_FOLLOWER until they are), as Kafka's
 * answer comes once its controller has recorded the change. A failure to make them (disk full,
 * no descriptors) takes them back out: KAFKA_STORAGE_ERROR when it happens within timeoutMs. The
 * count must exceed the current one (INVALID_PARTITIONS otherwise, with Kafka's wording for "equal"
 * and "smaller") and stay within the 100000 partitions a topic may have here. Explicit assignments
 * must name one replica list per new partition, each exactly [this node]
 * (INVALID_REPLICA_ASSIGNMENT otherwise). Unknown topics get UNKNOWN_TOPIC_OR_PARTITION; a topic named
 * twice gets INVALID_REQUEST once. validateOnly checks everything and changes nothing.
 * Version notes: v1 is v0 with throttling semantics; v2 is flexible; v3 is v2 with quota semantics.
 */
import type { Outcome, TopicLookup } from '../metadata/ports.js';
import { MAX_PARTITIONS } from '../metadata/topics.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/37-create-partitions.js';
import type { DecodedRequest, Elem, ResponseBody } from '../protocol/schema.js';
import { settleWithin } from './deadline.js';
import { defineHandler } from './registry.js';

type Request = Elem<DecodedRequest<typeof spec>['topics']>;
type Result = Elem<ResponseBody<typeof spec>['results']>;

function check(topics: TopicLookup, nodeId: number, r: Request): { errorCode: number; errorMessage: string } | null {
  const t = topics.get(r.name);
  if (t === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The topic '${r.name}' does not exist.` };
  if (r.count === t.partitions)
    return { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: `Topic already has ${t.partitions} partition(s).` };
  if (r.count < t.partitions) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: `The topic ${r.name} currently has ${t.partitions} partition(s); ${r.count} would not be an increase.`,
    };
  }
  if (r.count > MAX_PARTITIONS) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: `A topic may have at most ${MAX_PARTITIONS} partitions here, not ${r.count}.`,
    };
  }
  if (r.assignments !== null) {
    const adding = r.count - t.partitions;
    if (r.assignments.length !== adding) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        errorMessage: `Attempted to add ${adding} additional partition(s), but only ${r.assignments.length} assignment(s) were specified.`,
      };
    }
    for (const a of r.assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== nodeId) {
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          errorMessage: `Replica assignment [${a.brokerIds.join(', ')}] is not possible: this single-node cluster has only broker ${nodeId}.`,
        };
      }
    }
  }
  return null;
}

export const createPartitions = defineHandler(spec, {
  versions: [0, 3],
  async handle(ctx, req) {
    const requested = req.topics;
    const pending = new Map<Result, Promise<Outcome>>();
    const counts = new Map<string, number>();
    for (const r of requested) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
    const reported = new Set<string>();
    const results: Result[] = [];
    for (const r of requested) {
      if (counts.get(r.name)! > 1) {
        if (!reported.has(r.name))
          results.push({ name: r.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' });
        reported.add(r.name);
        continue;
      }
      const err = check(ctx.topics, ctx.cluster.nodeId, r);
      if (err !== null) {
        results.push({ name: r.name, ...err });
        continue;
      }
      const result: Result = { name: r.name, errorCode: ErrorCode.NONE, errorMessage: null };
      if (!req.validateOnly) pending.set(result, ctx.topics.addPartitions(r.name, r.count));
      results.push(result);
    }
    const outcomes = await settleWithin([...pending.values()], req.timeoutMs);
    [...pending.keys()].forEach((result, i) => {
      const v = outcomes[i];
      if (v !== undefined && v.errorCode !== ErrorCode.NONE) Object.assign(result, { errorCode: v.errorCode, errorMessage: v.message });
    });
    return { throttleTimeMs: 0, results };
  },
});
