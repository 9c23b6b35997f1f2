/**
 * Config resources as the admin APIs see them (DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs, and the configs returned by CreateTopics v5+): Kafka's resource types,
 * ConfigSource and ConfigType numbers, each key's type, and the entries with their sources and
 * synonyms. Values and sources come from the Broker (`topicConfigValue`) and BrokerConfig, so this
 * file only translates them into Kafka's vocabulary.
 *
 * Synonyms, in Kafka's order: the topic override (DYNAMIC_TOPIC_CONFIG), then the broker keys that
 * provide the default and are set in the static configuration (STATIC_BROKER_CONFIG, in the order in
 * which they take precedence: `log.retention.ms`, `log.retention.minutes`, `log.retention.hours`),
 * then the built-in default under the broker key's name (DEFAULT_CONFIG). Kafka drops every
 * synonym when the primary broker key has no default of its own (`retention.ms` shows no synonyms
 * there); franz always lists the primary broker key's default, which is what the value falls back to.
 */
import { BROKER_KEYS, TOPIC_KEYS, validateTopicConfigs, type BrokerConfig, type ConfigSource, type KeyType } from '../config.js';
import type { Broker } from '../broker.js';
import type { Message } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/errors.js';
import { invalidTopicName, type TopicInfo } from '../metadata/topics.js';

/** Kafka's ConfigResource.Type ids. */
export const ResourceType = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const;

/** Kafka's DescribeConfigsResponse.ConfigSource ids (int8 on the wire). */
export const ConfigSourceId = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

/** Kafka's DescribeConfigsResponse.ConfigType ids (int8 on the wire, DescribeConfigs v3+). */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;

export function sourceId(s: ConfigSource): number {
  return ConfigSourceId[s];
}

const TYPE_IDS: Record<KeyType, number> = {
  int: ConfigType.INT,
  short: ConfigType.SHORT,
  long: ConfigType.LONG,
  double: ConfigType.DOUBLE,
  boolean: ConfigType.BOOLEAN,
  string: ConfigType.STRING,
  list: ConfigType.LIST,
};

/** A key's type as Kafka's ConfigDef declares it (broker keys: KafkaConfig; topic keys: LogConfig). */
export function configType(name: string): number {
  const t = BROKER_KEYS[name]?.type ?? TOPIC_KEYS[name]?.type;
  return t === undefined ? ConfigType.UNKNOWN : TYPE_IDS[t];
}

/** Topic keys whose values are comma-separated lists (IncrementalAlterConfigs APPEND/SUBTRACT). */
export function isListKey(name: string): boolean {
  return configType(name) === ConfigType.LIST;
}

const TOPIC_DOCS: Record<string, string> = {
  'cleanup.policy': 'delete and/or compact: what happens to old segments (franz implements delete)',
  'compression.type': 'compression of stored batches; producer keeps what the producer sent',
  'delete.retention.ms': 'how long delete tombstones are kept in compacted topics',
  'file.delete.delay.ms': 'delay before a deleted segment file is removed',
  'flush.messages': 'no-fsync mode: fsync after this many messages',
  'flush.ms': 'no-fsync mode: fsync after this many milliseconds',
  'index.interval.bytes': 'bytes between offset index entries',
  'max.message.bytes': 'largest record batch accepted',
  'message.timestamp.type': 'CreateTime or LogAppendTime',
  'min.cleanable.dirty.ratio': 'compaction trigger ratio',
  'min.compaction.lag.ms': 'minimum age before a record may be compacted',
  'min.insync.replicas': 'replicas that must acknowledge acks=all writes',
  'retention.bytes': 'partition size before old segments are deleted (-1: no limit)',
  'retention.ms': 'age before old segments are deleted (-1: forever)',
  'segment.bytes': 'segment file size before a roll',
  'segment.ms': 'segment age before a roll',
  'segment.index.bytes': 'size of a segment\'s offset index file',
};

/**
 * Broker keys that stand for the same setting, in the order in which a set value takes precedence
 * (see BrokerConfig.derivedBrokerValue). Keyed by the broker key named in TOPIC_KEYS.
 */
const BROKER_SYNONYMS: Record<string, readonly string[]> = {
  'log.retention.ms': ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  'log.roll.ms': ['log.roll.ms', 'log.roll.hours'],
  'log.index.interval.bytes': ['index.interval.bytes', 'log.index.interval.bytes'],
};

