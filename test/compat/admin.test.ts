/**
 * Admin APIs against a real broker process: the kafkajs admin client (unchanged, as applications use
 * it) for what it covers — CreateTopics v3, DeleteTopics v1, CreatePartitions v1, DescribeConfigs v2,
 * AlterConfigs v1, DeleteRecords v1, Metadata — and our own codec over a raw socket for the versions
 * and APIs kafkajs never sends (CreateTopics v7, DeleteTopics v6 by id, DescribeConfigs v4 with
 * types and documentation, IncrementalAlterConfigs, DescribeLogDirs, DescribeCluster).
 *
 * The broker runs with auto.create.topics.enable=false so that a topic that should not exist (after
 * validateOnly or a failed create) is not created behind the test's back by a Metadata request, and
 * with log.retention.hours=48 so that a broker-provided default can be told from the built-in one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { startBroker, removeDir, type RunningBroker } from '../helpers/broker.js';
import { RawConnection } from '../helpers/raw.js';
import type { Message } from '../helpers/raw.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';

// kafkajs is CommonJS and its ConfigResourceTypes is not visible as a named ESM export.
const { Kafka: KafkaClient, logLevel, ConfigResourceTypes } = kafkajs;

const DAY_MS = 24 * 3600 * 1000;

// Kafka's numbers, written out here so the test does not just echo the implementation's tables.
const SOURCE = { TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 };
const TYPE = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 };
const ERR = {
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  UNKNOWN_TOPIC_ID: 100,
  MISMATCHED_ENDPOINT_TYPE: 114,
  UNSUPPORTED_ENDPOINT_TYPE: 115,
};

let broker: RunningBroker;
let kafka: Kafka;
let admin: Admin;
let raw: RawConnection;
let nodeId: number;

function connect(port: number): void {
  kafka = new KafkaClient({
    brokers: [`127.0.0.1:${port}`],
    clientId: 'franz-admin-test',
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 },
  });
  admin = kafka.admin();
}

before(async () => {
  broker = await startBroker({ sets: ['auto.create.topics.enable=false', 'log.retention.hours=48'] });
  connect(broker.port);
  await admin.connect();
  raw = await RawConnection.open(broker.port);
  const cluster = await admin.describeCluster();
  nodeId = cluster.brokers[0]!.nodeId;
});

after(async () => {
  raw?.close();
  await admin?.disconnect();
  if (broker) {
    if (broker.process.exitCode === null) await broker.stop();
    removeDir(broker.dataDir);
  }
});

/** Every Kafka error type in a kafkajs error: its own, its cause's, and those of nested errors. */
function errorTypes(e: any, out: string[] = []): string[] {
  if (e == null || typeof e !== 'object') return out;
  if (typeof e.type === 'string') out.push(e.type);
  errorTypes(e.cause, out);
  for (const x of e.errors ?? []) errorTypes(x, out);
  for (const p of e.partitions ?? []) errorTypes(p.error, out);
  return out;
}

/** kafkajs rejects with an error naming Kafka's error `type`. */
async function rejectsWith(p: Promise<unknown>, type: string): Promise<void> {
  await assert.rejects(p, (e: any) => {
    const types = errorTypes(e);
    assert.ok(types.includes(type), `expected ${type}, got ${JSON.stringify(types)} (${e.name}: ${e.message})`);
    return true;
  });
}

async function topicConfig(topic: string, names?: string[], includeSynonyms = false): Promise<Map<string, any>> {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
    includeSynonyms,
  });
  assert.equal(resources.length, 1);
  assert.equal(resources[0]!.errorCode, 0);
  return new Map(resources[0]!.configEntries.map((e: any) => [e.configName, e]));
}

