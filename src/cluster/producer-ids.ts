/**
 * Producer ids in a cluster: blocks of ids taken from etcd (EtcdStore.allocateProducerIds, a
 * compare-and-swap on one counter), so that two brokers never hand out the same id: the leader of
 * a partition tells producers apart by id alone. The next block is fetched when half of the current
 * one is used, so InitProducerId rarely finds none at hand (it then answers a retriable error).
 */
import type { Logger } from '../logger.js';
import type { ProducerIds } from '../metadata/ports.js';
import type { EtcdStore } from './etcd-store.js';

const BLOCK = 1000;

export class ClusterProducerIds implements ProducerIds {
  private next = 0;
  private end = 0;
  private spare: number | null = null;
  private fetching = false;

  constructor(
    private readonly store: EtcdStore,
    private readonly log: Logger,
  ) {}

  allocate(): number | null {
    if (this.next >= this.end && this.spare !== null) {
      this.next = this.spare;
      this.end = this.spare + BLOCK;
      this.spare = null;
    }
    if (this.end - this.next <= BLOCK / 2) this.prefetch();
    return this.next < this.end ? this.next++ : null;
  }

  /** Fetches the next block now (at start, so the first InitProducerId finds one). */
  prefetch(): void {
    if (this.fetching || this.spare !== null) return;
    this.fetching = true;
    this.store
      .allocateProducerIds(BLOCK)
      .then((start) => {
        this.spare = start;
      })
      .catch((err: unknown) => this.log.warn('could not take a block of producer ids', { err: String(err) }))
      .finally(() => {
        this.fetching = false;
      });
  }
}
