/**
 * A broker's membership: its registration under an etcd lease, kept alive by this module, and the
 * moment until which this broker may still act as a partition leader.
 *
 * Fencing order (why an old leader never acknowledges after a new one is elected):
 * 1. etcd expires a lease no earlier than TTL after the last keep-alive it *received*; this broker
 *    sends that keep-alive no later than it receives it. So with `sentAt` taken before sending,
 *    `sentAt + TTL` is no later than the lease's expiry (clock rates assumed to agree within the
 *    safety margin subtracted below; etcd also only ever extends leases across its own elections).
 * 2. A new leader is chosen by the controller only after it sees the broker's key deleted, which
 *    etcd does at the lease's expiry.
 * 3. This broker acts as leader (acknowledges acks=all, answers as leader) only while
 *    `now < validUntil = sentAt + TTL - margin`.
 * Hence every acknowledgement by the old leader happens before the lease expires, which happens
 * before any new leader exists. A broker that cannot reach etcd stops leading by itself.
 */
import { randomBytes } from 'node:crypto';
import type { Lease } from 'etcd3';
import type { Logger } from '../logger.js';
import type { EtcdStore } from './etcd-store.js';
import type { BrokerRecord } from './state.js';

export class Membership {
  readonly incarnation = randomBytes(8).toString('hex');
  private lease: Lease | null = null;
  private validUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Called when the lease is lost (expired in etcd): the broker must stop leading at once. */
  onLost: () => void = () => undefined;

  constructor(
    private readonly store: EtcdStore,
    private readonly record: Omit<BrokerRecord, 'incarnation'>,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  get safetyMs(): number {
    return Math.min(1000, Math.floor(this.ttlMs / 5));
  }

  /** True while this broker's lease is certainly alive in etcd. */
  get live(): boolean {
    return performance.now() < this.validUntil;
  }

  /** The lease the controller record is attached to (it vanishes with the broker). */
  get currentLease(): Lease {
    if (this.lease === null) throw new Error('not registered');
    return this.lease;
  }

  /**
   * Registers the broker, waiting (up to `waitMs`) for a previous process with the same id to
   * lose its lease: after a kill -9 the old registration lives until its TTL runs out.
   */
  async register(waitMs: number): Promise<void> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const lease = this.store.lease(Math.max(1, Math.ceil(this.ttlMs / 1000)));
      const sentAt = performance.now();
      if (await this.store.registerBroker(lease, { ...this.record, incarnation: this.incarnation })) {
        this.lease = lease;
        this.validUntil = sentAt + this.ttlMs - this.safetyMs;
        this.schedule();
        return;
      }
      await lease.revoke().catch(() => undefined);
      if (performance.now() > deadline) throw new Error(`broker id ${this.record.id} is registered by another live broker`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.keepAlive(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  private async keepAlive(): Promise<void> {
    const lease = this.lease;
    if (lease === null || this.stopped) return;
    const sentAt = performance.now();
    try {
      const res = await lease.keepaliveOnce();
      if (Number(res.TTL) <= 0) throw new Error('lease expired');
      this.validUntil = Math.max(this.validUntil, sentAt + this.ttlMs - this.safetyMs);
    } catch (err) {
      if (this.stopped) return;
      if (/expired|not found/i.test(String(err))) {
        this.log.warn('cluster lease lost; registering again', { err: String(err) });
        this.validUntil = 0;
        this.lease = null;
        this.onLost();
        try {
          await this.register(this.ttlMs * 2);
        } catch (e) {
          this.log.error('could not register again', { err: String(e) });
          this.schedule();
        }
        return;
      }
      // etcd unreachable: keep trying; `live` turns false by itself when validUntil passes.
      this.log.warn('cluster keep-alive failed', { err: String(err) });
    }
    this.schedule();
  }

  /** Stops keeping the lease alive and revokes it, so the cluster sees this broker leave at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.validUntil = 0;
    await this.lease?.revoke().catch(() => undefined);
  }
}