interface Synonym {
  name: string;
  value: string | null;
  source: number;
}

/** Static broker settings for a broker key (and its aliases), then the key's built-in default. */
function brokerSynonyms(config: BrokerConfig, brokerKey: string, builtInDefault: string | null): Synonym[] {
  const out: Synonym[] = [];
  for (const k of BROKER_SYNONYMS[brokerKey] ?? [brokerKey]) {
    if (config.isSet(k)) out.push({ name: k, value: config.get(k), source: ConfigSourceId.STATIC_BROKER_CONFIG });
  }
  if (builtInDefault !== null && builtInDefault !== '') {
    out.push({ name: brokerKey, value: builtInDefault, source: ConfigSourceId.DEFAULT_CONFIG });
  }
  return out;
}

export interface DescribeOptions {
  /** null or empty: every key. */
  keys: readonly string[] | null;
  synonyms: boolean;
  documentation: boolean;
}

function wanted(opts: DescribeOptions): (name: string) => boolean {
  if (opts.keys === null || opts.keys.length === 0) return () => true;
  const set = new Set(opts.keys);
  return (name) => set.has(name);
}

/** DescribeConfigs entries of a topic (also the configs of CreateTopics v5+, which ignores the rest). */
export function topicConfigEntries(broker: Broker, t: TopicInfo, opts: DescribeOptions): Message[] {
  const want = wanted(opts);
  return broker
    .describeTopicConfigs(t)
    .filter((e) => want(e.name))
    .map((e) => {
      let synonyms: Synonym[] = [];
      if (opts.synonyms) {
        const own = t.configs[e.name];
        if (own !== undefined) synonyms.push({ name: e.name, value: own, source: ConfigSourceId.DYNAMIC_TOPIC_CONFIG });
        const brokerKey = TOPIC_KEYS[e.name]?.brokerKey;
        if (brokerKey !== undefined) {
          synonyms = synonyms.concat(brokerSynonyms(broker.config, brokerKey, BROKER_KEYS[brokerKey]?.default ?? TOPIC_KEYS[e.name]!.default));
        }
      }
      return {
        name: e.name,
        value: e.sensitive ? null : e.value,
        readOnly: e.readOnly,
        configSource: sourceId(e.source),
        isSensitive: e.sensitive,
        synonyms,
        configType: configType(e.name),
        documentation: opts.documentation ? (TOPIC_DOCS[e.name] ?? null) : null,
      };
    });
}

/**
 * Values that start-up flags or the data directory decide rather than the key itself: the node id
 * (node.id or broker.id), the address actually listened on and advertised (--listen, --advertise),
 * and the cluster id kept in meta.properties.
 */
function effectiveBrokerValue(broker: Broker, name: string): string | null {
  switch (name) {
    case 'node.id':
    case 'broker.id':
      return String(broker.nodeId);
    case 'listeners':
      return `PLAINTEXT://${broker.host}:${broker.port}`;
    case 'advertised.listeners':
      return `PLAINTEXT://${broker.advertisedHost}:${broker.advertisedPort}`;
    case 'cluster.id':
      return broker.clusterId;
    default:
      return null;
  }
}

/**
 * DescribeConfigs entries of this broker: every broker key franz knows. Keys that provide a topic
 * default report the value topics actually fall back to (so `log.retention.ms` shows 24 hours when
 * only `log.retention.hours=24` is set), and the keys in effectiveBrokerValue what is in effect.
 * All are read-only: franz has no dynamic broker configs.
 */
export function brokerConfigEntries(broker: Broker, opts: DescribeOptions): Message[] {
  const want = wanted(opts);
  const config = broker.config;
  const out: Message[] = [];
  for (const [name, key] of Object.entries(BROKER_KEYS)) {
    if (!want(name)) continue;
    let value: string | null;
    let source: number;
    let synonyms: Synonym[];
    if (key.topicKey !== undefined && TOPIC_KEYS[key.topicKey]?.brokerKey === name) {
      const d = config.topicDefault(key.topicKey);
      value = d.value;
      source = sourceId(d.source);
      synonyms = brokerSynonyms(config, name, key.default);
    } else {
      const set = config.isSet(name);
      value = effectiveBrokerValue(broker, name) ?? config.get(name);
      if (!set && value === '') value = null;
      source = set ? ConfigSourceId.STATIC_BROKER_CONFIG : ConfigSourceId.DEFAULT_CONFIG;
      synonyms = [];
      if (set) synonyms.push({ name, value: config.get(name), source: ConfigSourceId.STATIC_BROKER_CONFIG });
      if (key.default !== '') synonyms.push({ name, value: key.default, source: ConfigSourceId.DEFAULT_CONFIG });
    }
    out.push({
      name,
      value,
      readOnly: true,
      configSource: source,
      isSensitive: false,
      synonyms: opts.synonyms ? synonyms : [],
      configType: configType(name),
      documentation: opts.documentation ? key.doc : null,
    });
  }
  return out;
}

