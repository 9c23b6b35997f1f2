/**
 * CreateTopics (19), v2-7.
 *
 * Behavior: each topic is checked on its own and gets its own error code and message. A name given
 * twice in one request gets INVALID_REQUEST ("Duplicate topic name.") once and is not created. A name
 * that differs from an existing topic only by '.' versus '_' is refused (INVALID_TOPIC_EXCEPTION), as
 * Kafka does, because both map to the same metric names. numPartitions / replicationFactor -1 take
 * num.partitions / default.replication.factor. The only replication factor a single node can offer is
 * 1 (INVALID_REPLICATION_FACTOR otherwise). Manual assignments are accepted only with both counts at
 * -1, partition indexes 0..n-1 each given once, and every replica list exactly [this node]
 * (INVALID_REPLICA_ASSIGNMENT otherwise). Config values are checked by validateTopicConfigs
 * (INVALID_CONFIG); a null value is INVALID_CONFIG as in Kafka. validateOnly runs every check and
 * creates nothing; its topic id is then all zeros (Kafka returns a random id that never exists).
 * The topic is registered at once and its logs are made in the background (TopicManager.createTopicAsync:
 * off the event loop, since making the files of thousands of partitions takes seconds;
 * docs/perf/many-partitions.md).
 * The answer waits for them up to the request's timeoutMs; after that it is NONE while the
 * partitions are still being made (requests to those get NOT_LEADER_OR_FOLLOWER until they are
 * open), as Kafka 4 answers once its controller has recorded the topic. A failure to make them undoes the
 * topic: KAFKA_STORAGE_ERROR when it happens within timeoutMs.
 * Version notes: v1+ errorMessage and validateOnly (we serve v2+); v4 -1 defaults; v5 is flexible and
 * returns numPartitions, replicationFactor and the resulting configs; v7 returns the topic id.
 */
import type { Outcome, TopicLookup } from '../metadata/ports.js';
import { invalidTopicName, type TopicInfo } from '../metadata/topics.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/19-create-topics.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import type { DecodedRequest, Elem, ResponseBody } from '../protocol/schema.js';
import { topicConfigEntries, type ConfigServices } from './config-resources.js';
import { settleWithin } from './deadline.js';
import { defineHandler } from './registry.js';

type CreatableTopic = Elem<DecodedRequest<typeof spec>['topics']>;
type CreatableTopicResult = Elem<ResponseBody<typeof spec>['topics']>;

function failure(name: string, errorCode: number, errorMessage: string | null): CreatableTopicResult {
  return { name, topicId: ZERO_UUID, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: [] };
}

/** Kafka's check that two names do not collide once '.' and '_' are treated alike. */
function collision(topics: TopicLookup, name: string): string | null {
  if (!name.includes('.') && !name.includes('_')) return null;
  const unified = name.replace(/\./g, '_');
  for (const t of topics.list()) {
    if (t.name !== name && t.name.replace(/\./g, '_') === unified) return t.name;
  }
  return null;
}

/** Checks a manual assignment; returns the partition count or an error. */
function checkAssignments(nodeId: number, t: CreatableTopic): number | { errorCode: number; message: string } {
  if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      message: 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
    };
  }
  const n = t.assignments.length;
  const seen = new Set<number>();
  for (const a of t.assignments) {
    if (a.partitionIndex < 0 || a.partitionIndex >= n || seen.has(a.partitionIndex)) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: `Partitions should be a consecutive 0-based integer sequence; got partition ${a.partitionIndex} among ${n}.`,
      };
    }
    seen.add(a.partitionIndex);
    if (a.brokerIds.length !== 1 || a.brokerIds[0] !== nodeId) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: `Partition ${a.partitionIndex} is assigned to [${a.brokerIds.join(', ')}], but this single-node cluster has only broker ${nodeId}.`,
      };
    }
  }
  return n;
}

