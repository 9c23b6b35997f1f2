/**
 * Config resources as the admin APIs see them (DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs, and the configs returned by CreateTopics v5+): Kafka's resource types,
 * ConfigSource and ConfigType numbers, each key's type, and the entries with their sources and
 * synonyms. Values and sources come from the topic admin port (`describeTopicConfigs`) and
 * BrokerConfig, so this file only translates them into Kafka's vocabulary. It also holds what the
 * two alter APIs share (`alterConfigsHandler`).
 *
 * Synonyms, in Kafka's order: the topic override (DYNAMIC_TOPIC_CONFIG), then the broker keys that
 * provide the default and are set in the static configuration (STATIC_BROKER_CONFIG, in the order in
 * which they take precedence: `log.retention.ms`, `log.retention.minutes`, `log.retention.hours`),
 * then the built-in default under the broker key's name (DEFAULT_CONFIG). Kafka drops every
 * synonym when the primary broker key has no default of its own (`retention.ms` shows no synonyms
 * there); franz always lists the primary broker key's default, which is what the value falls back to.
 */
import {
  BROKER_KEYS,
  BROKER_KEY_NAMES,
  TOPIC_KEYS,
  brokerKeyOf,
  isBrokerKey,
  isTopicKey,
  topicKeyOf,
  validateTopicConfigs,
  type BrokerConfig,
  type BrokerKey,
  type ConfigSource,
  type KeyType,
} from '../config.js';
import { invalidTopicName, type TopicInfo } from '../metadata/topics.js';
import { ConfigSourceId, ConfigType, ResourceType } from '../protocol/constants.js';
import { ErrorCode } from '../protocol/errors.js';
import type { spec as describeSpec } from '../protocol/messages/32-describe-configs.js';
import type { Elem, ResponseBody } from '../protocol/schema.js';
import type { BrokerServices } from './registry.js';

export { ConfigType, ResourceType } from '../protocol/constants.js';

/** What describing and altering configs reads of the broker. */
export type ConfigServices = Pick<BrokerServices, 'config' | 'topics' | 'cluster' | 'log'>;

/** A DescribeConfigs result entry (also the configs of CreateTopics v5+, a subset of its fields). */
export type ConfigEntryBody = Elem<Elem<ResponseBody<typeof describeSpec>['results']>['configs']>;

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
  if (isBrokerKey(name)) return TYPE_IDS[BROKER_KEYS[name].type];
  if (isTopicKey(name)) return TYPE_IDS[TOPIC_KEYS[name].type];
  return ConfigType.UNKNOWN;
}

/** Topic keys whose values are comma-separated lists (IncrementalAlterConfigs APPEND/SUBTRACT). */
export function isListKey(name: string): boolean {
  return configType(name) === ConfigType.LIST;
}

const TOPIC_DOCS: Record<string, string> = {
  'cleanup.policy':
    'delete and/or compact: what happens to old segments (franz deletes by retention; compact keeps every segment until a log cleaner exists)',
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
  'segment.index.bytes': "size of a segment's offset index file",
};

/**
 * Broker keys that stand for the same setting, in the order in which a set value takes precedence
 * (see BrokerConfig.derivedBrokerValue). Keyed by the broker key named in TOPIC_KEYS.
 */
