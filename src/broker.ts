/**
 * The single-node broker, as a composition root: it builds the parts (log manager, topic
 * registry and manager, producer ids, group coordinator, handler registry, listener), hands each
 * the narrow ports it needs, and starts and stops them in order. No part reaches the Broker
 * itself; handlers see only `BrokerServices`.
 */
import { resolve } from 'node:path';
import { connectionOverrides, type BrokerConfig } from './config.js';
import { GroupCoordinator } from './group/coordinator.js';
import { createRegistry } from './handlers/index.js';
import type { BrokerServices, HandlerRegistry } from './handlers/registry.js';
import type { Logger } from './logger.js';
import type { ClusterInfo, Endpoint } from './metadata/ports.js';
import { ProducerIdManager } from './metadata/producer-ids.js';
import { TopicManager } from './metadata/topic-manager.js';
import { TopicRegistry } from './metadata/topics.js';
import { KafkaListener } from './server/listener.js';
import { LogManager } from './storage/log-manager.js';

export const FRANZ_VERSION = '0.1.0';

/** How long a shutdown waits for requests already received to be answered. */
const SHUTDOWN_GRACE_MS = 2000;

export class Broker implements ClusterInfo {
  readonly registry: HandlerRegistry;
  readonly logs: LogManager;
  readonly topics: TopicManager;
  readonly groups: GroupCoordinator;
  readonly nodeId: number;
  readonly dataDir: string;
  readonly clusterId: string;
  private readonly listenerSocket: KafkaListener;
  listener: Endpoint = { host: '127.0.0.1', port: 9092 };
  advertised: Endpoint = { host: '127.0.0.1', port: 9092 };
  private advertisedSet = false;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.nodeId = config.nodeId;
    this.dataDir = resolve(config.dataDir);
    this.logs = new LogManager(this.dataDir, (msg, extra) => log.warn(msg, extra));
    const registry = new TopicRegistry(this.dataDir, this.nodeId, config.get('cluster.id'));
    this.clusterId = registry.clusterId;
    this.topics = new TopicManager(registry, this.logs, config, log, this.dataDir);
    // Replays __consumer_offsets before the listener opens, so no request ever meets a loading coordinator.
    this.groups = new GroupCoordinator({ logs: this.topics, topics: this.topics, config, log });
    this.topics.onTopicDeleted = (name) => {
      this.groups.onTopicDeleted(name).catch((err: unknown) => {
        log.error('could not remove the committed offsets of a deleted topic', { topic: name, err: String(err) });
      });
    };
    this.registry = createRegistry();
    const services: BrokerServices = {
      logs: this.topics,
      topics: this.topics,
      groups: this.groups,
      producerIds: new ProducerIdManager(this.dataDir),
      cluster: this,
      logDirs: this.topics,
      config,
      log,
      apiVersions: () => this.registry.apiVersions(),
    };
    this.listenerSocket = new KafkaListener(
      {
        registry: this.registry,
        services,
        log,
        maxRequestBytes: config.num('socket.request.max.bytes'),
        useSendfile: process.env.FRANZ_SENDFILE !== '0',
        maxQueuedRequests: config.num('queued.max.requests'),
      },
      {
        maxSegmentBytes: config.num('franz.socket.max.segment.bytes'),
        sendBufferBytes: config.num('socket.send.buffer.bytes'),
        receiveBufferBytes: config.num('socket.receive.buffer.bytes'),
      },
      {
        maxConnections: config.num('max.connections'),
        maxPerIp: config.num('max.connections.per.ip'),
        perIpOverrides: connectionOverrides(config.get('max.connections.per.ip.overrides')),
        idleMs: config.num('connections.max.idle.ms'),
        readTimeoutMs: config.num('franz.request.read.timeout.ms'),
      },
      log,
    );
  }

  /** The port listened on (the one the OS chose for port 0). */
  get port(): number {
    return this.listener.port;
  }

  /** Sets the address given to clients (by default the listener's own). */
  advertise(host: string, port: number): void {
    this.advertised = { host, port };
    this.advertisedSet = true;
  }

  async start(host: string, port: number): Promise<void> {
    await this.listenerSocket.start(host, port);
    this.listener = { host, port: this.listenerSocket.port };
    if (!this.advertisedSet) this.advertised = { host: this.advertised.host, port: this.listenerSocket.port };
    this.logs.startBackgroundWork(this.config.num('log.retention.check.interval.ms'));
    this.groups.startExpiry();
  }

  /** Stops accepting, lets in-flight requests finish briefly, flushes, and marks the shutdown clean. */
  async stop(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    await this.listenerSocket.stop(graceMs);
    this.groups.shutdown();
    // A creation under way stops at its next step; the next start opens what it made.
    await this.topics.stop();
    await this.logs.close();
  }
}
