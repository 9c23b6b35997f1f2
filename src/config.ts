/**
 * Broker and topic configuration, by Kafka's property names.
 *
 * Sources, later ones winning: defaults, a `server.properties` file (--config), environment
 * variables `FRANZ_<KEY>` (dots and dashes become underscores: FRANZ_LOG_SEGMENT_BYTES), and
 * `--set key=value`. Keys franz does not implement are reported once at start-up, not silently eaten.
 */
import { readFileSync } from 'node:fs';

export type ConfigSource = 'DEFAULT_CONFIG' | 'STATIC_BROKER_CONFIG' | 'DYNAMIC_TOPIC_CONFIG';

/** Kafka's ConfigDef types, as they decide which values parse. */
export type KeyType = 'int' | 'short' | 'long' | 'double' | 'boolean' | 'string' | 'list';

/** What a key's values may be: Kafka's ConfigDef type and validator (ranges, allowed strings). */
interface KeySpec {
  type: KeyType;
  /**
   * Why franz accepts this key (its value is checked and shown by DescribeConfigs) but does not act
   * on it. README's config list is checked against these marks (test/unit/config-docs.test.ts).
   */
  ignored?: string;
  min?: number;
  max?: number;
  /** The allowed strings (for a list, of each element). */
  values?: readonly string[];
}

interface BrokerKeySpec extends KeySpec {
  default: string;
  /** The topic-level key this broker key provides the default for, if any (checked: topicKeyOf). */
  topicKey?: string;
  doc: string;
}

