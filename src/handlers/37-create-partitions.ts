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
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import type { Broker } from '../broker.js';
import type { Handler } from './registry.js';
import { settleWithin } from './deadline.js';
import type { Outcome } from '../broker.js';

const MAX_PARTITIONS = 100_000;

interface Request {
  name: string;
  count: number;
  assignments: Array<{ brokerIds: number[] }> | null;
}

function check(broker: Broker, r: Request): { errorCode: number; errorMessage: string } | null {
  const t = broker.topics.get(r.name);
  if (t === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The topic '${r.name}' does not exist.` };
  if (r.count === t.partitions) return { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: `Topic already has ${t.partitions} partition(s).` };
  if (r.count < t.partitions) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: `The topic ${r.name} currently has ${t.partitions} partition(s); ${r.count} would not be an increase.`,
    };
  }
  if (r.count > MAX_PARTITIONS) {
    return { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: `A topic may have at most ${MAX_PARTITIONS} partitions here, not ${r.count}.` };
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
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId) {
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          errorMessage: `Replica assignment [${a.brokerIds.join(', ')}] is not possible: this single-node cluster has only broker ${broker.nodeId}.`,
        };
      }
    }
  }
  return null;
}

export const createPartitions: Handler = {
  apiKey: 37,
  versions: [0, 3],
  async handle(ctx, req) {
    const { broker } = ctx;
    const requested = req.topics as Request[];
    const pending = new Map<Message, Promise<Outcome>>();
    const counts = new Map<string, number>();
    for (const r of requested) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
    const reported = new Set<string>();
    const results: Message[] = [];
    for (const r of requested) {
      if (counts.get(r.name)! > 1) {
        if (!reported.has(r.name)) results.push({ name: r.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' });
        reported.add(r.name);
        continue;
      }
      const err = check(broker, r);
      if (err !== null) {
        results.push({ name: r.name, ...err });
        continue;
      }
      const result: Message = { name: r.name, errorCode: ErrorCode.NONE, errorMessage: null };
      if (req.validateOnly !== true) pending.set(result, broker.addPartitions(r.name, r.count));
      results.push(result);
    }
    const outcomes = await settleWithin([...pending.values()], req.timeoutMs as number);
    [...pending.keys()].forEach((result, i) => {
      const v = outcomes[i];
      if (v !== undefined && v.errorCode !== ErrorCode.NONE) Object.assign(result, { errorCode: v.errorCode, errorMessage: v.message });
    });
    return { throttleTimeMs: 0, results };
  },
};
