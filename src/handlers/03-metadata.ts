/**
 * Metadata (3), v0-12.
 *
 * Behavior: this broker is the only broker, the controller, and the leader of every partition
 * (replicas and ISR are [nodeId]), also of a partition whose log is still being made: Kafka 4 lists
 * a topic with its leaders once the controller has recorded it, and requests to such a partition
 * get NOT_LEADER_OR_FOLLOWER until its log is open. (Answering LEADER_NOT_AVAILABLE instead makes
 * kafkajs fail every metadata refresh that includes the topic.)
 * Unknown topics are created when both the request (v4+) and
 * auto.create.topics.enable allow it and the name is legal; otherwise UNKNOWN_TOPIC_OR_PARTITION,
 * or INVALID_TOPIC_EXCEPTION for an illegal name.
 * Version notes: v0 lists all topics for an empty list, v1+ for a null list; v10+ carries topic ids
 * and v12 may ask by id alone (name null); v7+ has leader epochs.
 */
import type { Broker } from '../broker.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { invalidTopicName, type TopicInfo } from '../metadata/topics.js';
import type { Handler } from './registry.js';

export function describeTopic(broker: Broker, t: TopicInfo): Message {
  const partitions: Message[] = [];
  for (let p = 0; p < t.partitions; p++) {
    const offline = broker.logs.get(t.name, p)?.offlineError != null;
    partitions.push({
      errorCode: offline ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE,
      partitionIndex: p,
      leaderId: offline ? -1 : broker.nodeId,
      leaderEpoch: broker.leaderEpoch,
      replicaNodes: [broker.nodeId],
      isrNodes: offline ? [] : [broker.nodeId],
      offlineReplicas: offline ? [broker.nodeId] : [],
    });
  }
  return { errorCode: ErrorCode.NONE, name: t.name, topicId: t.id, isInternal: t.internal, partitions };
}

function missingTopic(name: string | null, topicId: string, errorCode: number): Message {
  return { errorCode, name, topicId, isInternal: false, partitions: [] };
}

export const metadata: Handler = {
  apiKey: 3,
  versions: [0, 12],
  handle(ctx, req) {
    const { broker } = ctx;
    const requested = req.topics as Array<{ name: string | null; topicId: string }> | null;
    const all = requested === null || (ctx.version === 0 && requested.length === 0);
    const allowAuto = req.allowAutoTopicCreation !== false;
    const topics: Message[] = [];
    if (all) {
      for (const t of broker.topics.list()) topics.push(describeTopic(broker, t));
    } else {
      for (const r of requested) {
        if (r.name === null) {
          const t = broker.topics.getById(r.topicId);
          topics.push(t ? describeTopic(broker, t) : missingTopic(null, r.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
          continue;
        }
        let t = broker.topics.get(r.name);
        if (t === undefined && invalidTopicName(r.name) !== null) {
          topics.push(missingTopic(r.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
          continue;
        }
        if (t === undefined && allowAuto) t = broker.autoCreate(r.name);
        topics.push(t ? describeTopic(broker, t) : missingTopic(r.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: broker.nodeId, host: broker.advertisedHost, port: broker.advertisedPort, rack: null }],
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      topics,
    };
  },
};
