/**
 * What the leader of one partition tracks about its followers (Kafka's Partition/Replica state):
 * each follower's log end offset as its fetches report it, when it was last caught up, and from
 * that the high watermark (the offset every in-sync replica has) and the ISR changes to ask for.
 *
 * The high watermark only moves forward: at the start of a leadership it is what this replica had
 * (followers that have not fetched yet count as being there), and it advances to the smallest log
 * end offset of the in-sync replicas. A follower not in the ISR joins it once it has everything
 * below the high watermark; an in-sync follower that has not been caught up for
 * `replica.lag.time.max.ms` leaves it. ISR changes are written by the leader as compare-and-swaps
 * on the partition's record (Kafka sends AlterPartition to its controller; here etcd orders them).
 */
import type { Log } from '../storage/log.js';

interface Follower {
  /** Its log end offset: the offset of its last fetch. -1 until it fetches. */
  leo: number;
  /** Our log end offset at its previous fetch: reaching it then means it was caught up then. */
  leoAtLastFetch: number;
  lastFetchMs: number;
  lastCaughtUpMs: number;
}

export class PartitionLeader {
  private readonly followers = new Map<number, Follower>();
  /** The high watermark as replication sets it; never lower than at the start of the leadership. */
  private hw: number;

  constructor(
    readonly log: Log,
    private isr: readonly number[],
    private readonly self: number,
    now: number,
  ) {
    this.hw = log.highWatermark;
    for (const r of isr) if (r !== self) this.followers.set(r, { leo: -1, leoAtLastFetch: -1, lastFetchMs: now, lastCaughtUpMs: now });
    this.publish();
  }

  /** The record changed (ISR written by us or the controller): the new ISR counts from now on. */
  setIsr(isr: readonly number[], now: number): void {
    this.isr = isr;
    for (const r of isr) {
      if (r !== this.self && !this.followers.has(r))
        this.followers.set(r, { leo: -1, leoAtLastFetch: -1, lastFetchMs: now, lastCaughtUpMs: now });
    }
    this.publish();
  }

  get inSync(): readonly number[] {
    return this.isr;
  }

  /** A follower fetched from `offset`; returns true when it should now join the ISR. */
  fetched(replica: number, offset: number, now: number): boolean {
    let f = this.followers.get(replica);
    if (f === undefined) {
      f = { leo: -1, leoAtLastFetch: -1, lastFetchMs: now, lastCaughtUpMs: 0 };
      this.followers.set(replica, f);
    }
    const leo = this.log.logEndOffset;
    if (offset >= leo) f.lastCaughtUpMs = now;
    else if (f.leoAtLastFetch >= 0 && offset >= f.leoAtLastFetch) f.lastCaughtUpMs = f.lastFetchMs;
    f.leo = offset;
    f.leoAtLastFetch = leo;
    f.lastFetchMs = now;
    if (this.isr.includes(replica)) {
      this.publish();
      return false;
    }
    return offset >= this.log.highWatermark;
  }

  /** In-sync followers that have not been caught up within `lagMs`. */
  laggards(now: number, lagMs: number): number[] {
    return this.isr.filter((r) => r !== this.self && now - (this.followers.get(r)?.lastCaughtUpMs ?? 0) > lagMs);
  }

  /** Recomputes the high watermark from the ISR's log end offsets and hands it to the log. */
  private publish(): void {
    // What the log exposes now is a high watermark every in-sync replica had: never go below it.
    this.hw = Math.max(this.hw, this.log.highWatermark);
    let min = Number.MAX_SAFE_INTEGER;
    for (const r of this.isr) {
      if (r === this.self) continue;
      const f = this.followers.get(r);
      min = Math.min(min, f === undefined || f.leo < 0 ? this.hw : f.leo);
    }
    if (min !== Number.MAX_SAFE_INTEGER && min > this.hw) this.hw = min;
    // With no other replica in sync the leader's own log decides alone (capped by nothing).
    this.log.setReplicaHighWatermark(min === Number.MAX_SAFE_INTEGER ? null : this.hw);
  }
}