interface TopicKeySpec extends KeySpec {
  /** The broker key that provides this key's default, if any (checked: brokerKeyOf). */
  brokerKey?: string;
  default: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const LONG_MAX = '9223372036854775807';

const CLEANUP_POLICIES = ['delete', 'compact'] as const;
// 'none' is franz's alias of 'uncompressed' (Kafka 4 takes only the latter).
const COMPRESSION_TYPES = ['uncompressed', 'none', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;
const TIMESTAMP_TYPES = ['CreateTime', 'LogAppendTime'] as const;

/** Broker keys franz honours, with Kafka's defaults. */
export const BROKER_KEYS = {
  'node.id': { type: 'int', min: 0, default: '1', doc: "this broker's id" },
  'broker.id': { type: 'int', default: '1', doc: 'alias of node.id' },
  'broker.rack': { type: 'string', default: '', doc: "this broker's rack, for rack-aware replica placement" },
  'franz.cluster': {
    type: 'string',
    default: '',
    doc: 'etcd://HOST:PORT[,HOST:PORT...][/NAME]: run as one broker of a cluster whose metadata is in etcd (empty: single node)',
  },
  'unclean.leader.election.enable': {
    type: 'boolean',
    default: 'false',
    doc: 'cluster mode: let a replica that is not in sync lead when no in-sync replica is alive (may lose acknowledged records)',
  },
  'auto.leader.rebalance.enable': {
    type: 'boolean',
    default: 'true',
    doc: 'cluster mode: move leaderships back to their preferred replicas (checked every leader.imbalance.check.interval.seconds)',
  },
  'leader.imbalance.check.interval.seconds': {
    type: 'long',
    min: 1,
    default: '300',
    doc: 'cluster mode: how often the controller rebalances leaders',
  },
  'replica.lag.time.max.ms': {
    type: 'long',
    min: 1,
    default: '30000',
    doc: 'cluster mode: an in-sync follower not caught up for this long leaves the ISR',
  },
  'replica.fetch.wait.max.ms': {
    type: 'int',
    min: 0,
    default: '500',
    doc: "cluster mode: how long a follower's fetch waits for new records",
  },
  'broker.session.timeout.ms': {
    type: 'int',
    min: 1000,
    default: '9000',
    doc: "cluster mode: the etcd lease of a broker's registration; a broker silent this long is dead and loses its leaderships",
  },
  listeners: { type: 'string', default: 'PLAINTEXT://127.0.0.1:9092', doc: 'where to listen' },
  'advertised.listeners': { type: 'string', default: '', doc: 'address given to clients' },
  'controller.listener.names': {
    type: 'list',
    default: '',
    doc: 'KRaft controller listeners: franz serves clients on the first listener not named here',
  },
  'log.dirs': { type: 'string', default: './data', doc: 'data directory (franz uses the first)' },
  'log.dir': { type: 'string', default: './data', doc: 'data directory when log.dirs is unset' },
  'num.partitions': { type: 'int', min: 1, default: '1', doc: 'partitions of auto-created topics' },
  'default.replication.factor': { type: 'int', default: '1', doc: 'replication factor of auto-created topics' },
  'auto.create.topics.enable': { type: 'boolean', default: 'true', doc: 'create topics on Metadata/Produce' },
  'delete.topic.enable': { type: 'boolean', default: 'true', doc: 'allow DeleteTopics' },
  'log.segment.bytes': { type: 'int', min: 1048576, default: String(1024 * 1024 * 1024), topicKey: 'segment.bytes', doc: 'segment size' },
  'log.roll.ms': { type: 'long', default: String(7 * DAY_MS), topicKey: 'segment.ms', doc: 'segment age before a roll' },
  'log.roll.hours': { type: 'int', min: 1, default: '168', doc: 'segment age in hours (log.roll.ms wins)' },
  'log.index.interval.bytes': {
    type: 'int',
    min: 0,
    default: '4096',
    topicKey: 'index.interval.bytes',
    doc: 'bytes between index entries',
  },
  'index.interval.bytes': { type: 'int', min: 0, default: '4096', doc: 'alias of log.index.interval.bytes' },
  'message.max.bytes': { type: 'int', min: 0, default: '1048588', topicKey: 'max.message.bytes', doc: 'largest record batch' },
  'fetch.max.bytes': {
    type: 'int',
    min: 1024,
    default: '57671680',
    doc: "largest Fetch answer: a request's max_bytes above it is capped to it",
  },
  'socket.request.max.bytes': { type: 'int', min: 1, default: String(100 * 1024 * 1024), doc: 'largest request frame' },
  // Kafka's defaults are 102400 for both; franz's differ (KafkaListener.setBufferSize, docs/perf/socket-buffers.md).
  'socket.send.buffer.bytes': { type: 'int', default: '262144', doc: 'SO_SNDBUF of accepted connections (-1: the OS default, autotuned)' },
  'socket.receive.buffer.bytes': { type: 'int', default: '-1', doc: 'SO_RCVBUF of accepted connections (-1: the OS default, autotuned)' },
  'log.flush.interval.messages': {
    type: 'long',
    min: 1,
    default: LONG_MAX,
    topicKey: 'flush.messages',
    doc: 'no-fsync mode: flush every N messages',
  },
  'log.flush.interval.ms': { type: 'long', default: LONG_MAX, topicKey: 'flush.ms', doc: 'no-fsync mode: flush every N ms' },
  'log.retention.ms': { type: 'long', default: String(7 * DAY_MS), topicKey: 'retention.ms', doc: 'age before deletion' },
  'log.retention.minutes': { type: 'int', default: '', doc: 'retention in minutes (log.retention.ms wins)' },
  'log.retention.hours': { type: 'int', default: '168', doc: 'retention in hours' },
  'log.retention.bytes': { type: 'long', default: '-1', topicKey: 'retention.bytes', doc: 'size before deletion' },
  'log.retention.check.interval.ms': { type: 'long', min: 1, default: '300000', doc: 'how often retention runs' },
  'log.cleanup.policy': { type: 'list', default: 'delete', topicKey: 'cleanup.policy', doc: 'delete or compact' },
  'log.cleaner.enable': { type: 'boolean', default: 'true', doc: 'run the log cleaner for compacted topics' },
  'log.cleaner.threads': { type: 'int', min: 0, default: '1', doc: 'cleans at once, each in a worker thread' },
  'log.cleaner.dedupe.buffer.size': {
    type: 'long',
    min: 1024,
    default: String(128 * 1024 * 1024),
    doc: 'memory of the key -> offset maps of all cleaner threads together (24 bytes per key)',
  },
  'log.cleaner.backoff.ms': { type: 'long', min: 0, default: '15000', doc: 'how long the cleaner sleeps when no log needs cleaning' },
  'log.cleaner.min.cleanable.ratio': {
    type: 'double',
    min: 0,
    max: 1,
    default: '0.5',
    topicKey: 'min.cleanable.dirty.ratio',
    doc: 'dirty share of a log that starts a clean',
  },
  'log.cleaner.delete.retention.ms': {
    type: 'long',
    min: 0,
    default: String(DAY_MS),
    topicKey: 'delete.retention.ms',
    doc: 'how long tombstones stay after their segment was last written',
  },
  'log.cleaner.min.compaction.lag.ms': {
    type: 'long',
    min: 0,
    default: '0',
    topicKey: 'min.compaction.lag.ms',
    doc: 'records younger than this are not compacted',
  },
  'log.cleaner.max.compaction.lag.ms': {
    type: 'long',
    min: 1,
    default: LONG_MAX,
    topicKey: 'max.compaction.lag.ms',
    doc: 'dirty records older than this are compacted whatever the dirty ratio',
  },
  'log.cleaner.io.buffer.size': {
    type: 'int',
    min: 0,
    default: String(512 * 1024),
    doc: 'cleaner I/O buffers',
    ignored: 'the cleaner reads in 8 MiB chunks',
  },
  'log.cleaner.io.max.bytes.per.second': {
    type: 'double',
    default: '1.7976931348623157E308',
    doc: 'cleaner I/O throttle',
    ignored: 'the cleaner is not throttled',
  },
  'log.message.timestamp.type': { type: 'string', default: 'CreateTime', topicKey: 'message.timestamp.type', doc: 'timestamp type' },
  'compression.type': {
    type: 'string',
    default: 'producer',
    topicKey: 'compression.type',
    doc: 'the codec batches are stored in (producer: as sent); others are recompressed in worker threads',
  },
  'compression.gzip.level': {
    type: 'int',
    min: -1,
    max: 9,
    default: '-1',
    topicKey: 'compression.gzip.level',
    doc: 'gzip level (-1: zlib default)',
  },
  'compression.lz4.level': {
    type: 'int',
    min: 1,
    max: 17,
    default: '9',
    topicKey: 'compression.lz4.level',
    doc: 'lz4 level',
    ignored: 'lz4-napi compresses at its one level',
  },
  'compression.zstd.level': { type: 'int', min: -131072, max: 22, default: '3', topicKey: 'compression.zstd.level', doc: 'zstd level' },
  'franz.compression.threads': {
    type: 'int',
    min: 1,
    default: '2',
    doc: 'worker threads that recompress batches for topics whose compression.type names a codec',
  },
  'min.insync.replicas': {
    type: 'int',
    min: 1,
    default: '1',
    topicKey: 'min.insync.replicas',
    doc: 'acks=all quorum',
    ignored: 'a single node is its only in-sync replica (a cluster honours it)',
  },
  'cluster.id': { type: 'string', default: '', doc: 'cluster id (generated when empty)' },
  'offsets.topic.num.partitions': { type: 'int', min: 1, default: '50', doc: 'partitions of __consumer_offsets' },
  'offsets.topic.segment.bytes': { type: 'int', min: 1, default: String(100 * 1024 * 1024), doc: 'segment size of __consumer_offsets' },
  'offsets.topic.replication.factor': {
    type: 'short',
    min: 1,
    default: '1',
    doc: 'replicas of __consumer_offsets (cluster mode: it is made once this many brokers are alive)',
    ignored: 'a single node keeps one replica (a cluster honours it)',
  },
  'transaction.state.log.num.partitions': { type: 'int', min: 1, default: '50', doc: 'partitions of __transaction_state' },
  'transaction.state.log.segment.bytes': {
    type: 'int',
    min: 1,
    default: String(100 * 1024 * 1024),
    doc: 'segment size of __transaction_state',
  },
  'transaction.state.log.replication.factor': {
    type: 'short',
    min: 1,
    default: '1',
    doc: 'replicas of __transaction_state (cluster mode: it is made once this many brokers are alive)',
    ignored: 'a single node keeps one replica (a cluster honours it)',
  },
  'transaction.state.log.min.isr': {
    type: 'int',
    min: 1,
    default: '1',
    doc: 'min.insync.replicas of __transaction_state',
    ignored: 'the state is written once every in-sync replica has it, whatever their number',
  },
  'franz.delay.enable': {
    type: 'boolean',
    default: 'true',
    doc: 'delayed delivery: records with a franz-deliver-at or franz-delay-ms header (or of a topic with franz.delivery.delay.ms) are held until due. false: headers are not looked at',
  },
  'franz.delay.max.ms': {
    type: 'long',
    min: 0,
    default: String(40 * DAY_MS),
    doc: 'the longest delay a record may ask for (longer: INVALID_RECORD)',
  },
  'franz.http.listeners': {
    type: 'string',
    default: '',
    doc: 'HOST:PORT of the HTTP listener (REST v3, /metrics, /healthz, /readyz); empty: no HTTP listener',
  },
  'franz.trace.enable': {
    type: 'boolean',
    default: 'false',
    doc: 'message trace: produce, fetch, commit and delay events of the topics traced (this default, or the topic config) are written to __franz_trace',
  },
  'franz.trace.sampling.ratio': {
    type: 'double',
    min: 0,
    max: 1,
    default: '1',
    doc: 'the share of produced batches a traced topic records (fetches and commits are all recorded)',
  },
  'franz.trace.retention.ms': { type: 'long', min: -1, default: String(7 * DAY_MS), doc: 'retention.ms of __franz_trace when it is made' },
  'franz.trace.topic.partitions': { type: 'int', min: 1, default: '4', doc: 'partitions of __franz_trace when it is made' },
  'franz.trace.topic.replication.factor': {
    type: 'short',
    min: 1,
    default: '1',
    doc: 'replicas of __franz_trace (cluster mode)',
    ignored: 'a single node keeps one replica (a cluster honours it)',
  },
  'franz.transaction.version': {
    type: 'int',
    min: 0,
    max: 2,
    default: '2',
    doc: 'the transaction.version feature finalized to clients (2: KIP-890 transactions v2, an epoch bump per transaction and partitions added by the leader; 0 or 1: clients keep to v1). Kafka sets it with kafka-features.sh',
  },
  'transaction.max.timeout.ms': { type: 'int', min: 1, default: '900000', doc: 'longest transaction.timeout.ms a producer may ask for' },
  'transactional.id.expiration.ms': {
    type: 'int',
    min: 1,
    default: '604800000',
    doc: 'how long a transactional id without a transaction is kept',
  },
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': {
    type: 'int',
    min: 1,
    default: '10000',
    doc: 'how often transactions past their timeout are aborted',
  },
  'transaction.remove.expired.transaction.cleanup.interval.ms': {
    type: 'int',
    min: 1,
    default: '3600000',
    doc: 'how often expired transactional ids are removed',
  },
  'offsets.retention.minutes': { type: 'int', min: 1, default: '10080', doc: 'how long offsets of an empty group are kept' },
  // Kafka has only minutes (an INT); milliseconds let a test or a short-lived setup expire offsets in seconds.
  'franz.offsets.retention.ms': { type: 'long', min: 1, default: '', doc: 'offsets.retention.minutes in milliseconds; wins when set' },
  'offsets.retention.check.interval.ms': { type: 'long', min: 1, default: '600000', doc: 'how often expired offsets are removed' },
  'offset.metadata.max.bytes': { type: 'int', default: '4096', doc: 'largest metadata string of a commit' },
  'group.initial.rebalance.delay.ms': {
    type: 'int',
    default: '3000',
    doc: 'wait for more members before the first rebalance of an empty group',
  },
  'group.min.session.timeout.ms': { type: 'int', default: '6000', doc: 'smallest session timeout a member may ask for' },
  'group.max.session.timeout.ms': { type: 'int', default: '1800000', doc: 'largest session timeout a member may ask for' },
  'group.max.size': { type: 'int', min: 1, default: '2147483647', doc: 'most members in one classic group' },
  'group.consumer.heartbeat.interval.ms': { type: 'int', min: 1, default: '5000', doc: 'KIP-848 heartbeat interval given to members' },
  'group.consumer.session.timeout.ms': { type: 'int', min: 1, default: '45000', doc: 'KIP-848 member session timeout' },
  'group.consumer.assignors': { type: 'list', default: 'uniform,range', doc: 'KIP-848 server-side assignors, the first is the default' },
  'franz.fsync': { type: 'boolean', default: 'true', doc: 'fsync before acknowledging (unless log.flush.interval.* is set)' },
  'franz.socket.max.segment.bytes': {
    type: 'int',
    min: 0,
    default: '0',
    doc: "largest TCP segment of accepted connections (0: the kernel's choice)",
  },
  'connections.max.idle.ms': { type: 'long', default: '600000', doc: 'close connections with no traffic for this long (-1: never)' },
  'max.connections': { type: 'int', min: 0, default: '2147483647', doc: 'most client connections at once; more are closed on accept' },
  'max.connections.per.ip': { type: 'int', min: 0, default: '2147483647', doc: 'most connections from one address' },
  'max.connections.per.ip.overrides': {
    type: 'string',
    default: '',
    doc: 'per-address limits, "address:count,address:count" (addresses as the broker sees them, not resolved)',
  },
  'queued.max.requests': {
    type: 'int',
    min: 1,
    default: '500',
    doc: 'requests one connection may have unanswered before franz reads no more from it',
  },
  // Kafka has no such bound: a client that sends a request slowly (slowloris) would hold its
  // connection and the request's buffer until connections.max.idle.ms of silence.
  'franz.request.read.timeout.ms': {
    type: 'long',
    min: 1,
    default: '30000',
    doc: 'longest a request may take to arrive, from its first byte to its last; slower is closed',
  },
} as const satisfies Record<string, BrokerKeySpec>;

/** A broker config key franz knows: a typo in a key is a compile error. */
export type BrokerKey = keyof typeof BROKER_KEYS;

/** Topic-level keys, Kafka's names; values default to the broker key that provides them. */
export const TOPIC_KEYS = {
  'cleanup.policy': { type: 'list', values: CLEANUP_POLICIES, brokerKey: 'log.cleanup.policy', default: 'delete' },
  'compression.type': {
    type: 'string',
    values: COMPRESSION_TYPES,
    brokerKey: 'compression.type',
    default: 'producer',
  },
  'compression.gzip.level': { type: 'int', min: -1, max: 9, brokerKey: 'compression.gzip.level', default: '-1' },
  'compression.lz4.level': {
    type: 'int',
    min: 1,
    max: 17,
    brokerKey: 'compression.lz4.level',
    default: '9',
    ignored: 'lz4-napi compresses at its one level',
  },
  'compression.zstd.level': { type: 'int', min: -131072, max: 22, brokerKey: 'compression.zstd.level', default: '3' },
  'delete.retention.ms': { type: 'long', min: 0, brokerKey: 'log.cleaner.delete.retention.ms', default: String(DAY_MS) },
  'file.delete.delay.ms': { type: 'long', min: 0, default: '60000', ignored: 'deleted segments are removed at once' },
  'flush.messages': { type: 'long', min: 1, brokerKey: 'log.flush.interval.messages', default: LONG_MAX },
  'franz.delivery.delay.ms': { type: 'long', min: 0, default: '0' },
  'franz.trace.enable': { type: 'boolean', brokerKey: 'franz.trace.enable', default: 'false' },
  'franz.trace.sampling.ratio': { type: 'double', min: 0, max: 1, brokerKey: 'franz.trace.sampling.ratio', default: '1' },
  'flush.ms': { type: 'long', min: 0, brokerKey: 'log.flush.interval.ms', default: LONG_MAX },
  'index.interval.bytes': { type: 'int', min: 0, brokerKey: 'log.index.interval.bytes', default: '4096' },
  'max.message.bytes': { type: 'int', min: 0, brokerKey: 'message.max.bytes', default: '1048588' },
  'message.timestamp.type': { type: 'string', values: TIMESTAMP_TYPES, brokerKey: 'log.message.timestamp.type', default: 'CreateTime' },
  'max.compaction.lag.ms': { type: 'long', min: 1, brokerKey: 'log.cleaner.max.compaction.lag.ms', default: LONG_MAX },
  'min.cleanable.dirty.ratio': { type: 'double', min: 0, max: 1, brokerKey: 'log.cleaner.min.cleanable.ratio', default: '0.5' },
  'min.compaction.lag.ms': { type: 'long', min: 0, brokerKey: 'log.cleaner.min.compaction.lag.ms', default: '0' },
  'min.insync.replicas': {
    type: 'int',
    min: 1,
    brokerKey: 'min.insync.replicas',
    default: '1',
    ignored: 'a single node is its only in-sync replica',
  },
  'retention.bytes': { type: 'long', brokerKey: 'log.retention.bytes', default: '-1' },
  'retention.ms': { type: 'long', min: -1, brokerKey: 'log.retention.ms', default: String(7 * DAY_MS) },
  'segment.bytes': { type: 'int', min: 1048576, brokerKey: 'log.segment.bytes', default: String(1024 * 1024 * 1024) },
  'segment.ms': { type: 'long', min: 1, brokerKey: 'log.roll.ms', default: String(7 * DAY_MS) },
  preallocate: { type: 'boolean', default: 'false', ignored: 'segment files grow as they are written' },
  'segment.jitter.ms': { type: 'long', min: 0, default: '0', ignored: 'segments roll at segment.ms exactly' },
  'segment.index.bytes': { type: 'int', min: 4, default: String(10 * 1024 * 1024), ignored: 'index files hold exactly their entries' },
} as const satisfies Record<string, TopicKeySpec>;

/** A topic config key franz knows. */
export type TopicKey = keyof typeof TOPIC_KEYS;

/** Keys accepted but not acted on, with why (README lists them apart from the honoured ones). */
export function ignoredKeys(): { broker: Array<[BrokerKey, string]>; topic: Array<[TopicKey, string]> } {
  const reason = (spec: KeySpec): string | undefined => spec.ignored;
  return {
    broker: BROKER_KEY_NAMES.flatMap((k): Array<[BrokerKey, string]> => {
      const why = reason(BROKER_KEYS[k]);
      return why === undefined ? [] : [[k, why]];
    }),
    topic: TOPIC_KEY_NAMES.flatMap((k): Array<[TopicKey, string]> => {
      const why = reason(TOPIC_KEYS[k]);
      return why === undefined ? [] : [[k, why]];
    }),
  };
}

/** Every broker key, in the table's order (Object.keys loses the key type; the table is the source). */
export const BROKER_KEY_NAMES = Object.keys(BROKER_KEYS) as readonly BrokerKey[];
/** Every topic key, in the table's order. */
export const TOPIC_KEY_NAMES = Object.keys(TOPIC_KEYS) as readonly TopicKey[];

export function isBrokerKey(key: string): key is BrokerKey {
  return Object.hasOwn(BROKER_KEYS, key);
}

export function isTopicKey(key: string): key is TopicKey {
  return Object.hasOwn(TOPIC_KEYS, key);
}

/** The topic key a broker key provides the default for (the assignment checks every table entry names one). */
export function topicKeyOf(key: BrokerKey): TopicKey | undefined {
  const spec: { readonly default: string; readonly topicKey?: TopicKey } = BROKER_KEYS[key];
  return spec.topicKey;
}

/** The broker key that provides a topic key's default (the assignment checks every entry names one). */
export function brokerKeyOf(key: TopicKey): BrokerKey | undefined {
  const spec: { readonly default: string; readonly brokerKey?: BrokerKey } = TOPIC_KEYS[key];
  return spec.brokerKey;
}

const INTEGER_TYPES = {
  int: { min: -(2n ** 31n), max: 2n ** 31n - 1n, name: 'INT' },
  short: { min: -(2n ** 15n), max: 2n ** 15n - 1n, name: 'SHORT' },
  long: { min: -(2n ** 63n), max: 2n ** 63n - 1n, name: 'LONG' },
} as const;

/**
 * Why `value` is not a valid value for a key of this spec, in Kafka's words ("Not a number of
 * type INT", "Value must be at least 1048576", "String must be one of: ..."), or null. Numbers
 * are taken as Java's parseInt/parseLong/parseDouble take them (surrounding spaces trimmed).
 */
function valueError(spec: KeySpec, value: string): string | null {
  const v = value.trim();
  let n: number;
  if (spec.type === 'int' || spec.type === 'short' || spec.type === 'long') {
    const t = INTEGER_TYPES[spec.type];
    if (!/^[-+]?\d+$/.test(v) || BigInt(v) < t.min || BigInt(v) > t.max) return `Not a number of type ${t.name}`;
    n = Number(v);
  } else if (spec.type === 'double') {
    n = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : NaN;
    if (Number.isNaN(n)) return 'Not a number of type DOUBLE';
  } else if (spec.type === 'boolean') {
    return ['true', 'false'].includes(v.toLowerCase()) ? null : 'Expected value to be either true or false';
  } else {
    const allowed = spec.values;
    if (allowed === undefined) return null;
    const items = spec.type === 'list' ? v.split(',').map((x) => x.trim()) : [value];
    return items.every((x) => allowed.includes(x)) ? null : `String must be one of: ${allowed.join(', ')}`;
  }
  if (spec.min !== undefined && n < spec.min) return `Value must be at least ${spec.min}`;
  if (spec.max !== undefined && n > spec.max) return `Value must be no more than ${spec.max}`;
  return null;
}

/** Checks values of known topic configs; unknown keys are refused as Kafka does. */
export function validateTopicConfigs(configs: Record<string, string>): string | null {
  for (const [k, v] of Object.entries(configs)) {
    if (!isTopicKey(k)) return `Unknown topic config name: ${k}`;
    const why = valueError(TOPIC_KEYS[k], v);
    if (why !== null) return `Invalid value ${v} for configuration ${k}: ${why}`;
  }
  return null;
}

/**
 * Why `value` is not a valid value of broker key `key` (Kafka's wording: "Invalid value abc for
 * configuration log.segment.bytes: Not a number of type INT"), or null when it is. A key that
 * provides a topic default takes the values its topic key takes.
 */
/**
 * `max.connections.per.ip.overrides` ("address:count,address:count", Kafka's format) as a map,
 * or throws with Kafka's kind of message for an entry that is not `address:count`.
 */
export function connectionOverrides(value: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const at = entry.lastIndexOf(':');
    const host = at > 0 ? entry.slice(0, at).trim() : '';
    const count = at > 0 ? entry.slice(at + 1).trim() : '';
    if (host === '' || !/^\d+$/.test(count) || Number(count) > 2147483647) {
      throw new Error(`Invalid value ${value} for configuration max.connections.per.ip.overrides: not "address:count" in "${entry}"`);
    }
    out.set(host.replace(/^\[(.*)\]$/, '$1'), Number(count));
  }
  return out;
}

