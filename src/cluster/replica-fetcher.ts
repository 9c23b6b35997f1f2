/**
 * A follower's fetcher for one leader broker (Kafka's ReplicaFetcherThread, as a loop on the event
 * loop): one connection, Fetch requests carrying this broker's id as replica id for every partition
 * it follows there, from each partition's log end offset. What comes back is appended as the
 * leader stored it (offsets and leader epochs kept), and the follower's high watermark follows the
 * leader's. In durable mode the next fetch waits for the fsync of what this one brought, so a fetch
 * offset is a promise that the records are on this replica's disk. A partition the leader refuses for now (it has not applied the same metadata yet) is
 * retried after a pause; one whose log has diverged from the leader's (OFFSET_OUT_OF_RANGE: the
 * truncation through OffsetForLeaderEpoch is not built yet) stops until its leadership changes.
 */
import { BrokerConnection } from '../client/connection.js';
import type { Logger } from '../logger.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { spec as fetchSpec } from '../protocol/messages/01-fetch.js';
import { spec as epochSpec } from '../protocol/messages/23-offset-for-leader-epoch.js';
import type { Log } from '../storage/log.js';
import { groupByTopic } from '../metadata/group-by-topic.js';

export interface FollowedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly log: Log;
  readonly leaderEpoch: number;
}

const RETRY_MS = 500;
const PARTITION_MAX_BYTES = 1 << 20;
const MAX_BYTES = 16 << 20;

