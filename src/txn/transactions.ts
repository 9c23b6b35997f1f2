/**
 * Transactions: the broker's transaction coordinator wired to its parts. It owns the
 * TransactionStore (`__transaction_state`), the TransactionCoordinator (the state machine), the
 * marker writer and the timers that abort transactions past their timeout and expire idle
 * transactional ids. The coordinator of a transactional id is the leader of its
 * `__transaction_state` partition: a single node leads them all; a cluster broker loads a
 * partition's ids when it becomes its leader (onStatePartition) and completes the transactions
 * stored as prepared there.
 *
 * `__transaction_state` is made on first use (a FindCoordinator or InitProducerId for a
 * transactional id), as Kafka does: a broker whose clients never use transactions keeps no
 * partitions for them.
 *
 * Markers go to every partition of a transaction: appended here when this broker leads the
 * partition (writeLocal), else sent to its leader (the `remoteMarker` port, WriteTxnMarkers). A
 * marker is retried until it is written or its topic is gone, as Kafka's marker channel does: the
 * outcome is decided and stored before the first marker, so it must reach every partition.
 */
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { PartitionLogs, ProducerIds } from '../metadata/ports.js';
import { type StateTopicPorts, statePartitionFor } from '../metadata/state-topic.js';
import { ErrorCode } from '../protocol/errors.js';
import { TransactionCoordinator, type TxnPartition } from './coordinator.js';
import { type TxnMarker, writeMarkerLocally } from './markers.js';
import { TRANSACTION_STATE_TOPIC, TransactionStore } from './transaction-store.js';
import { TxnState } from './transaction-state.js';

export interface TransactionsPorts extends StateTopicPorts {
  readonly config: BrokerConfig;
  readonly producerIds: ProducerIds;
}

/**
 * How long a partition leader keeps asking a coordinator that answers CONCURRENT_TRANSACTIONS
 * (its previous transaction's markers are still being written), and the pause between asks:
 * Kafka's add.partitions.to.txn.retry.backoff.max.ms and .backoff.ms defaults.
 */
const ADD_RETRY_FOR_MS = 100;
const ADD_RETRY_EVERY_MS = 20;

async function retryConcurrent(ask: () => Promise<number[]>): Promise<number[]> {
  const until = Date.now() + ADD_RETRY_FOR_MS;
  for (;;) {
    const codes = await ask();
    if (!codes.includes(ErrorCode.CONCURRENT_TRANSACTIONS) || Date.now() >= until) return codes;
    await new Promise((r) => setTimeout(r, ADD_RETRY_EVERY_MS));
  }
}

/** First and longest pause between attempts to write a marker that failed. */
const MARKER_RETRY_MIN_MS = 50;
const MARKER_RETRY_MAX_MS = 2000;