export function brokerConfigError(key: string, value: string): string | null {
  if (!isBrokerKey(key)) return null;
  if (key === 'max.connections.per.ip.overrides') {
    try {
      connectionOverrides(value);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }
  const topicKey = topicKeyOf(key);
  const topic = topicKey !== undefined ? TOPIC_KEYS[topicKey] : undefined;
  const why = valueError({ ...topic, ...BROKER_KEYS[key] }, value);
  return why === null ? null : `Invalid value ${value} for configuration ${key}: ${why}`;
}

export class BrokerConfig {
  private readonly values = new Map<BrokerKey, string>();
  /** Keys given that franz does not implement (reported at start-up). */
  readonly ignored: string[] = [];

  get(key: BrokerKey): string {
    return this.values.get(key) ?? BROKER_KEYS[key].default;
  }

  isSet(key: BrokerKey): boolean {
    return this.values.has(key);
  }

  num(key: BrokerKey): number {
    const v = this.get(key);
    // Kafka's Long.MAX_VALUE means "never": Infinity keeps comparisons right without precision games.
    if (v === LONG_MAX) return Infinity;
    return Number(v);
  }

  bool(key: BrokerKey): boolean {
    return this.get(key).trim().toLowerCase() === 'true';
  }

  /** Sets a key from the operator's input; a key franz does not know is kept in `ignored`. */
  set(key: string, value: string): void {
    if (!isBrokerKey(key)) {
      if (!this.ignored.includes(key)) this.ignored.push(key);
      return;
    }
    this.values.set(key, value);
  }

  /** Explicitly set keys, for DescribeConfigs (source STATIC_BROKER_CONFIG). */
  entries(): Array<[BrokerKey, string]> {
    return [...this.values];
  }

  /** Parses a Java properties file (key=value or key: value, # and ! comments, \ continuations). */
  loadProperties(text: string): void {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!.trim();
      while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trim();
      if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
      const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
      if (m) this.set(m[1]!, m[2]!);
    }
  }

  loadEnv(env: NodeJS.ProcessEnv): void {
    for (const key of BROKER_KEY_NAMES) {
      const name = 'FRANZ_' + key.toUpperCase().replace(/[.-]/g, '_');
      const v = env[name];
      if (v !== undefined) this.set(key, v);
    }
  }

  static from(opts: { file?: string; env?: NodeJS.ProcessEnv; sets?: string[] }): BrokerConfig {
    const c = new BrokerConfig();
    if (opts.file !== undefined) c.loadProperties(readFileSync(opts.file, 'utf8'));
    if (opts.env !== undefined) c.loadEnv(opts.env);
    for (const s of opts.sets ?? []) {
      const eq = s.indexOf('=');
      if (eq <= 0) throw new Error(`--set expects key=value, got "${s}"`);
      c.set(s.slice(0, eq), s.slice(eq + 1));
    }
    c.validate();
    return c;
  }

  /**
   * Refuses values that do not parse as their key's type, as Kafka refuses to start with them
   * (otherwise `log.segment.bytes=1g` would become NaN and surface much later as odd behaviour).
   * Throws one Error naming every bad key.
   */
  validate(): void {
    const errors = [...this.values].map(([k, v]) => brokerConfigError(k, v)).filter((e): e is string => e !== null);
    if (errors.length > 0) throw new Error(errors.join('; '));
  }

  get nodeId(): number {
    return this.isSet('node.id') ? this.num('node.id') : this.num('broker.id');
  }

  get dataDir(): string {
    if (this.isSet('log.dirs')) return this.get('log.dirs').split(',')[0]!.trim();
    if (this.isSet('log.dir')) return this.get('log.dir');
    return BROKER_KEYS['log.dirs'].default;
  }

  /** The broker-level default for a topic key, with its source. */
  topicDefault(topicKey: TopicKey): { value: string; source: ConfigSource } {
    const t = TOPIC_KEYS[topicKey];
    const brokerKey = brokerKeyOf(topicKey);
    if (brokerKey !== undefined) {
      const derived = this.derivedBrokerValue(brokerKey);
      if (derived !== null) return { value: derived, source: 'STATIC_BROKER_CONFIG' };
    }
    return { value: t.default, source: 'DEFAULT_CONFIG' };
  }

  /** A broker key's value when set, following Kafka's unit aliases (hours/minutes/ms). */
  private derivedBrokerValue(key: BrokerKey): string | null {
    if (key === 'log.retention.ms') {
      if (this.isSet('log.retention.ms')) return this.get('log.retention.ms');
      if (this.isSet('log.retention.minutes')) return String(this.num('log.retention.minutes') * 60000);
      if (this.isSet('log.retention.hours')) return String(this.num('log.retention.hours') * 3600000);
      return null;
    }
    if (key === 'log.roll.ms') {
      if (this.isSet('log.roll.ms')) return this.get('log.roll.ms');
      if (this.isSet('log.roll.hours')) return String(this.num('log.roll.hours') * 3600000);
      return null;
    }
    if (key === 'log.index.interval.bytes' && this.isSet('index.interval.bytes')) return this.get('index.interval.bytes');
    return this.isSet(key) ? this.get(key) : null;
  }

  /** fsync-before-ack unless the operator chose Kafka's flush-interval (no-fsync) mode. */
  get durable(): boolean {
    if (this.isSet('log.flush.interval.messages') || this.isSet('log.flush.interval.ms')) return false;
    return this.bool('franz.fsync');
  }
}

export function toNumber(v: string): number {
  if (v === LONG_MAX) return Infinity;
  return Number(v);
}