test('createTopics: partitions, configs, already exists, bad names and counts, validateOnly', async () => {
  const created = await admin.createTopics({
    topics: [
      {
        topic: 'adm-a',
        numPartitions: 3,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'retention.ms', value: '3600000' },
        ],
      },
      { topic: 'adm-records' },
      { topic: 'adm.dot' },
    ],
  });
  assert.equal(created, true);
  // kafkajs answers false when every topic already exists.
  assert.equal(await admin.createTopics({ topics: [{ topic: 'adm-a', numPartitions: 3 }] }), false);

  await rejectsWith(admin.createTopics({ topics: [{ topic: 'bad name!' }], waitForLeaders: false }), 'INVALID_TOPIC_EXCEPTION');
  await rejectsWith(admin.createTopics({ topics: [{ topic: 'adm-zero', numPartitions: 0 }], waitForLeaders: false }), 'INVALID_PARTITIONS');
  await rejectsWith(
    admin.createTopics({ topics: [{ topic: 'adm-rf3', replicationFactor: 3 }], waitForLeaders: false }),
    'INVALID_REPLICATION_FACTOR',
  );
  await rejectsWith(
    admin.createTopics({ topics: [{ topic: 'adm-cfg', configEntries: [{ name: 'no.such.key', value: '1' }] }], waitForLeaders: false }),
    'INVALID_CONFIG',
  );
  await rejectsWith(
    admin.createTopics({ topics: [{ topic: 'adm-cfg', configEntries: [{ name: 'retention.ms', value: 'soon' }] }], waitForLeaders: false }),
    'INVALID_CONFIG',
  );
  // Values outside Kafka's ranges (LogConfig's validators) are refused too: before, segment.bytes=0
  // made a topic, and max.message.bytes=-1 one whose every Produce failed in the handler.
  for (const [name, value] of [
    ['segment.bytes', '0'],
    ['max.message.bytes', '-1'],
    ['segment.ms', '0'],
    ['min.insync.replicas', '0'],
    ['min.cleanable.dirty.ratio', '7'],
    ['segment.bytes', '1.5'],
  ]) {
    await rejectsWith(
      admin.createTopics({ topics: [{ topic: 'adm-range', configEntries: [{ name: name!, value: value! }] }], waitForLeaders: false }),
      'INVALID_CONFIG',
    );
  }
  assert.equal((await admin.listTopics()).includes('adm-range'), false);
  // Manual assignment: only this node can hold replicas.
  await rejectsWith(
    admin.createTopics({
      topics: [{ topic: 'adm-assign-bad', replicaAssignment: [{ partition: 0, replicas: [nodeId + 1] }] }],
      waitForLeaders: false,
    }),
    'INVALID_REPLICA_ASSIGNMENT',
  );
  assert.equal(
    await admin.createTopics({
      topics: [
        {
          topic: 'adm-assign',
          replicaAssignment: [
            { partition: 0, replicas: [nodeId] },
            { partition: 1, replicas: [nodeId] },
          ],
        },
      ],
    }),
    true,
  );

  assert.equal(
    await admin.createTopics({ topics: [{ topic: 'adm-validate', numPartitions: 2 }], validateOnly: true, waitForLeaders: false }),
    true,
  );
  const topics = await admin.listTopics();
  assert.ok(topics.includes('adm-a') && topics.includes('adm-records') && topics.includes('adm-assign'));
  for (const absent of ['adm-validate', 'adm-zero', 'adm-rf3', 'adm-cfg', 'adm-assign-bad']) assert.ok(!topics.includes(absent), absent);
});

test('a compacted topic takes every compaction config Kafka accepts (librdkafka 0077_compaction sets max.compaction.lag.ms)', async () => {
  await admin.createTopics({
    topics: [
      {
        topic: 'adm-compacted',
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'max.compaction.lag.ms', value: '60000' },
          { name: 'min.compaction.lag.ms', value: '1000' },
          { name: 'segment.jitter.ms', value: '0' },
          { name: 'preallocate', value: 'false' },
        ],
      },
    ],
  });
  const cfg = await topicConfig('adm-compacted', ['max.compaction.lag.ms', 'segment.jitter.ms', 'preallocate']);
  assert.equal(cfg.get('max.compaction.lag.ms')?.configValue, '60000');
  assert.equal(cfg.get('segment.jitter.ms')?.configValue, '0');
  assert.equal(cfg.get('preallocate')?.configValue, 'false');
  await rejectsWith(
    admin.createTopics({
      topics: [{ topic: 'adm-lag0', configEntries: [{ name: 'max.compaction.lag.ms', value: '0' }] }],
      waitForLeaders: false,
    }),
    'INVALID_CONFIG',
  );
});

