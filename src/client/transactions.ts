/**
 * Transaction tooling, in the manner of Kafka's kafka-transactions.sh: ListTransactions from every
 * broker (each lists the ids it coordinates), DescribeTransactions from an id's coordinator
 * (FindCoordinator with key type 1), DescribeProducers from a partition's leader, and the abort
 * of a hanging transaction: a WriteTxnMarkers abort sent to the partition's leader for a producer
 * whose coordinator no longer knows the transaction.
 */
import { CoordinatorKeyType } from '../protocol/constants.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec as findCoordinatorSpec } from '../protocol/messages/10-find-coordinator.js';
import { spec as writeTxnMarkersSpec } from '../protocol/messages/27-write-txn-markers.js';
import { spec as describeProducersSpec } from '../protocol/messages/61-describe-producers.js';
import { spec as describeTransactionsSpec } from '../protocol/messages/65-describe-transactions.js';
import { spec as listTransactionsSpec } from '../protocol/messages/66-list-transactions.js';
import { ClientError, KafkaError, type BrokerConnection } from './connection.js';
import type { Cluster } from './metadata.js';

export interface TransactionListing {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly state: string;
  readonly coordinator: number;
}

export interface TransactionDescription {
  readonly transactionalId: string;
  readonly state: string;
  readonly timeoutMs: number;
  readonly startTimeMs: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly partitions: ReadonlyArray<{ topic: string; partition: number }>;
  readonly coordinator: number;
}

export interface ActiveProducer {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly lastSequence: number;
  readonly lastTimestamp: number;
  readonly coordinatorEpoch: number;
  readonly currentTxnStartOffset: number;
}

export class TransactionTools {
  constructor(private readonly cluster: Cluster) {}

  /** Every broker's transactions, filtered by state names, producer ids and (ms) minimum duration. */
  async list(
    filters: { states?: readonly string[]; producerIds?: readonly number[]; durationMs?: number } = {},
  ): Promise<TransactionListing[]> {
    const md = await this.cluster.metadata([]);
    const out: TransactionListing[] = [];
    for (const b of md.brokers) {
      const c = await this.cluster.brokerConnection(b);
      const res = await c.request(listTransactionsSpec, {
        stateFilters: filters.states ?? [],
        producerIdFilters: filters.producerIds ?? [],
        durationFilter: filters.durationMs ?? -1,
      });
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `list transactions on broker ${b.nodeId}`);
      for (const t of res.transactionStates) {
        out.push({ transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, coordinator: b.nodeId });
      }
    }
    return out.sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0));
  }

  async describe(transactionalId: string): Promise<TransactionDescription> {
    const boot = await this.cluster.connection();
    const batched = boot.version(findCoordinatorSpec) >= 4;
    const found = await boot.request(
      findCoordinatorSpec,
      batched
        ? { keyType: CoordinatorKeyType.TRANSACTION, coordinatorKeys: [transactionalId] }
        : { keyType: CoordinatorKeyType.TRANSACTION, key: transactionalId },
    );
    const f = batched ? found.coordinators[0] : found;
    if (f === undefined) throw new ClientError('FRANZ_PROTOCOL', 'FindCoordinator answered nothing');
    if (f.errorCode !== ErrorCode.NONE) throw new KafkaError(f.errorCode, `find the coordinator of "${transactionalId}"`, f.errorMessage);
    const c = await this.cluster.brokerConnection(f);
    const res = await c.request(describeTransactionsSpec, { transactionalIds: [transactionalId] });
    const t = res.transactionStates[0];
    if (t === undefined) throw new ClientError('FRANZ_PROTOCOL', 'DescribeTransactions answered nothing');
    if (t.errorCode !== ErrorCode.NONE) throw new KafkaError(t.errorCode, `describe transaction "${transactionalId}"`);
    return {
      transactionalId,
      state: t.transactionState,
      timeoutMs: t.transactionTimeoutMs,
      startTimeMs: t.transactionStartTimeMs,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      partitions: t.topics.flatMap((x) => x.partitions.map((partition) => ({ topic: x.topic, partition }))),
      coordinator: f.nodeId,
    };
  }

  private async leaderOf(topic: string, partition: number): Promise<BrokerConnection> {
    const md = await this.cluster.metadata([topic]);
    const p = md.topics[0]?.partitions.find((x) => x.partition === partition);
    const b = md.brokers.find((x) => x.nodeId === p?.leader);
    if (p === undefined || b === undefined)
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `find the leader of ${topic}-${partition}`);
    return this.cluster.brokerConnection(b);
  }

  /** The producers a partition's leader knows, with their open transactions' first offsets. */
  async describeProducers(topic: string, partition: number): Promise<ActiveProducer[]> {
    const c = await this.leaderOf(topic, partition);
    const res = await c.request(describeProducersSpec, { topics: [{ name: topic, partitionIndexes: [partition] }] });
    const p = res.topics[0]?.partitions[0];
    if (p === undefined) throw new ClientError('FRANZ_PROTOCOL', 'DescribeProducers answered nothing');
    if (p.errorCode !== ErrorCode.NONE)
      throw new KafkaError(p.errorCode, `describe the producers of ${topic}-${partition}`, p.errorMessage);
    return p.activeProducers.map((a) => ({ ...a }));
  }

  /**
   * Ends a hanging transaction of `producerId` on one partition with an abort marker written by
   * its leader (the producer's epoch as the partition knows it).
   */
  async abort(topic: string, partition: number, producerId: number): Promise<void> {
    const producer = (await this.describeProducers(topic, partition)).find((a) => a.producerId === producerId);
    if (producer === undefined) throw new KafkaError(ErrorCode.UNKNOWN_PRODUCER_ID, `find producer ${producerId} on ${topic}-${partition}`);
    if (producer.currentTxnStartOffset < 0)
      throw new ClientError('FRANZ_PROTOCOL', `producer ${producerId} has no open transaction on ${topic}-${partition}`);
    const c = await this.leaderOf(topic, partition);
    const res = await c.request(writeTxnMarkersSpec, {
      markers: [
        {
          producerId,
          producerEpoch: producer.producerEpoch,
          transactionResult: false,
          topics: [{ name: topic, partitionIndexes: [partition] }],
          coordinatorEpoch: producer.coordinatorEpoch,
        },
      ],
    });
    const code = res.markers[0]?.topics[0]?.partitions[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `abort the transaction of producer ${producerId} on ${topic}-${partition}`);
  }
}
