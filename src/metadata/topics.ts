/**
 * The topic registry of a single-node broker: topic names, stable topic ids, partition counts and
 * topic-level config overrides, kept in `<data dir>/franz-topics.json` (written atomically and
 * fsynced on every change). Each partition directory also gets Kafka's `partition.metadata` file
 * with the topic id. In cluster mode this role moves to etcd behind the same interface.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably, partitionDirName } from '../storage/durable-file.js';

export interface TopicInfo {
  name: string;
  /** 32 hex digits (16 bytes). */
  id: string;
  partitions: number;
  configs: Record<string, string>;
  internal: boolean;
}

const PARTITION_METADATA = 'partition.metadata';

/** The most partitions one topic may have here. */
export const MAX_PARTITIONS = 100_000;

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Kafka's topic name rules: 1-249 legal characters, not "." or "..". Returns a reason or null. */
export function invalidTopicName(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name "${name}" is not allowed`;
  if (name.length > 249) return 'topic name is longer than 249 characters';
  if (!LEGAL.test(name)) return `topic name "${name}" has characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

/** A random topic id (32 hex digits). */
export function newTopicId(): string {
  // Kafka reserves the all-zero id and the id with only its last bit set; random ids avoid both.
  let id = randomBytes(16).toString('hex');
  while (/^0{31}[01]$/.test(id)) id = randomBytes(16).toString('hex');
  return id;
}

/** Kafka prints topic ids in URL-safe base64 without padding. */
export function topicIdBase64(id: string): string {
  return Buffer.from(id, 'hex').toString('base64url');
}

function partitionMetadataText(topicId: string): string {
  return `version: 0\ntopic_id: ${topicIdBase64(topicId)}\n`;
}

/** The topic id (32 hex digits) a partition directory's `partition.metadata` names, or null without one. */
export function partitionMetadataTopicId(dataDir: string, topic: string, p: number): string | null {
  try {
    const text = readFileSync(join(dataDir, partitionDirName(topic, p), PARTITION_METADATA), 'utf8');
    const m = /^topic_id: (\S+)$/m.exec(text);
    return m === null ? null : Buffer.from(m[1]!, 'base64url').toString('hex');
  } catch {
    return null;
  }
}

/** Kafka's `partition.metadata` in a partition's directory (made if missing), unless it is already there. */
export function ensurePartitionMetadata(dataDir: string, topic: string, topicId: string, p: number): void {
  const dir = join(dataDir, partitionDirName(topic, p));
  if (existsSync(join(dir, PARTITION_METADATA))) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, PARTITION_METADATA), partitionMetadataText(topicId));
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicInfo>();
  private readonly byId = new Map<string, TopicInfo>();
  private readonly path: string;
  readonly clusterId: string;

  constructor(
    private readonly dataDir: string,
    nodeId: number,
    clusterId: string,
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'franz-topics.json');
    if (existsSync(this.path)) {
      const data = JSON.parse(readFileSync(this.path, 'utf8')) as { topics: TopicInfo[] };
      for (const t of data.topics) this.add(t);
    }
    this.clusterId = this.loadMetaProperties(nodeId, clusterId);
  }

  /** Kafka's meta.properties: the cluster id and node id this data directory belongs to. */
  private loadMetaProperties(nodeId: number, configured: string): string {
    const path = join(this.dataDir, 'meta.properties');
    if (existsSync(path)) {
      const m = /cluster\.id=(\S+)/.exec(readFileSync(path, 'utf8'));
      if (m) return m[1]!;
    }
    const id = configured !== '' ? configured : Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
    writeFileSync(path, `#franz\nversion=1\ncluster.id=${id}\nnode.id=${nodeId}\n`);
    return id;
  }

  private add(t: TopicInfo): void {
    this.topics.set(t.name, t);
    this.byId.set(t.id, t);
  }

  private save(): void {
    writeFileDurably(this.path, JSON.stringify({ version: 1, topics: [...this.topics.values()] }, null, 1));
  }

  get(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  getById(id: string): TopicInfo | undefined {
    return this.byId.get(id);
  }

  list(): TopicInfo[] {
    return [...this.topics.values()];
  }

  create(name: string, partitions: number, configs: Record<string, string>, internal = false): TopicInfo {
    const t: TopicInfo = { name, id: newTopicId(), partitions, configs, internal };
    this.add(t);
    this.save();
    return t;
  }

  /** Kafka's `partition.metadata` of each of the topic's partition directories: (file name, text). */
  partitionMetadata(t: TopicInfo): readonly [string, string] {
    return [PARTITION_METADATA, partitionMetadataText(t.id)];
  }

  /** Writes a partition's `partition.metadata` (creating its directory) unless it is already there. */
  ensurePartitionMetadata(t: TopicInfo, p: number): void {
    ensurePartitionMetadata(this.dataDir, t.name, t.id, p);
  }

  delete(name: string): TopicInfo | undefined {
    const t = this.topics.get(name);
    if (t === undefined) return undefined;
    this.topics.delete(name);
    this.byId.delete(t.id);
    this.save();
    return t;
  }

  setPartitions(name: string, count: number): void {
    const t = this.topics.get(name)!;
    t.partitions = count;
    this.save();
  }

  setConfigs(name: string, configs: Record<string, string>): void {
    this.topics.get(name)!.configs = configs;
    this.save();
  }
}