test('CreateTopics v7 (raw): duplicates, topic id, resolved counts and configs, collisions', async () => {
  const res = await raw.request(19, 7, {
    topics: [
      {
        name: 'adm-v7',
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [],
        configs: [{ name: 'retention.bytes', value: '1000000' }],
      },
      { name: 'adm-dup', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'adm-dup', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'adm_dot', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'adm-nullcfg', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: null }] },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const byName = new Map<string, Message[]>();
  for (const t of res.topics as Message[]) byName.set(t.name, [...(byName.get(t.name) ?? []), t]);
  const v7 = byName.get('adm-v7')![0]!;
  assert.equal(v7.errorCode, 0);
  assert.notEqual(v7.topicId, ZERO_UUID);
  assert.equal(v7.numPartitions, 1); // num.partitions default
  assert.equal(v7.replicationFactor, 1);
  const cfg = new Map((v7.configs as Message[]).map((c) => [c.name, c]));
  assert.equal(cfg.get('retention.bytes')!.value, '1000000');
  assert.equal(cfg.get('retention.bytes')!.configSource, SOURCE.TOPIC);
  assert.equal(cfg.get('retention.ms')!.value, String(2 * DAY_MS));
  assert.equal(cfg.get('retention.ms')!.configSource, SOURCE.STATIC_BROKER);
  assert.equal(cfg.get('segment.bytes')!.configSource, SOURCE.DEFAULT);

  assert.equal(byName.get('adm-dup')!.length, 1);
  assert.equal(byName.get('adm-dup')![0]!.errorCode, ERR.INVALID_REQUEST);
  assert.equal(byName.get('adm_dot')![0]!.errorCode, ERR.INVALID_TOPIC_EXCEPTION);
  assert.match(byName.get('adm_dot')![0]!.errorMessage, /collides/);
  assert.equal(byName.get('adm-nullcfg')![0]!.errorCode, ERR.INVALID_CONFIG);

  // The id is the one Metadata reports.
  const meta = await raw.request(3, 12, {
    topics: [{ name: 'adm-v7', topicId: ZERO_UUID }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  assert.equal((meta.topics as Message[])[0]!.topicId, v7.topicId);
  assert.ok(!(await admin.listTopics()).includes('adm-dup'));
});

test('ElectLeaders on a single node: never needed for a partition it has, unknown for one it has not', async () => {
  await admin.createTopics({ topics: [{ topic: 'elect-one', numPartitions: 2 }] });
  const res = await raw.request(43, 2, {
    electionType: 0,
    topicPartitions: [
      { topic: 'elect-one', partitionId: [0, 1, 5] },
      { topic: 'elect-none', partitionId: [0] },
    ],
    timeoutMs: 1000,
  });
  const codes = res.replicaElectionResults.flatMap((t: any) => t.partitionResult.map((p: any) => [t.topic, p.partitionId, p.errorCode]));
  assert.deepEqual(codes, [
    ['elect-one', 0, 84],
    ['elect-one', 1, 84],
    ['elect-one', 5, 3],
    ['elect-none', 0, 3],
  ]);
  const all = await raw.request(43, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
  assert.deepEqual(all.replicaElectionResults, []);
});

test('fetchTopicMetadata reports the created partitions led by this node', async () => {
  const { topics } = await admin.fetchTopicMetadata({ topics: ['adm-a', 'adm-assign'] });
  const a = topics.find((t) => t.name === 'adm-a')!;
  assert.equal(a.partitions.length, 3);
  for (const p of a.partitions) {
    assert.equal(p.leader, nodeId);
    assert.deepEqual(p.replicas, [nodeId]);
  }
  assert.equal(topics.find((t) => t.name === 'adm-assign')!.partitions.length, 2);
});

test('createPartitions: increase, no decrease, unknown topic, validateOnly', async () => {
  await admin.createPartitions({ topicPartitions: [{ topic: 'adm-a', count: 5 }] });
  let meta = await admin.fetchTopicMetadata({ topics: ['adm-a'] });
  assert.equal(meta.topics[0]!.partitions.length, 5);

  await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic: 'adm-a', count: 4 }] }), 'INVALID_PARTITIONS');
  await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic: 'adm-a', count: 5 }] }), 'INVALID_PARTITIONS');
  await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic: 'adm-none', count: 2 }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
  await rejectsWith(
    admin.createPartitions({ topicPartitions: [{ topic: 'adm-a', count: 6, assignments: [[nodeId + 7]] }] }),
    'INVALID_REPLICA_ASSIGNMENT',
  );
  await admin.createPartitions({ topicPartitions: [{ topic: 'adm-a', count: 8 }], validateOnly: true });
  meta = await admin.fetchTopicMetadata({ topics: ['adm-a'] });
  assert.equal(meta.topics[0]!.partitions.length, 5);

  // New partitions take records (keyed: adm-a is compacted, and Kafka refuses keyless records there).
  const producer = kafka.producer();
  await producer.connect();
  const [r] = await producer.send({ topic: 'adm-a', messages: [{ key: 'k', value: 'x', partition: 4 }] });
  await producer.disconnect();
  assert.equal(r!.partition, 4);
  assert.equal(r!.errorCode, 0);
});