export class Transactions {
  private madeStore: TransactionStore | undefined;
  private readonly ports: TransactionsPorts;
  readonly coordinator: TransactionCoordinator;
  /**
   * Called once a marker is durable in a partition this broker leads: the group coordinator
   * makes a transaction's offsets (in `__consumer_offsets`) count, or drops them.
   */
  onMarker: (topic: string, partition: number, producerId: number, commit: boolean) => void = () => undefined;
  /** Cluster: writes a marker on the partition's leader elsewhere (WriteTxnMarkers); an error code. */
  remoteMarker: ((topic: string, partition: number, marker: TxnMarker) => Promise<number>) | undefined;
  /**
   * Cluster: asks the coordinator of a transactional id on another broker to add partitions to
   * its transaction, or (verifyOnly) whether they are in it (AddPartitionsToTxn v5); an error code
   * per partition.
   */
  remoteAdd:
    | ((
        transactionalId: string,
        producerId: number,
        producerEpoch: number,
        partitions: readonly TxnPartition[],
        verifyOnly: boolean,
      ) => Promise<number[]>)
    | undefined;
  private readonly logs: PartitionLogs;
  private readonly log: Logger;
  private readonly config: BrokerConfig;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(ports: TransactionsPorts) {
    this.logs = ports.logs;
    this.log = ports.log;
    this.config = ports.config;
    this.ports = ports;
    const producerIds = ports.producerIds;
    this.coordinator = new TransactionCoordinator({
      store: (id, record) => this.store.store(id, record),
      writeMarkers: (partitions, m, id) =>
        this.writeMarkers(partitions, {
          ...m,
          coordinatorEpoch: this.logs.leaderEpochOf(TRANSACTION_STATE_TOPIC, this.store.partitionFor(id)),
        }),
      newProducerId: async () => {
        // A cluster broker between id blocks has none at hand for a moment.
        for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
          const id = producerIds.allocate();
          if (id !== null) return id;
          await new Promise((r) => setTimeout(r, wait));
        }
      },
      now: () => Date.now(),
      maxTimeoutMs: ports.config.num('transaction.max.timeout.ms'),
    });
  }

  /** The state topic's store, made (with the topic, if it does not exist yet) on first use. */
  get store(): TransactionStore {
    this.madeStore ??= new TransactionStore(this.ports, this.config);
    return this.madeStore;
  }

  /** The `__transaction_state` partition of a transactional id, without making the topic; undefined while it does not exist. */
  statePartitionOf(transactionalId: string): number | undefined {
    const t = this.ports.topics.get(TRANSACTION_STATE_TOPIC);
    return t === undefined ? undefined : statePartitionFor(transactionalId, t.partitions);
  }

  /** NOT_COORDINATOR when another broker coordinates the id, else null. */
  notCoordinator(transactionalId: string): number | null {
    return this.store.leads(transactionalId) ? null : ErrorCode.NOT_COORDINATOR;
  }

  /**
   * At start: every partition's ids (those this broker leads), then the prepared transactions
   * completed (in the background). Nothing while the topic has not been made.
   */
  loadAll(): void {
    if (this.madeStore === undefined && this.ports.topics.get(TRANSACTION_STATE_TOPIC) === undefined) return;
    for (let p = 0; p < this.store.topic.partitions; p++) this.loadPartition(p);
    this.completePending();
  }

  /** Cluster: this broker now leads (or no longer leads) partition p of `__transaction_state`. */
  onStatePartition(p: number, leading: boolean): void {
    this.coordinator.forget((id) => this.store.partitionFor(id) === p);
    if (!leading) return;
    this.loadPartition(p);
    this.completePending();
  }

  private loadPartition(p: number): void {
    for (const [id, record] of this.store.load(p)) this.coordinator.load(id, record);
  }

  private completePending(): void {
    this.coordinator.completePending().catch((err: unknown) => {
      this.log.error('could not complete the transactions prepared before the restart', { err: String(err) });
    });
  }

  /** Starts the timers: transactions past their timeout are aborted, idle ids expire. */
  start(): void {
    const abortEvery = this.config.num('transaction.abort.timed.out.transaction.cleanup.interval.ms');
    const expireEvery = this.config.num('transaction.remove.expired.transaction.cleanup.interval.ms');
    const abort = setInterval(() => void this.abortTimedOut(), abortEvery);
    const expire = setInterval(() => {
      this.coordinator.expire(Date.now(), this.config.num('transactional.id.expiration.ms')).catch(() => undefined);
    }, expireEvery);
    abort.unref();
    expire.unref();
    this.timers = [abort, expire];
  }

  /** Aborts every transaction open longer than its timeout; returns how many were aborted. */
  async abortTimedOut(): Promise<number> {
    let n = 0;
    for (const m of this.coordinator.timedOut(Date.now())) {
      if ((await this.coordinator.abortTimedOut(m.transactionalId)) !== ErrorCode.NONE) continue;
      n++;
      this.log.info('aborted a transaction past its timeout', {
        transactionalId: m.transactionalId,
        producerId: m.producerId,
        timeoutMs: m.timeoutMs,
      });
    }
    return n;
  }

  stop(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /**
   * Whether a transactional write of producer `producerId` at `producerEpoch` (a Produce's batches,
   * a TxnOffsetCommit's offsets) may go to each of `partitions`: the id's current producer, with
   * the partition in its open transaction, so that the transaction's markers will reach what is
   * written. With `add` (transactions v2: Produce v12+, TxnOffsetCommit v5+, transaction.version
   * 2 finalized) a partition not yet in the transaction joins it, as KIP-890 has the partition
   * leader do; else a partition that is not in it is INVALID_TXN_STATE. The id's coordinator
   * answers: this broker's own at once, another broker's over AddPartitionsToTxn (a promise),
   * except for a partition that already holds this producer's open transaction at this epoch
   * (`open`: the leader has seen it verified). The partitions of one request are added, or asked
   * about, together: one write to `__transaction_state`, one request. A coordinator still
   * completing the previous transaction (CONCURRENT_TRANSACTIONS) is asked again for a short
   * while before that is the answer, as Kafka's leaders do. One code (or promise) per partition.
   */
  admit(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TxnPartition[],
    add: boolean,
    open: (p: TxnPartition) => boolean,
  ): Array<number | Promise<number>> {
    if (this.madeStore !== undefined && this.store.leads(transactionalId)) {
      const codes = partitions.map((p) => this.verify(transactionalId, producerId, producerEpoch, p.topic, p.partition));
      const missing = add ? partitions.filter((_, i) => codes[i] === ErrorCode.INVALID_TXN_STATE) : [];
      if (missing.length === 0) return codes;
      const added = retryConcurrent(async () => {
        const code = await this.coordinator.addPartitions(transactionalId, producerId, producerEpoch, missing);
        return missing.map(() => code);
      }).then((c) => c[0]!);
      return codes.map((c) => (c === ErrorCode.INVALID_TXN_STATE ? added : c));
    }
    const remote = this.remoteAdd;
    const ask = remote === undefined ? [] : partitions.filter((p) => !open(p));
    if (ask.length === 0) return partitions.map(() => ErrorCode.NONE);
    const answers = retryConcurrent(() => remote!(transactionalId, producerId, producerEpoch, ask, !add));
    return partitions.map((p) => {
      const i = ask.indexOf(p);
      return i < 0 ? ErrorCode.NONE : answers.then((a) => a[i] ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    });
  }

  /**
   * The check of a transactional write when this broker coordinates the id (see admit): the
   * producer is the id's current one and the partition part of its open transaction. NONE when
   * another broker coordinates the id.
   */
  verify(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): number {
    if (this.madeStore === undefined || !this.store.leads(transactionalId)) return ErrorCode.NONE;
    const m = this.coordinator.get(transactionalId);
    if (m === undefined || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < m.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (m.state !== TxnState.Ongoing || !m.partitions.some((p) => p.topic === topic && p.partition === partition)) {
      return ErrorCode.INVALID_TXN_STATE;
    }
    return ErrorCode.NONE;
  }

  /** Writes a marker on a partition this broker leads (this coordinator's, or WriteTxnMarkers); an error code. */
  async writeLocal(topic: string, partition: number, marker: TxnMarker): Promise<number> {
    const code = await writeMarkerLocally(this.logs, topic, partition, marker);
    if (code === ErrorCode.NONE) this.onMarker(topic, partition, marker.producerId, marker.commit);
    return code;
  }

  /** Writes the marker on every partition, each retried until written or its topic is gone. */
  private async writeMarkers(partitions: readonly TxnPartition[], marker: TxnMarker): Promise<void> {
    await Promise.all(partitions.map((p) => this.writeOne(p, marker)));
  }

  private async writeOne(p: TxnPartition, marker: TxnMarker): Promise<void> {
    for (let wait = MARKER_RETRY_MIN_MS; ; wait = Math.min(wait * 2, MARKER_RETRY_MAX_MS)) {
      // The transaction stays prepared in the store; the next start completes it.
      if (this.closed) throw new Error('the broker is stopping');
      const here = this.logs.partition(p.topic, p.partition) !== undefined;
      const code =
        here || this.remoteMarker === undefined
          ? await this.writeLocal(p.topic, p.partition, marker)
          : await this.remoteMarker(p.topic, p.partition, marker);
      // A deleted topic takes the transaction's records with it: nothing is left to mark.
      if (code === ErrorCode.NONE || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return;
      this.log.warn('a transaction marker was not written; retrying', { topic: p.topic, partition: p.partition, errorCode: code });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
