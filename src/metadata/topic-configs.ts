/**
 * A topic's configs as the broker resolves them: the topic's own overrides over the broker's
 * defaults, for DescribeConfigs and in the log's own terms. Shared by the single-node TopicManager
 * and the cluster's topics.
 */
import { TOPIC_KEY_NAMES, toNumber, type BrokerConfig, type ConfigSource, type TopicKey } from '../config.js';
import type { LogConfig } from '../storage/log.js';
import type { ConfigEntry } from './ports.js';

/** What topicConfigValue needs of a topic. */
export interface ConfiguredTopic {
  readonly configs: Readonly<Record<string, string>>;
}

/** The effective value of a topic config key: the topic's override, else the broker default. */
export function topicConfigValue(config: BrokerConfig, t: ConfiguredTopic, key: TopicKey): { value: string; source: ConfigSource } {
  const own = t.configs[key];
  if (own !== undefined) return { value: own, source: 'DYNAMIC_TOPIC_CONFIG' };
  return config.topicDefault(key);
}

/** Every topic config with value and source, for DescribeConfigs. */
export function describeTopicConfigs(config: BrokerConfig, t: ConfiguredTopic): ConfigEntry[] {
  return TOPIC_KEY_NAMES.map((name) => {
    const { value, source } = topicConfigValue(config, t, name);
    return { name, value, source, readOnly: false, sensitive: false };
  });
}

/** What a topic's logs are told: its configs resolved, in the log's own terms. */
export function logConfig(config: BrokerConfig, t: ConfiguredTopic): LogConfig {
  const n = (key: TopicKey): number => toNumber(topicConfigValue(config, t, key).value);
  const flushSet = t.configs['flush.messages'] !== undefined || t.configs['flush.ms'] !== undefined;
  const cleanup = topicConfigValue(config, t, 'cleanup.policy')
    .value.split(',')
    .map((p) => p.trim());
  return {
    segmentBytes: n('segment.bytes'),
    segmentMs: n('segment.ms'),
    indexIntervalBytes: n('index.interval.bytes'),
    maxMessageBytes: n('max.message.bytes'),
    retentionMs: n('retention.ms'),
    retentionBytes: n('retention.bytes'),
    deleteRetention: cleanup.includes('delete'),
    compact: cleanup.includes('compact'),
    deleteRetentionMs: n('delete.retention.ms'),
    minCleanableDirtyRatio: n('min.cleanable.dirty.ratio'),
    minCompactionLagMs: n('min.compaction.lag.ms'),
    maxCompactionLagMs: n('max.compaction.lag.ms'),
    durable: config.durable && !flushSet,
    flushMessages: n('flush.messages'),
    flushMs: n('flush.ms'),
    logAppendTime: topicConfigValue(config, t, 'message.timestamp.type').value === 'LogAppendTime',
    ...compressionOf(topicConfigValue(config, t, 'compression.type').value, n),
    delivery: config.bool('franz.delay.enable')
      ? { maxDelayMs: config.num('franz.delay.max.ms'), topicDelayMs: n('franz.delivery.delay.ms') }
      : null,
  };
}

/** compression.type as LogConfig has it: a codec number (-1 for `producer`) and its level. */
function compressionOf(type: string, n: (key: TopicKey) => number): Pick<LogConfig, 'compression' | 'compressionLevel'> {
  switch (type) {
    case 'uncompressed':
    case 'none':
      return { compression: 0, compressionLevel: undefined };
    case 'gzip': {
      const level = n('compression.gzip.level');
      return { compression: 1, compressionLevel: level < 0 ? undefined : level };
    }
    case 'snappy':
      return { compression: 2, compressionLevel: undefined };
    case 'lz4':
      return { compression: 3, compressionLevel: undefined };
    case 'zstd':
      return { compression: 4, compressionLevel: n('compression.zstd.level') };
    default:
      return { compression: -1, compressionLevel: undefined };
  }
}