test('describeConfigs (topic): values set at creation, sources, synonyms, one key', async () => {
  const cfg = await topicConfig('adm-a', undefined, true);
  const policy = cfg.get('cleanup.policy');
  assert.equal(policy.configValue, 'compact');
  assert.equal(policy.configSource, SOURCE.TOPIC);
  assert.equal(policy.isDefault, false);
  assert.deepEqual(
    policy.configSynonyms.map((s: any) => [s.configName, s.configValue, s.configSource]),
    [
      ['cleanup.policy', 'compact', SOURCE.TOPIC],
      ['log.cleanup.policy', 'delete', SOURCE.DEFAULT],
    ],
  );
  const retention = cfg.get('retention.ms');
  assert.equal(retention.configValue, '3600000');
  assert.equal(retention.configSource, SOURCE.TOPIC);
  // Override, then the static broker setting that would apply, then the built-in default.
  assert.deepEqual(
    retention.configSynonyms.map((s: any) => [s.configName, s.configValue, s.configSource]),
    [
      ['retention.ms', '3600000', SOURCE.TOPIC],
      ['log.retention.hours', '48', SOURCE.STATIC_BROKER],
      ['log.retention.ms', String(7 * DAY_MS), SOURCE.DEFAULT],
    ],
  );
  const segment = cfg.get('segment.bytes');
  assert.equal(segment.configValue, String(1024 * 1024 * 1024));
  assert.equal(segment.configSource, SOURCE.DEFAULT);
  assert.equal(segment.isDefault, true);
  assert.equal(segment.readOnly, false);

  // What Kafka Connect asks: a single key.
  const only = await topicConfig('adm-records', ['cleanup.policy']);
  assert.deepEqual([...only.keys()], ['cleanup.policy']);
  assert.equal(only.get('cleanup.policy').configValue, 'delete');
  assert.equal(only.get('cleanup.policy').configSource, SOURCE.DEFAULT);

  // A topic without override falls back to the broker's log.retention.hours.
  const records = await topicConfig('adm-records', ['retention.ms']);
  assert.equal(records.get('retention.ms').configValue, String(2 * DAY_MS));
  assert.equal(records.get('retention.ms').configSource, SOURCE.STATIC_BROKER);

  await rejectsWith(
    admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'adm-none' }], includeSynonyms: false }),
    'UNKNOWN_TOPIC_OR_PARTITION',
  );
});

test('describeConfigs (broker): static and default values, read-only', async () => {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(nodeId) }],
    includeSynonyms: true,
  });
  assert.equal(resources[0]!.errorCode, 0);
  const cfg = new Map(resources[0]!.configEntries.map((e: any) => [e.configName, e]));
  const hours = cfg.get('log.retention.hours') as any;
  assert.equal(hours.configValue, '48');
  assert.equal(hours.configSource, SOURCE.STATIC_BROKER);
  assert.equal(hours.readOnly, true);
  const ms = cfg.get('log.retention.ms') as any;
  assert.equal(ms.configValue, String(2 * DAY_MS), 'the value topics fall back to');
  assert.equal(ms.configSource, SOURCE.STATIC_BROKER);
  const auto = cfg.get('auto.create.topics.enable') as any;
  assert.equal(auto.configValue, 'false');
  assert.equal(auto.configSource, SOURCE.STATIC_BROKER);
  const parts = cfg.get('num.partitions') as any;
  assert.equal(parts.configValue, '1');
  assert.equal(parts.configSource, SOURCE.DEFAULT);
  assert.equal((cfg.get('node.id') as any).configValue, String(nodeId));
  // The address really listened on (--listen), not the default of the listeners key.
  assert.equal((cfg.get('listeners') as any).configValue, `PLAINTEXT://127.0.0.1:${broker.port}`);
  assert.equal((cfg.get('log.dirs') as any).configValue, broker.dataDir);
  assert.equal((cfg.get('log.dirs') as any).configSource, SOURCE.STATIC_BROKER);
});