const BROKER_SYNONYMS: Partial<Record<BrokerKey, readonly BrokerKey[]>> = {
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
function brokerSynonyms(config: BrokerConfig, brokerKey: BrokerKey, builtInDefault: string | null): Synonym[] {
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
export function topicConfigEntries(services: ConfigServices, t: TopicInfo, opts: DescribeOptions): ConfigEntryBody[] {
  const want = wanted(opts);
  return services.topics
    .describeTopicConfigs(t)
    .filter((e) => want(e.name))
    .map((e) => {
      let synonyms: Synonym[] = [];
      if (opts.synonyms) {
        const own = t.configs[e.name];
        if (own !== undefined) synonyms.push({ name: e.name, value: own, source: ConfigSourceId.DYNAMIC_TOPIC_CONFIG });
        const brokerKey = isTopicKey(e.name) ? brokerKeyOf(e.name) : undefined;
        if (brokerKey !== undefined) {
          synonyms = synonyms.concat(brokerSynonyms(services.config, brokerKey, BROKER_KEYS[brokerKey].default));
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
function effectiveBrokerValue(services: ConfigServices, name: BrokerKey): string | null {
  const { cluster } = services;
  switch (name) {
    case 'node.id':
    case 'broker.id':
      return String(cluster.nodeId);
    case 'listeners':
      return `PLAINTEXT://${cluster.listener.host}:${cluster.listener.port}`;
    case 'advertised.listeners':
      return `PLAINTEXT://${cluster.advertised.host}:${cluster.advertised.port}`;
    case 'cluster.id':
      return cluster.clusterId;
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
export function brokerConfigEntries(services: ConfigServices, opts: DescribeOptions): ConfigEntryBody[] {
  const want = wanted(opts);
  const config = services.config;
  const out: ConfigEntryBody[] = [];
  for (const name of BROKER_KEY_NAMES) {
    if (!want(name)) continue;
    const key = BROKER_KEYS[name];
    const topicKey = topicKeyOf(name);
    let value: string | null;
    let source: number;
    let synonyms: Synonym[];
    if (topicKey !== undefined && brokerKeyOf(topicKey) === name) {
      const d = config.topicDefault(topicKey);
      value = d.value;
      source = sourceId(d.source);
      synonyms = brokerSynonyms(config, name, key.default);
    } else {
      const set = config.isSet(name);
      value = effectiveBrokerValue(services, name) ?? config.get(name);
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
export function checkBrokerName(nodeId: number, name: string, allowEmpty: boolean): string | null {
  if (name === '' && allowEmpty) return null;
  if (!/^-?\d+$/.test(name)) return `Broker id must be an integer, but it is: ${name}`;
  if (Number(name) !== nodeId) {
    return `Unexpected broker id, expected ${nodeId}${allowEmpty ? ' or empty string' : ''}, but received ${name}`;
  }
  return null;
}

/** The answer to any attempt to change broker configs. */
export const DYNAMIC_BROKER_CONFIGS_UNSUPPORTED =
  'franz does not support dynamic broker configs: set them in server.properties, FRANZ_* environment variables or --set, and restart';

/** A resource named in AlterConfigs or IncrementalAlterConfigs (the fields both share). */
export interface AlterResource {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: ReadonlyArray<{ readonly name: string; readonly value: string | null }>;
}

/** Resources named more than once in one request: Kafka refuses every occurrence. */
function duplicateResources<R extends AlterResource>(resources: readonly R[]): Set<R> {
  const byKey = new Map<string, R[]>();
  for (const r of resources) {
    const key = `${r.resourceType}:${r.resourceName}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const out = new Set<R>();
  for (const group of byKey.values()) if (group.length > 1) for (const r of group) out.add(r);
  return out;
}

export interface AlterResult {
  errorCode: number;
  errorMessage: string | null;
}

const ALTER_OK: AlterResult = { errorCode: 0, errorMessage: null };

/**
 * Checks the parts common to both alter APIs and returns the topic's current overrides to start
 * from, or the error to answer. BROKER resources are refused: franz has no dynamic broker configs.
 */
export function alterTarget(
  services: ConfigServices,
  r: AlterResource,
  opts: { allowEmptyBrokerName: boolean },
): { overrides: Record<string, string> } | AlterResult {
  const fail = (errorCode: number, errorMessage: string): AlterResult => ({ errorCode, errorMessage });
  if (r.resourceType === ResourceType.BROKER) {
    const bad = checkBrokerName(services.cluster.nodeId, r.resourceName, opts.allowEmptyBrokerName);
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
  const t = services.topics.get(r.resourceName);
  if (t === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${r.resourceName} does not exist.`);
  return { overrides: { ...t.configs } };
}

/** Validates a topic's complete new set of overrides and, unless validateOnly, applies it. */
export function applyTopicOverrides(
  services: ConfigServices,
  topic: string,
  next: Record<string, string>,
  validateOnly: boolean,
): AlterResult {
  const bad = validateTopicConfigs(next);
  if (bad !== null) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: bad };
  if (!validateOnly) {
    services.topics.setTopicConfigs(topic, next);
    services.log.info('topic configs altered', { topic, configs: next });
  }
  return ALTER_OK;
}

/**
 * AlterConfigs and IncrementalAlterConfigs answer alike: every resource in order, a resource named
 * twice refused at each occurrence, the others by `alterOne`.
 */
export function alterAll<R extends AlterResource>(
  services: ConfigServices,
  resources: readonly R[],
  validateOnly: boolean,
  alterOne: (services: ConfigServices, r: R, validateOnly: boolean) => AlterResult,
): { throttleTimeMs: number; responses: Array<AlterResult & { resourceType: number; resourceName: string }> } {
  const duplicates = duplicateResources(resources);
  const responses = resources.map((r) => {
    const res: AlterResult = duplicates.has(r)
      ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Each resource must appear at most once.' }
      : alterOne(services, r, validateOnly);
    return { ...res, resourceType: r.resourceType, resourceName: r.resourceName };
  });
  return { throttleTimeMs: 0, responses };
}
