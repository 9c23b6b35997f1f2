/**
 * `GET /metrics`: the broker in Prometheus text format (prom-client). Names follow Prometheus
 * conventions (base units, `_total` counters); README lists them with the Kafka metric each one
 * stands for. Most values are read when scraped (per-topic traffic from each log's counters,
 * partitions and replicas from the cluster view, group lag from committed offsets against high
 * watermarks), so the data path pays two additions per append and one per read; request counts and
 * latencies are observed as requests are answered, fsync times as fsyncs end.
 */
import client from 'prom-client';
import { splitTpKey } from '../group/topic-partition.js';
import type { Log } from '../storage/log.js';
import type { BrokerCalls } from './broker-calls.js';

/** What the metrics read besides the handlers' ports. */
export interface MetricsSources {
  /** Every open partition log (led or followed), by topic and partition. */
  logs(): Iterable<{ key: { topic: string; partition: number }; log: Log }>;
  /** Delayed delivery's counters, when it is on. */
  delay(): { loaded: number; delivered: number; lastLagMs: number } | undefined;
  /** Message trace's counters. */
  trace(): { written: number; dropped: number };
  /** The API's name for a key. */
  apiName(apiKey: number): string;
}

export class BrokerMetrics {
  readonly registry = new client.Registry();
  private readonly requests: client.Counter<'api'>;
  private readonly latency: client.Histogram<'api'>;
  private readonly fsync: client.Histogram;

  constructor(calls: BrokerCalls, src: MetricsSources) {
    const registry = this.registry;
    const s = calls.services;
    client.collectDefaultMetrics({ register: registry });
    this.requests = new client.Counter({
      name: 'franz_requests_total',
      help: 'Kafka protocol requests answered, by API',
      labelNames: ['api'],
      registers: [registry],
    });
    this.latency = new client.Histogram({
      name: 'franz_request_duration_seconds',
      help: 'Time from a request read to its answer ready, by API',
      labelNames: ['api'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    this.fsync = new client.Histogram({
      name: 'franz_log_flush_duration_seconds',
      help: 'Time of one fsync of a segment',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    });
    const perTopic = (field: 'bytesIn' | 'messagesIn' | 'bytesOut'): Map<string, number> => {
      const m = new Map<string, number>();
      for (const { key, log } of src.logs()) m.set(key.topic, (m.get(key.topic) ?? 0) + log.traffic[field]);
      return m;
    };
    const topicCounter = (name: string, help: string, field: 'bytesIn' | 'messagesIn' | 'bytesOut') =>
      new client.Counter({
        name,
        help,
        labelNames: ['topic'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [topic, v] of perTopic(field)) this.inc({ topic }, v);
        },
      });
    topicCounter('franz_topic_bytes_in_total', 'Bytes appended to the topic (Kafka: BrokerTopicMetrics BytesInPerSec)', 'bytesIn');
    topicCounter('franz_topic_messages_in_total', 'Records appended to the topic (Kafka: MessagesInPerSec)', 'messagesIn');
    topicCounter(
      'franz_topic_bytes_out_total',
      "Bytes read from the topic's logs: consumer and follower fetches, HTTP streams (Kafka: BytesOutPerSec with ReplicationBytesOutPerSec)",
      'bytesOut',
    );
    new client.Gauge({
      name: 'franz_partitions',
      help: 'Partitions whose log this broker holds (Kafka: ReplicaManager PartitionCount)',
      registers: [registry],
      collect() {
        let n = 0;
        for (const _ of src.logs()) n++;
        this.set(n);
      },
    });
    new client.Gauge({
      name: 'franz_under_replicated_partitions',
      help: 'Partitions this broker leads whose ISR is smaller than their replicas (Kafka: UnderReplicatedPartitions)',
      registers: [registry],
      collect() {
        let n = 0;
        for (const { key } of src.logs()) {
          const rs = s.cluster.replicaState(key.topic, key.partition);
          if (rs !== undefined && rs.leader === s.cluster.nodeId && rs.isr.length < rs.replicas.length) n++;
        }
        this.set(n);
      },
    });
    new client.Gauge({
      name: 'franz_log_end_offset',
      help: 'The high watermark of each partition this broker leads',
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { key, log } of src.logs()) {
          if (key.topic.startsWith('__')) continue;
          if (s.logs.partition(key.topic, key.partition) === log)
            this.set({ topic: key.topic, partition: String(key.partition) }, log.highWatermark);
        }
      },
    });
    new client.Gauge({
      name: 'franz_consumer_group_lag',
      help: 'High watermark minus committed offset, per group and partition this broker coordinates and leads (Kafka tools: consumer lag)',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const group of s.groups.groupIds()) {
          const committed = s.groups.committed(group);
          if (committed === undefined) continue;
          for (const [k, c] of committed) {
            const { topic, partition } = splitTpKey(k);
            const log = s.logs.partition(topic, partition);
            if (log !== undefined) this.set({ group, topic, partition: String(partition) }, Math.max(0, log.highWatermark - c.offset));
          }
        }
      },
    });
    new client.Gauge({
      name: 'franz_log_cleaner_dirty_ratio',
      help: 'Dirty bytes over all cleanable bytes of each compacted partition (Kafka: LogCleanerManager max-dirty-percent, per log)',
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const { key, log } of src.logs()) {
          if (!log.config.compact) continue;
          const plan = log.cleanPlan(now);
          this.set({ topic: key.topic, partition: String(key.partition) }, plan?.dirtyRatio ?? 0);
        }
      },
    });
    new client.Gauge({
      name: 'franz_log_cleaner_last_clean_timestamp_seconds',
      help: 'When the log cleaner last swapped cleaned segments into each compacted partition (0: not since start)',
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { key, log } of src.logs()) {
          if (log.config.compact) this.set({ topic: key.topic, partition: String(key.partition) }, Math.max(0, log.lastCleanMs) / 1000);
        }
      },
    });
    new client.Gauge({
      name: 'franz_delay_loaded_records',
      help: 'Delayed records due within the next minutes, held in memory',
      registers: [registry],
      collect() {
        this.set(src.delay()?.loaded ?? 0);
      },
    });
    new client.Counter({
      name: 'franz_delay_delivered_total',
      help: 'Delayed records delivered since the broker started',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(src.delay()?.delivered ?? 0);
      },
    });
    new client.Gauge({
      name: 'franz_delay_lag_seconds',
      help: 'How late the latest delivery tick delivered (its latest record)',
      registers: [registry],
      collect() {
        this.set((src.delay()?.lastLagMs ?? 0) / 1000);
      },
    });
    new client.Counter({
      name: 'franz_trace_events_total',
      help: 'Message trace events written to __franz_trace, and dropped',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        this.reset();
        const t = src.trace();
        this.inc({ result: 'written' }, t.written);
        this.inc({ result: 'dropped' }, t.dropped);
      },
    });
    this.apiName = src.apiName;
  }

  private readonly apiName: (apiKey: number) => string;

  /** A Kafka request answered after `seconds`. */
  request(apiKey: number, seconds: number): void {
    const api = this.apiName(apiKey);
    this.requests.inc({ api });
    this.latency.observe({ api }, seconds);
  }

  fsynced(seconds: number): void {
    this.fsync.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