test('DescribeConfigs v4 (raw): config types, documentation, bad resources', async () => {
  const res = await raw.request(32, 4, {
    resources: [
      {
        resourceType: 2,
        resourceName: 'adm-a',
        configurationKeys: ['cleanup.policy', 'retention.ms', 'segment.bytes', 'compression.type', 'nope'],
      },
      { resourceType: 4, resourceName: String(nodeId), configurationKeys: ['delete.topic.enable'] },
      { resourceType: 4, resourceName: String(nodeId + 1), configurationKeys: null },
      { resourceType: 4, resourceName: '', configurationKeys: null },
      { resourceType: 8, resourceName: String(nodeId), configurationKeys: null },
      { resourceType: 2, resourceName: 'bad name!', configurationKeys: null },
      { resourceType: 99, resourceName: 'x', configurationKeys: null },
    ],
    includeSynonyms: false,
    includeDocumentation: true,
  });
  const [topic, brokerRes, otherBroker, clusterDefault, logger, badName, badType] = res.results as Message[];
  assert.equal(topic!.errorCode, 0);
  const types = Object.fromEntries((topic!.configs as Message[]).map((c) => [c.name, c.configType]));
  assert.deepEqual(types, {
    'cleanup.policy': TYPE.LIST,
    'retention.ms': TYPE.LONG,
    'segment.bytes': TYPE.INT,
    'compression.type': TYPE.STRING,
  });
  for (const c of topic!.configs as Message[]) {
    assert.equal(typeof c.documentation, 'string');
    assert.deepEqual(c.synonyms, []);
  }
  assert.equal(brokerRes!.errorCode, 0);
  assert.equal((brokerRes!.configs as Message[])[0]!.configType, TYPE.BOOLEAN);
  assert.equal((brokerRes!.configs as Message[])[0]!.value, 'true');
  assert.equal(otherBroker!.errorCode, ERR.INVALID_REQUEST);
  assert.equal(clusterDefault!.errorCode, 0);
  assert.deepEqual(clusterDefault!.configs, []);
  assert.equal(logger!.errorCode, 0);
  assert.equal(badName!.errorCode, ERR.INVALID_TOPIC_EXCEPTION);
  assert.equal(badType!.errorCode, ERR.INVALID_REQUEST);
});

test('alterConfigs replaces the overrides; validateOnly and bad values change nothing', async () => {
  const alter = (configEntries: Array<{ name: string; value: string }>, validateOnly = false) =>
    admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'adm-a', configEntries }], validateOnly });

  const { resources } = await alter([{ name: 'retention.ms', value: '7200000' }]);
  assert.equal(resources[0]!.errorCode, 0);
  let cfg = await topicConfig('adm-a', ['retention.ms', 'cleanup.policy']);
  assert.equal(cfg.get('retention.ms').configValue, '7200000');
  assert.equal(cfg.get('retention.ms').configSource, SOURCE.TOPIC);
  // cleanup.policy was not named, so its override is gone (AlterConfigs is a full replacement).
  assert.equal(cfg.get('cleanup.policy').configValue, 'delete');
  assert.equal(cfg.get('cleanup.policy').configSource, SOURCE.DEFAULT);

  await alter([{ name: 'retention.ms', value: '1' }], true);
  await rejectsWith(alter([{ name: 'retention.ms', value: 'forever' }]), 'INVALID_CONFIG');
  await rejectsWith(alter([{ name: 'retention.ms', value: '-2' }]), 'INVALID_CONFIG');
  await rejectsWith(alter([{ name: 'no.such.key', value: '1' }]), 'INVALID_CONFIG');
  cfg = await topicConfig('adm-a', ['retention.ms']);
  assert.equal(cfg.get('retention.ms').configValue, '7200000');

  await rejectsWith(
    admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'adm-none', configEntries: [] }], validateOnly: false }),
    'UNKNOWN_TOPIC_OR_PARTITION',
  );
  // Dynamic broker configs are not supported.
  const res = await raw.request(33, 1, {
    resources: [{ resourceType: 4, resourceName: String(nodeId), configs: [{ name: 'log.retention.hours', value: '1' }] }],
    validateOnly: false,
  });
  const r0 = (res.responses as Message[])[0]!;
  assert.equal(r0.errorCode, ERR.INVALID_REQUEST);
  assert.match(r0.errorMessage, /dynamic broker configs/);
});

