/**
 * Topic and config administration: CreateTopics, CreatePartitions, DeleteTopics, DescribeConfigs,
 * IncrementalAlterConfigs and ListPartitionReassignments, each sent to the bootstrap connection (a single-node franz is its
 * own controller; Kafka forwards these to its controller). A topic's cached metadata is dropped
 * whenever it is changed here.
 */
import { ConfigSourceId } from '../protocol/constants.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec as createTopicsSpec } from '../protocol/messages/19-create-topics.js';
import { spec as deleteTopicsSpec } from '../protocol/messages/20-delete-topics.js';
import { spec as describeConfigsSpec } from '../protocol/messages/32-describe-configs.js';
import { spec as createPartitionsSpec } from '../protocol/messages/37-create-partitions.js';
import { spec as incrementalAlterConfigsSpec } from '../protocol/messages/44-incremental-alter-configs.js';
import { spec as listPartitionReassignmentsSpec } from '../protocol/messages/46-list-partition-reassignments.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { ClientError, KafkaError } from './connection.js';
import type { Cluster } from './metadata.js';
import type { AlterOp, ConfigEntry, NewTopic, PartitionMove } from './types.js';

/** IncrementalAlterConfigs operations (Kafka's AlterConfigOp.OpType ids). */
const AlterConfigOp = { SET: 0, DELETE: 1 } as const;

/** Kafka's name of each config source id ("DYNAMIC_TOPIC_CONFIG", ...). */
const configSourceNames = new Map<number, string>(Object.entries(ConfigSourceId).map(([name, id]) => [id, name]));

export class Admin {
  constructor(private readonly cluster: Cluster) {}

  async createTopics(topics: readonly NewTopic[], opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const c = await this.cluster.connection();
    const v = c.version(createTopicsSpec);
    const res = await c.request(createTopicsSpec, {
      topics: topics.map((t) => ({
        name: t.name,
        // v4+ accept -1 for "the broker's default"; older versions need a number.
        numPartitions: t.numPartitions ?? (v >= 4 ? -1 : 1),
        replicationFactor: t.replicationFactor ?? (v >= 4 ? -1 : 1),
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: opts.timeoutMs ?? 30_000,
      validateOnly: opts.validateOnly ?? false,
    });
    for (const t of res.topics) {
      if (t.errorCode !== ErrorCode.NONE) throw new KafkaError(t.errorCode, `create topic "${t.name}"`, t.errorMessage);
    }
    for (const t of topics) this.cluster.forget(t.name);
  }

  /** CreatePartitions: grows a topic to `count` partitions in total. */
  async createPartitions(topic: string, count: number, opts: { timeoutMs?: number } = {}): Promise<void> {
    const c = await this.cluster.connection();
    const res = await c.request(createPartitionsSpec, {
      topics: [{ name: topic, count, assignments: null }],
      timeoutMs: opts.timeoutMs ?? 30_000,
      validateOnly: false,
    });
    for (const r of res.results) {
      if (r.errorCode !== ErrorCode.NONE)
        throw new KafkaError(r.errorCode, `grow topic "${r.name}" to ${count} partitions`, r.errorMessage);
    }
    this.cluster.forget(topic);
  }

  /** ListPartitionReassignments: every partition move in progress. */
  async listPartitionReassignments(): Promise<PartitionMove[]> {
    const c = await this.cluster.connection();
    const res = await c.request(listPartitionReassignmentsSpec, { timeoutMs: 30_000, topics: null });
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, 'list partition reassignments', res.errorMessage);
    return res.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
        adding: p.addingReplicas,
        removing: p.removingReplicas,
      })),
    );
  }

  async deleteTopics(names: readonly string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const c = await this.cluster.connection();
    const byId = c.version(deleteTopicsSpec) >= 6;
    const res = await c.request(deleteTopicsSpec, {
      topics: byId ? names.map((name) => ({ name, topicId: ZERO_UUID })) : [],
      topicNames: byId ? [] : names,
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
    for (const t of res.responses) {
      if (t.errorCode !== ErrorCode.NONE) throw new KafkaError(t.errorCode, `delete topic "${t.name}"`, t.errorMessage);
    }
    for (const n of names) this.cluster.forget(n);
  }

  /** Every config of a resource (or the named keys), with source and flags. */
  async describeConfigs(resourceType: number, name: string, keys: readonly string[] | null = null): Promise<ConfigEntry[]> {
    const c = await this.cluster.connection();
    const res = await c.request(describeConfigsSpec, {
      resources: [{ resourceType, resourceName: name, configurationKeys: keys }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const r = res.results[0];
    if (r === undefined) throw new ClientError('FRANZ_PROTOCOL', `DescribeConfigs answered no result for "${name}"`);
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `describe configs of "${name}"`, r.errorMessage);
    return r.configs.map((e) => ({
      name: e.name,
      value: e.value,
      readOnly: e.readOnly,
      source: e.configSource,
      sourceName: configSourceNames.get(e.configSource) ?? String(e.configSource),
      sensitive: e.isSensitive,
    }));
  }

  async incrementalAlterConfigs(
    resourceType: number,
    name: string,
    ops: readonly AlterOp[],
    opts: { validateOnly?: boolean } = {},
  ): Promise<void> {
    const c = await this.cluster.connection();
    const res = await c.request(incrementalAlterConfigsSpec, {
      resources: [
        {
          resourceType,
          resourceName: name,
          configs: ops.map((o) =>
            o.op === 'set'
              ? { name: o.name, configOperation: AlterConfigOp.SET, value: o.value }
              : { name: o.name, configOperation: AlterConfigOp.DELETE, value: null },
          ),
        },
      ],
      validateOnly: opts.validateOnly ?? false,
    });
    for (const r of res.responses) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `alter configs of "${r.resourceName}"`, r.errorMessage);
    }
  }
}