/**
 * Resolves a BROKER resource name: this node's id, or "" for the cluster-wide default. Returns an
 * error message (for INVALID_REQUEST) when the name is neither; the wording is Kafka's.
 */
export function checkBrokerName(broker: Broker, name: string, allowEmpty: boolean): string | null {
  if (name === '' && allowEmpty) return null;
  if (!/^-?\d+$/.test(name)) return `Broker id must be an integer, but it is: ${name}`;
  if (Number(name) !== broker.nodeId) {
    return `Unexpected broker id, expected ${broker.nodeId}${allowEmpty ? ' or empty string' : ''}, but received ${name}`;
  }
  return null;
}

/** The answer to any attempt to change broker configs. */
export const DYNAMIC_BROKER_CONFIGS_UNSUPPORTED =
  'franz does not support dynamic broker configs: set them in server.properties, FRANZ_* environment variables or --set, and restart';

/** A resource named in AlterConfigs or IncrementalAlterConfigs. */
export interface AlterResource {
  resourceType: number;
  resourceName: string;
  configs: Array<{ name: string; value: string | null; configOperation?: number }>;
}

/** Resources named more than once in one request: Kafka refuses every occurrence. */
export function duplicateResources(resources: readonly AlterResource[]): Set<AlterResource> {
  const byKey = new Map<string, AlterResource[]>();
  for (const r of resources) {
    const key = `${r.resourceType}:${r.resourceName}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const out = new Set<AlterResource>();
  for (const group of byKey.values()) if (group.length > 1) for (const r of group) out.add(r);
  return out;
}

export interface AlterResult {
  errorCode: number;
  errorMessage: string | null;
}

export const ALTER_OK: AlterResult = { errorCode: 0, errorMessage: null };

/**
 * Checks the parts common to both alter APIs and returns the topic's current overrides to start
 * from, or the error to answer. BROKER resources are refused: franz has no dynamic broker configs.
 */
export function alterTarget(
  broker: Broker,
  r: AlterResource,
  opts: { allowEmptyBrokerName: boolean },
): { overrides: Record<string, string> } | AlterResult {
  const fail = (errorCode: number, errorMessage: string): AlterResult => ({ errorCode, errorMessage });
  if (r.resourceType === ResourceType.BROKER) {
    const bad = checkBrokerName(broker, r.resourceName, opts.allowEmptyBrokerName);
    return fail(ErrorCode.INVALID_REQUEST, bad ?? DYNAMIC_BROKER_CONFIGS_UNSUPPORTED);
  }
  if (r.resourceType === ResourceType.BROKER_LOGGER) {
    return fail(ErrorCode.INVALID_REQUEST, 'franz has no log4j loggers whose levels could be changed');
  }
  if (r.resourceType !== ResourceType.TOPIC) return fail(ErrorCode.INVALID_REQUEST, `Unknown resource type ${r.resourceType}`);
  const names = new Set<string>();
  for (const c of r.configs) {
    if (names.has(c.name)) return fail(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
    names.add(c.name);
  }
  const bad = invalidTopicName(r.resourceName);
  if (bad !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
  const t = broker.topics.get(r.resourceName);
  if (t === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${r.resourceName} does not exist.`);
  return { overrides: { ...t.configs } };
}

/** Validates a topic's complete new set of overrides and, unless validateOnly, applies it. */
export function applyTopicOverrides(broker: Broker, topic: string, next: Record<string, string>, validateOnly: boolean): AlterResult {
  const bad = validateTopicConfigs(next);
  if (bad !== null) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: bad };
  if (!validateOnly) {
    broker.setTopicConfigs(topic, next);
    broker.log.info('topic configs altered', { topic, configs: next });
  }
  return ALTER_OK;
}