export class ReplicaFetcher {
  private readonly partitions = new Map<string, FollowedPartition>();
  /** Partitions that hit an error only a newer leader epoch can clear (a diverged or corrupt log). */
  private readonly paused = new Set<string>();
  /** Partitions that must find their divergence point with OffsetForLeaderEpoch before they fetch. */
  private readonly unchecked = new Set<string>();
  /** Partitions the leader refused for now (it has not applied the same metadata yet): retried at this time. */
  private readonly retryAt = new Map<string, number>();
  private conn: BrokerConnection | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly leaderId: number,
    readonly address: string,
    private readonly selfId: number,
    private readonly waitMs: number,
    private readonly log: Logger,
  ) {
    void this.run();
  }

  /** The partitions followed, as `topic\0partition`. */
  keys(): string[] {
    return [...this.partitions.keys()];
  }

  /** Follows `p` (or follows it at a new epoch, which clears a pause). */
  follow(p: FollowedPartition): void {
    const key = `${p.topic}\u0000${p.partition}`;
    const before = this.partitions.get(key);
    if (before === undefined || before.leaderEpoch !== p.leaderEpoch || before.log !== p.log) {
      this.paused.delete(key);
      this.unchecked.add(key);
    }
    this.partitions.set(key, p);
    this.wake?.();
  }

  unfollow(topic: string, partition: number): void {
    const key = `${topic}\u0000${partition}`;
    this.partitions.delete(key);
    this.paused.delete(key);
    this.retryAt.delete(key);
    this.unchecked.delete(key);
  }

  stop(): void {
    this.stopped = true;
    this.conn?.close();
    this.wake?.();
  }

  private async idle(ms: number | null): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = ms === null ? null : setTimeout(resolve, ms);
      this.wake = () => {
        if (timer !== null) clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      const active = [...this.partitions.entries()]
        .filter(([k]) => !this.paused.has(k) && (this.retryAt.get(k) ?? 0) <= now)
        .map(([, p]) => p);
      if (active.length === 0) {
        await this.idle(this.retryAt.size > 0 ? RETRY_MS : null);
        continue;
      }
      try {
        this.conn ??= await BrokerConnection.open(this.address, {
          clientId: `franz-replica-${this.selfId}`,
          // One fetch at a time, its records appended before the next is sent: responses can share
          // one buffer, so replication allocates nothing per fetch (no GC pressure from it).
          reuseResponseBuffers: true,
          requestTimeoutMs: this.waitMs + 30_000,
        });
        const toCheck = active.filter((p) => this.unchecked.has(`${p.topic}\u0000${p.partition}`));
        if (toCheck.length > 0) await this.truncateDiverged(this.conn, toCheck);
        const ready = active.filter((p) => !this.unchecked.has(`${p.topic}\u0000${p.partition}`));
        if (ready.length > 0) await this.fetchOnce(this.conn, ready);
      } catch (err) {
        if (this.stopped) return;
        this.log.warn('replica fetch failed', { leader: this.leaderId, address: this.address, err: String(err) });
        this.conn?.close();
        this.conn = null;
        await this.idle(RETRY_MS);
      }
    }
  }

  private async fetchOnce(conn: BrokerConnection, active: FollowedPartition[]): Promise<void> {
    const byTopic = groupByTopic(active);
    const res = await conn.request(fetchSpec, {
      replicaId: this.selfId,
      maxWaitMs: this.waitMs,
      minBytes: 1,
      maxBytes: MAX_BYTES,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: p.leaderEpoch,
          fetchOffset: p.log.logEndOffset,
          lastFetchedEpoch: -1,
          logStartOffset: p.log.logStartOffset,
          partitionMaxBytes: PARTITION_MAX_BYTES,
        })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    });
    const flushes: Promise<void>[] = [];
    for (const t of res.responses) {
      for (const r of t.partitions) {
        const key = `${t.topic}\u0000${r.partitionIndex}`;
        const p = this.partitions.get(key);
        // Unfollowed meanwhile, or now followed through another log (the topic was made again).
        if (p === undefined || !active.includes(p)) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE || r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR)
            this.pause(key, p, r.errorCode, null);
          else this.retryAt.set(key, Date.now() + RETRY_MS);
          continue;
        }
        this.retryAt.delete(key);
        const records = r.records;
        if (Buffer.isBuffer(records) && records.length > 0) {
          const a = p.log.appendAsFollower(records);
          if (a.errorCode !== ErrorCode.NONE) {
            this.pause(key, p, a.errorCode, a.errorMessage);
            continue;
          }
          if (p.log.config.durable) flushes.push(p.log.flushTo(p.log.logEndOffset));
        }
        p.log.setReplicaHighWatermark(Math.min(Number(r.highWatermark), p.log.logEndOffset));
      }
    }
    // Durable mode: the next fetch tells the leader this replica has the records, which may
    // acknowledge them (acks=all); so it goes out only once they are on disk here too.
    await Promise.all(flushes);
  }

  /**
   * A new leadership: asks the leader where this replica's latest epoch ends in its log and cuts
   * this log there (KIP-101; when the leader's epoch is older, at the lesser of its end and ours for
   * that epoch, KIP-279). Records past that point were never committed: the leader does not have them.
   */
  private async truncateDiverged(conn: BrokerConnection, ps: FollowedPartition[]): Promise<void> {
    const byTopic = groupByTopic(ps);
    const res = await conn.request(epochSpec, {
      replicaId: this.selfId,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        partitions: list.map((p) => ({ partition: p.partition, currentLeaderEpoch: p.leaderEpoch, leaderEpoch: p.log.epochs.latestEpoch })),
      })),
    });
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const key = `${t.topic}\u0000${r.partition}`;
        const p = this.partitions.get(key);
        if (p === undefined || !ps.includes(p)) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          this.retryAt.set(key, Date.now() + RETRY_MS);
          continue;
        }
        const log = p.log;
        const asked = log.epochs.latestEpoch;
        const leo = log.logEndOffset;
        let cut: number;
        if (r.leaderEpoch < 0 || Number(r.endOffset) < 0) cut = log.highWatermark;
        else if (r.leaderEpoch === asked) cut = Math.min(Number(r.endOffset), leo);
        else cut = Math.min(Number(r.endOffset), log.epochs.endOffsetFor(r.leaderEpoch, leo)[1]);
        if (cut < leo) {
          this.log.warn('truncating a replica that diverged from its new leader', {
            topic: t.topic,
            partition: r.partition,
            leader: this.leaderId,
            from: leo,
            to: cut,
            leaderEpoch: p.leaderEpoch,
          });
          log.truncateTo(cut);
        }
        this.unchecked.delete(key);
      }
    }
  }

  private pause(key: string, p: FollowedPartition, code: number, message: string | null): void {
    this.paused.add(key);
    this.log.warn('replica fetch of a partition stopped until its leadership changes', {
      topic: p.topic,
      partition: p.partition,
      leader: this.leaderId,
      leaderEpoch: p.leaderEpoch,
      error: errorName(code),
      message,
    });
  }
}