test('IncrementalAlterConfigs (raw): SET, DELETE, APPEND, SUBTRACT', async () => {
  const iac = async (configs: Array<{ name: string; configOperation: number; value: string | null }>, validateOnly = false) => {
    const res = await raw.request(44, 1, { resources: [{ resourceType: 2, resourceName: 'adm-records', configs }], validateOnly });
    return (res.responses as Message[])[0]!;
  };
  const policy = async () => (await topicConfig('adm-records', ['cleanup.policy'])).get('cleanup.policy').configValue;

  assert.equal((await iac([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }])).errorCode, 0);
  assert.equal(await policy(), 'delete,compact');
  assert.equal((await iac([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }])).errorCode, 0);
  assert.equal(await policy(), 'compact');
  assert.equal((await iac([{ name: 'cleanup.policy', configOperation: 0, value: 'delete' }], true)).errorCode, 0);
  assert.equal(await policy(), 'compact', 'validateOnly');
  assert.equal((await iac([{ name: 'retention.ms', configOperation: 2, value: '5' }])).errorCode, ERR.INVALID_CONFIG);
  assert.equal((await iac([{ name: 'cleanup.policy', configOperation: 3, value: 'compact' }])).errorCode, ERR.INVALID_CONFIG, 'empty list');
  assert.equal((await iac([{ name: 'cleanup.policy', configOperation: 0, value: null }])).errorCode, ERR.INVALID_REQUEST);
  assert.equal((await iac([{ name: 'cleanup.policy', configOperation: 9, value: 'x' }])).errorCode, ERR.INVALID_REQUEST);
  assert.equal(await policy(), 'compact', 'failed requests change nothing');

  // SET and DELETE in one request; the other override stays (incremental, not a replacement).
  assert.equal(
    (
      await iac([
        { name: 'segment.ms', configOperation: 0, value: '60000' },
        { name: 'cleanup.policy', configOperation: 1, value: null },
      ])
    ).errorCode,
    0,
  );
  const cfg = await topicConfig('adm-records', ['segment.ms', 'cleanup.policy']);
  assert.equal(cfg.get('segment.ms').configValue, '60000');
  assert.equal(cfg.get('segment.ms').configSource, SOURCE.TOPIC);
  assert.equal(cfg.get('cleanup.policy').configValue, 'delete');
  assert.equal(cfg.get('cleanup.policy').configSource, SOURCE.DEFAULT);

  const brokerRes = await raw.request(44, 0, {
    resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.hours', configOperation: 0, value: '1' }] }],
    validateOnly: false,
  });
  assert.equal((brokerRes.responses as Message[])[0]!.errorCode, ERR.INVALID_REQUEST);
});

test('deleteTopicRecords moves the low watermark; beyond the high watermark is refused', async () => {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'adm-records', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });
  await producer.disconnect();

  await admin.deleteTopicRecords({ topic: 'adm-records', partitions: [{ partition: 0, offset: '4' }] });
  let [o] = await admin.fetchTopicOffsets('adm-records');
  assert.equal(o!.low, '4');
  assert.equal(o!.high, '10');

  await rejectsWith(
    admin.deleteTopicRecords({ topic: 'adm-records', partitions: [{ partition: 0, offset: '11' }] }),
    'OFFSET_OUT_OF_RANGE',
  );
  // Below the current start: accepted, nothing moves back.
  await admin.deleteTopicRecords({ topic: 'adm-records', partitions: [{ partition: 0, offset: '2' }] });
  [o] = await admin.fetchTopicOffsets('adm-records');
  assert.equal(o!.low, '4');

  // Raw v2: -1 means the high watermark; unknown partitions are per-partition errors.
  const res = await raw.request(21, 2, {
    topics: [
      {
        name: 'adm-records',
        partitions: [
          { partitionIndex: 0, offset: 7 },
          { partitionIndex: 9, offset: 0 },
        ],
      },
      { name: 'adm-none', partitions: [{ partitionIndex: 0, offset: 0 }] },
    ],
    timeoutMs: 5000,
  });
  const [recs, none] = res.topics as Message[];
  assert.deepEqual(recs!.partitions, [
    { partitionIndex: 0, lowWatermark: 7, errorCode: 0 },
    { partitionIndex: 9, lowWatermark: -1, errorCode: ERR.UNKNOWN_TOPIC_OR_PARTITION },
  ]);
  assert.equal((none!.partitions as Message[])[0]!.errorCode, ERR.UNKNOWN_TOPIC_OR_PARTITION);
  const all = await raw.request(21, 1, {
    topics: [{ name: 'adm-records', partitions: [{ partitionIndex: 0, offset: -1 }] }],
    timeoutMs: 5000,
  });
  assert.equal(((all.topics as Message[])[0]!.partitions as Message[])[0]!.lowWatermark, 10);
});

test('describeCluster (kafkajs, via Metadata) and DescribeCluster v0-2 (raw)', async () => {
  const c = await admin.describeCluster();
  assert.equal(c.brokers.length, 1);
  assert.equal(c.brokers[0]!.port, broker.port);
  assert.equal(c.controller, nodeId);
  assert.ok(c.clusterId.length > 0);

  for (const v of [0, 1, 2]) {
    const res = await raw.request(60, v, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: false });
    assert.equal(res.errorCode, 0, `v${v}`);
    assert.equal(res.clusterId, c.clusterId);
    assert.equal(res.controllerId, nodeId);
    assert.deepEqual(
      (res.brokers as Message[]).map((b) => [b.brokerId, b.host, b.port]),
      [[nodeId, '127.0.0.1', broker.port]],
    );
    assert.equal(res.clusterAuthorizedOperations, -2147483648);
  }
  const controllers = await raw.request(60, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
  assert.equal(controllers.errorCode, ERR.MISMATCHED_ENDPOINT_TYPE);
  assert.deepEqual(controllers.brokers, []);
  const unknown = await raw.request(60, 1, { includeClusterAuthorizedOperations: false, endpointType: 7 });
  assert.equal(unknown.errorCode, ERR.UNSUPPORTED_ENDPOINT_TYPE);
});

