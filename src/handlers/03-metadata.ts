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
 * and v12 may ask by id alone (name null); v7+ has leader epochs. A v10-11 request that names a
 * topic by id (or not at all) is invalid, as in Kafka: the connection is closed.
 */
import type { ClusterInfo } from '../metadata/ports.js';
import { invalidTopicName, type TopicInfo } from '../metadata/topics.js';
import { ErrorCode, InvalidRequestError } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import type { Elem, ResponseBody } from '../protocol/schema.js';
import { spec } from '../protocol/messages/03-metadata.js';
import { defineHandler } from './registry.js';

type TopicMetadata = Elem<ResponseBody<typeof spec>['topics']>;
type PartitionMetadata = Elem<TopicMetadata['partitions']>;

export function describeTopic(cluster: ClusterInfo, t: TopicInfo): TopicMetadata {
  const partitions: PartitionMetadata[] = [];
  for (let p = 0; p < t.partitions; p++) {
    const s = cluster.replicaState(t.name, p);
    if (s === undefined) continue;
    partitions.push({
      // Kafka answers LEADER_NOT_AVAILABLE for a partition without a leader, else NONE.
      errorCode:
        s.leader !== -1 ? ErrorCode.NONE : s.storageFailed === true ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: p,
      leaderId: s.leader,
      leaderEpoch: s.leaderEpoch,
      replicaNodes: [...s.replicas],
      isrNodes: [...s.isr],
      offlineReplicas: [...s.offline],
    });
  }
  return { errorCode: ErrorCode.NONE, name: t.name, topicId: t.id, isInternal: t.internal, partitions };
}

function missingTopic(name: string | null, topicId: string, errorCode: number): TopicMetadata {
  return { errorCode, name, topicId, isInternal: false, partitions: [] };
}

export const metadata = defineHandler(spec, {
  versions: [0, 12],
  handle(ctx, req) {
    const { topics: registry, cluster } = ctx;
    const describe = (t: TopicInfo): TopicMetadata => describeTopic(cluster, t);
    const requested = req.topics;
    const allowAuto = req.allowAutoTopicCreation;
    const topics: TopicMetadata[] = [];
    if (requested === null || (ctx.version === 0 && requested.length === 0)) {
      for (const t of registry.list()) topics.push(describe(t));
    } else {
      for (const r of requested) {
        // v10-11 carry a topic id but cannot use it, and their response has no room for a null name.
        if (ctx.version < 12 && (r.name === null || r.topicId !== ZERO_UUID))
          throw new InvalidRequestError(`Metadata v${ctx.version} asks for a topic by id`);
        if (r.name === null) {
          const t = registry.getById(r.topicId);
          topics.push(t ? describe(t) : missingTopic(null, r.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
          continue;
        }
        let t = registry.get(r.name);
        if (t === undefined && invalidTopicName(r.name) !== null) {
          topics.push(missingTopic(r.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
          continue;
        }
        if (t === undefined && allowAuto) t = registry.autoCreate(r.name);
        topics.push(t ? describe(t) : missingTopic(r.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: cluster.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId,
      topics,
    };
  },
});