function createOne(
  services: ConfigServices,
  t: CreatableTopic,
  validateOnly: boolean,
): CreatableTopicResult | { created: CreatableTopicResult; ready: Promise<Outcome> } {
  const { topics, cluster, config } = services;
  const bad = invalidTopicName(t.name);
  if (bad !== null) return failure(t.name, ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
  if (topics.get(t.name) !== undefined) {
    return failure(t.name, ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
  }
  const nullConfigs = t.configs.filter((c) => c.value === null).map((c) => c.name);
  if (nullConfigs.length > 0) {
    return failure(t.name, ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${nullConfigs.join(',')}`);
  }
  const configs: Record<string, string> = {};
  for (const c of t.configs) {
    if (c.name in configs) return failure(t.name, ErrorCode.INVALID_REQUEST, `Duplicate config name: ${c.name}`);
    if (c.value !== null) configs[c.name] = c.value;
  }
  let partitions = t.numPartitions;
  let replicationFactor = t.replicationFactor;
  if (t.assignments.length > 0) {
    const checked = checkAssignments(cluster.nodeId, t);
    if (typeof checked !== 'number') return failure(t.name, checked.errorCode, checked.message);
    partitions = checked;
    replicationFactor = 1;
  } else {
    if (partitions === 0 || partitions < -1) {
      return failure(t.name, ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    }
    if (replicationFactor === 0 || replicationFactor < -1) {
      return failure(
        t.name,
        ErrorCode.INVALID_REPLICATION_FACTOR,
        'Replication factor must be larger than 0, or -1 to use the default value.',
      );
    }
  }
  const other = collision(topics, t.name);
  if (other !== null) {
    return failure(t.name, ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${t.name}' collides with existing topic: ${other}`);
  }
  const r: Outcome & { topic?: TopicInfo; ready?: Promise<Outcome> } = validateOnly
    ? topics.createTopic(t.name, partitions, replicationFactor, configs, true)
    : topics.createTopicAsync(t.name, partitions, replicationFactor, configs);
  if (r.errorCode !== ErrorCode.NONE) return failure(t.name, r.errorCode, r.message);
  const topic: TopicInfo = r.topic ?? {
    name: t.name,
    id: ZERO_UUID,
    partitions: partitions === -1 ? config.num('num.partitions') : partitions,
    configs,
    internal: false,
  };
  const created: CreatableTopicResult = {
    name: t.name,
    topicId: topic.id,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions: topic.partitions,
    replicationFactor: 1,
    // CreateTopics' config entries carry a subset of DescribeConfigs' fields.
    configs: topicConfigEntries(services, topic, { keys: null, synonyms: false, documentation: false }).map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      configSource: c.configSource,
      isSensitive: c.isSensitive,
    })),
  };
  return r.ready !== undefined ? { created, ready: r.ready } : created;
}

export const createTopics = defineHandler(spec, {
  versions: [2, 7],
  async handle(ctx, req) {
    const requested = req.topics;
    const pending: Array<{ at: number; name: string; ready: Promise<Outcome> }> = [];
    const counts = new Map<string, number>();
    for (const t of requested) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const reported = new Set<string>();
    const topics: CreatableTopicResult[] = [];
    for (const t of requested) {
      if (counts.get(t.name)! > 1) {
        if (!reported.has(t.name)) topics.push(failure(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
        reported.add(t.name);
        continue;
      }
      const r = createOne(ctx, t, req.validateOnly);
      if ('ready' in r) {
        pending.push({ at: topics.length, name: t.name, ready: r.ready });
        topics.push(r.created);
      } else topics.push(r);
    }
    const outcomes = await settleWithin(
      pending.map((p) => p.ready),
      req.timeoutMs,
    );
    pending.forEach((p, i) => {
      const v = outcomes[i];
      if (v !== undefined && v.errorCode !== ErrorCode.NONE) topics[p.at] = failure(p.name, v.errorCode, v.message);
    });
    return { throttleTimeMs: 0, topics };
  },
});