test('DescribeLogDirs v1-4 (raw): one directory, partition sizes, disk space', async () => {
  const res = await raw.request(35, 4, { topics: null });
  assert.equal(res.errorCode, 0);
  assert.equal((res.results as Message[]).length, 1);
  const dir = (res.results as Message[])[0]!;
  assert.equal(dir.errorCode, 0);
  assert.equal(dir.logDir, broker.dataDir);
  assert.ok(dir.totalBytes > 0 && dir.usableBytes >= 0 && dir.usableBytes <= dir.totalBytes);
  const topics = new Map((dir.topics as Message[]).map((t) => [t.name, t.partitions as Message[]]));
  assert.equal(topics.get('adm-a')!.length, 5);
  const recs = topics.get('adm-records')![0]!;
  assert.ok(recs.partitionSize > 0, 'the records produced take space');
  assert.equal(recs.offsetLag, 0);
  assert.equal(recs.isFutureKey, false);

  const some = await raw.request(35, 1, {
    topics: [
      { topic: 'adm-a', partitions: [1, 4, 42] },
      { topic: 'adm-none', partitions: [0] },
    ],
  });
  const only = (some.results as Message[])[0]!.topics as Message[];
  assert.deepEqual(
    only.map((t) => [t.name, (t.partitions as Message[]).map((p) => p.partitionIndex)]),
    [['adm-a', [1, 4]]],
  );
});

