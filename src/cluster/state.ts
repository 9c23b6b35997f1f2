/**
 * The cluster metadata as etcd holds it, and the image of it each broker keeps in memory.
 *
 * Keys under the cluster's prefix P (`/franz/<name>` from `--cluster etcd://host:port/<name>`):
 *
 *   P/cluster-id            the cluster id, created once by the first broker
 *   P/brokers/<id>          BrokerRecord, attached to that broker's lease (gone when it dies)
 *   P/controller            ControllerRecord, attached to the controller's lease (election)
 *   P/topics/<name>         TopicRecord: id, configs, and the replicas of every partition
 *   P/partitions/<name>/<p> PartitionRecord: replicas, leader, leader epoch, ISR, partition epoch,
 *                           and a reassignment in progress
 *
 * A topic is created with one put of its TopicRecord (create-if-absent), whatever its partition
 * count: a partition without a PartitionRecord is in its initial state (initialPartition). Every later change of a partition is a compare-and-swap on its
 * PartitionRecord's mod revision (absent: create revision 0), so two writers never both win, and
 * every broker applies the changes in etcd's revision order through one watch.
 */

export interface BrokerRecord {
  id: number;
  host: string;
  port: number;
  rack: string | null;
  /** Random per process start: a restarted broker is a new incarnation. */
  incarnation: string;
}

export interface ControllerRecord {
  id: number;
  incarnation: string;
}

export interface TopicRecord {
  name: string;
  /** 32 hex digits. */
  id: string;
  configs: Record<string, string>;
  internal: boolean;
  /** replicas[p]: the brokers holding partition p, the preferred leader first. */
  replicas: number[][];
}

export interface PartitionRecord {
  /** The topic id this record belongs to: a record left from a deleted topic of the same name is ignored. */
  topicId: string;
  replicas: number[];
  /** -1 when no replica can lead (every in-sync replica is gone and unclean election is off). */
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** Bumped by every change of this record (Kafka's partition epoch). */
  partitionEpoch: number;
  /**
   * A reassignment in progress (AlterPartitionReassignments): the replicas being added and those
   * being removed. `replicas` then lists both (the target first); absent when none is in progress.
   */
  adding?: number[];
  removing?: number[];
}

/** The parts of a record that an election or an ISR change keeps as they are. */
export function keptParts(s: PartitionRecord): Pick<PartitionRecord, 'topicId' | 'replicas' | 'adding' | 'removing'> {
  return s.adding === undefined
    ? { topicId: s.topicId, replicas: s.replicas }
    : { topicId: s.topicId, replicas: s.replicas, adding: s.adding, removing: s.removing ?? [] };
}

export interface PartitionState extends PartitionRecord {
  /** The etcd mod revision of the record; 0 while the partition is in its initial state. */
  revision: number;
}

/**
 * A new partition: the first replica leads at epoch 0. Until replication is in place only the
 * leader is in sync (Kafka starts with every replica in sync because all are empty; franz's
 * followers do not copy yet, so listing them would promise a failover that loses data).
 */
export function initialPartition(topicId: string, replicas: number[]): PartitionState {
  const leader = replicas[0] ?? -1;
  return { topicId, replicas, leader, leaderEpoch: 0, isr: leader === -1 ? [] : [leader], partitionEpoch: 0, revision: 0 };
}

/** One change seen on the watch, in revision order. */
export type ClusterEvent =
  | { kind: 'broker'; id: number; record: BrokerRecord | null }
  | { kind: 'controller'; record: ControllerRecord | null }
  | { kind: 'topic'; name: string; record: TopicRecord | null }
  | { kind: 'partition'; topic: string; partition: number; state: PartitionState | null };

/**
 * What one broker knows of the cluster: built from a full read of the prefix and then kept up to
 * date by the watch that starts right after that read's revision. Main thread only.
 */
export class ClusterImage {
  readonly brokers = new Map<number, BrokerRecord>();
  controller: ControllerRecord | null = null;
  readonly topics = new Map<string, TopicRecord>();
  /** The etcd mod revision of each topic's record, for compare-and-swap writes that depend on it. */
  readonly topicRevisions = new Map<string, number>();
  private readonly topicsById = new Map<string, TopicRecord>();
  /** Explicit partition records; a partition without one is in its initial state. */
  private readonly partitionRecords = new Map<string, Map<number, PartitionState>>();
  revision = 0;

  apply(e: ClusterEvent, revision: number): void {
    if (revision > this.revision) this.revision = revision;
    switch (e.kind) {
      case 'broker':
        if (e.record === null) this.brokers.delete(e.id);
        else this.brokers.set(e.id, e.record);
        return;
      case 'controller':
        this.controller = e.record;
        return;
      case 'topic': {
        const old = this.topics.get(e.name);
        if (old !== undefined) this.topicsById.delete(old.id);
        if (e.record === null) {
          this.topics.delete(e.name);
          this.topicRevisions.delete(e.name);
          this.partitionRecords.delete(e.name);
        } else {
          // A topic made again under the same name starts from its own initial states.
          if (old !== undefined && old.id !== e.record.id) this.partitionRecords.delete(e.name);
          this.topics.set(e.name, e.record);
          this.topicRevisions.set(e.name, revision);
          this.topicsById.set(e.record.id, e.record);
        }
        return;
      }
      case 'partition': {
        let m = this.partitionRecords.get(e.topic);
        if (e.state === null) {
          m?.delete(e.partition);
          return;
        }
        if (m === undefined) {
          m = new Map();
          this.partitionRecords.set(e.topic, m);
        }
        m.set(e.partition, e.state);
        return;
      }
    }
  }

  topicById(id: string): TopicRecord | undefined {
    return this.topicsById.get(id);
  }

  /** A partition's state, or undefined when its topic does not have it. */
  partition(topic: string, p: number): PartitionState | undefined {
    const t = this.topics.get(topic);
    if (t === undefined || p < 0 || p >= t.replicas.length) return undefined;
    const own = this.partitionRecords.get(topic)?.get(p);
    return own !== undefined && own.topicId === t.id ? own : initialPartition(t.id, t.replicas[p]!);
  }

  liveBrokers(): BrokerRecord[] {
    return [...this.brokers.values()].sort((a, b) => a.id - b.id);
  }
}
