/**
 * A broker's membership: its registration under an etcd lease, kept alive by this module, and the
 * moment until which the lease is certainly alive (`live`).
 *
 * etcd expires a lease no earlier than TTL after the last keep-alive it *received*, and this broker
 * sends that keep-alive no later than etcd receives it; so with `sentAt` taken before sending,
 * `sentAt + TTL` is no later than the lease's expiry (clock rates assumed to agree within the
 * margin subtracted; etcd only ever extends leases across its own elections). While `live`, no
 * other broker can have been elected in this one's place, because the controller elects only after
 * etcd has deleted the registration. The broker's writes to etcd that speak for its leaderships
 * (ISR changes) and the controller's elections require `live`; serving its partitions does not
 * (acks=all is protected by the ISR: see docs/ARCHITECTURE.md, "Fencing").
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
      // A deadline: etcd out of reach must not leave the loop waiting on one call forever.
      const res = await lease.keepaliveOnce({ deadline: Date.now() + Math.max(1000, this.ttlMs) });
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