test('deleteTopics: by name (kafkajs), by id (v6), unknown names and ids', async () => {
  await admin.deleteTopics({ topics: ['adm-assign'] });
  assert.ok(!(await admin.listTopics()).includes('adm-assign'));
  await rejectsWith(admin.deleteTopics({ topics: ['adm-none'] }), 'UNKNOWN_TOPIC_OR_PARTITION');

  const meta = await raw.request(3, 12, {
    topics: [{ name: 'adm-v7', topicId: ZERO_UUID }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  const id = (meta.topics as Message[])[0]!.topicId as string;
  const unknownId = 'ab'.repeat(16);
  const res = await raw.request(20, 6, {
    topics: [
      { name: null, topicId: id },
      { name: null, topicId: unknownId },
      { name: 'adm-none', topicId: ZERO_UUID },
    ],
    timeoutMs: 5000,
  });
  const [byId, badId, badName] = res.responses as Message[];
  assert.deepEqual([byId!.name, byId!.topicId, byId!.errorCode], ['adm-v7', id, 0]);
  assert.deepEqual([badId!.name, badId!.topicId, badId!.errorCode], [null, unknownId, ERR.UNKNOWN_TOPIC_ID]);
  assert.equal(badName!.errorCode, ERR.UNKNOWN_TOPIC_OR_PARTITION);
  assert.ok(!(await admin.listTopics()).includes('adm-v7'));
});

test('ApiVersions advertises the admin APIs with their ranges', async () => {
  const res = await raw.request(18, 3, { clientSoftwareName: 'admin-test', clientSoftwareVersion: '1' });
  const ranges = new Map((res.apiKeys as Message[]).map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  const expected: Record<number, number[]> = {
    19: [2, 7],
    20: [1, 6],
    21: [0, 2],
    32: [1, 4],
    33: [0, 2],
    35: [1, 4],
    37: [0, 3],
    44: [0, 1],
    60: [0, 2],
  };
  for (const [key, range] of Object.entries(expected)) assert.deepEqual(ranges.get(Number(key)), range, `API ${key}`);
});

test('ApiVersions v3+ carries the features franz implements (KIP-584); earlier versions cannot', async () => {
  const v3 = await raw.request(18, 3, { clientSoftwareName: 'admin-test', clientSoftwareVersion: '1' });
  assert.deepEqual(
    (v3.supportedFeatures as Message[]).find((f) => f.name === 'group.version'),
    { name: 'group.version', minVersion: 0, maxVersion: 1 },
  );
  assert.deepEqual(
    (v3.finalizedFeatures as Message[]).find((f) => f.name === 'group.version'),
    { name: 'group.version', maxVersionLevel: 1, minVersionLevel: 1 },
  );
  // Transactions v2 (KIP-890), finalized by default (franz.transaction.version).
  assert.deepEqual(
    (v3.supportedFeatures as Message[]).find((f) => f.name === 'transaction.version'),
    { name: 'transaction.version', minVersion: 0, maxVersion: 2 },
  );
  assert.deepEqual(
    (v3.finalizedFeatures as Message[]).find((f) => f.name === 'transaction.version'),
    { name: 'transaction.version', maxVersionLevel: 2, minVersionLevel: 2 },
  );
  assert.ok(v3.finalizedFeaturesEpoch >= 0, 'a finalized epoch, so clients take the finalized levels');
  const v2 = await raw.request(18, 2, {});
  assert.deepEqual(v2.supportedFeatures, [], 'v2 has no features field');
});

test('InitProducerId with a transactional id keeps the producer id and bumps the epoch each time', async () => {
  const first = await raw.request(22, 4, { transactionalId: 'txn-1', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  assert.equal(first.errorCode, 0);
  assert.ok(first.producerId >= 0);
  const second = await raw.request(22, 4, { transactionalId: 'txn-1', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  assert.deepEqual([second.errorCode, second.producerId, second.producerEpoch], [0, first.producerId, first.producerEpoch + 1]);
  const idempotent = await raw.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  assert.equal(idempotent.errorCode, 0);
  assert.notEqual(idempotent.producerId, first.producerId);
});

test('OffsetCommit to a topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION; the other topics commit', async () => {
  await admin.createTopics({ topics: [{ topic: 'adm-commit', numPartitions: 1 }] });
  const partition = { partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null };
  const r = await raw.request(8, 8, {
    groupId: 'adm-commit-group',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      { name: 'adm-commit', partitions: [partition] },
      { name: 'adm-no-such-topic', partitions: [partition, { ...partition, partitionIndex: 1 }] },
    ],
  });
  const codes = (r.topics as Message[]).map((t) => [t.name, (t.partitions as Message[]).map((p) => p.errorCode)]);
  assert.deepEqual(codes, [
    ['adm-commit', [0]],
    ['adm-no-such-topic', [ERR.UNKNOWN_TOPIC_OR_PARTITION, ERR.UNKNOWN_TOPIC_OR_PARTITION]],
  ]);
  const fetched = await raw.request(9, 8, {
    groups: [{ groupId: 'adm-commit-group', topics: null }],
    requireStable: false,
  });
  const topics = ((fetched.groups as Message[])[0]!.topics as Message[]).map((t) => t.name);
  assert.deepEqual(topics, ['adm-commit'], 'nothing was stored for the unknown topic');
});

test('delete.topic.enable=false: TOPIC_DELETION_DISABLED (v3+), INVALID_REQUEST before', async () => {
  const other = await startBroker({ sets: ['delete.topic.enable=false'] });
  const conn = await RawConnection.open(other.port);
  try {
    const created = await conn.request(19, 4, {
      topics: [{ name: 'keep', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal((created.topics as Message[])[0]!.errorCode, 0);
    const v6 = await conn.request(20, 6, { topics: [{ name: 'keep', topicId: ZERO_UUID }], timeoutMs: 5000 });
    assert.equal((v6.responses as Message[])[0]!.errorCode, 73);
    const v1 = await conn.request(20, 1, { topicNames: ['keep'], timeoutMs: 5000 });
    assert.equal((v1.responses as Message[])[0]!.errorCode, ERR.INVALID_REQUEST);
    const meta = await conn.request(3, 12, {
      topics: [{ name: 'keep', topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal((meta.topics as Message[])[0]!.errorCode, 0, 'still there');
  } finally {
    conn.close();
    await other.stop();
    removeDir(other.dataDir);
  }
});

test('a DeleteRecords start offset survives a crash (kill -9) and restart', async () => {
  const res = await raw.request(21, 2, { topics: [{ name: 'adm-a', partitions: [{ partitionIndex: 4, offset: 1 }] }], timeoutMs: 5000 });
  assert.equal(((res.topics as Message[])[0]!.partitions as Message[])[0]!.lowWatermark, 1);
  raw.close();
  await admin.disconnect();
  await broker.kill9();

  broker = await startBroker({ dataDir: broker.dataDir, sets: ['auto.create.topics.enable=false', 'log.retention.hours=48'] });
  connect(broker.port);
  await admin.connect();
  raw = await RawConnection.open(broker.port);
  const offsets = await admin.fetchTopicOffsets('adm-a');
  assert.equal(offsets.find((o) => o.partition === 4)!.low, '1');
  const records = await admin.fetchTopicOffsets('adm-records');
  assert.equal(records[0]!.low, '10');
  // Configs survive too.
  const cfg = await topicConfig('adm-a', ['retention.ms']);
  assert.equal(cfg.get('retention.ms').configValue, '7200000');
});
