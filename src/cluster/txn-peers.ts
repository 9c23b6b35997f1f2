/**
 * TxnPeers: the requests transactions make of other brokers, one connection per broker (opened on
 * first use, dropped on error):
 * - a transaction coordinator's WriteTxnMarkers to the leaders of partitions it does not lead;
 * - a partition leader's AddPartitionsToTxn (v5, the broker's batched form) to the coordinator of
 *   a transactional id it does not coordinate: verify that a partition is in the transaction
 *   (transactions v1) or add it (v2, KIP-890).
 * - message trace's events, for a trace partition another broker leads (Produce, acks=1).
 * A marker names one partition and resolves with its error code; a check, one code per partition. A broker that
 * cannot be reached is answered NOT_LEADER_OR_FOLLOWER for a marker (the coordinator looks the
 * leader up again and retries) and NETWORK_EXCEPTION for a check (the producer retries).
 */
import { BrokerConnection } from '../client/connection.js';
import type { Logger } from '../logger.js';
import type { BrokerEndpoint } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec as produceSpec } from '../protocol/messages/00-produce.js';
import { spec as addPartitionsSpec } from '../protocol/messages/24-add-partitions-to-txn.js';
import { spec as markersSpec } from '../protocol/messages/27-write-txn-markers.js';

export interface MarkerToSend {
  readonly commit: boolean;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
}

/** A transactional write a partition leader asks a coordinator about. */
export interface TxnPartitionCheck {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>;
  /** true: are the partitions in the transaction? false: add them. */
  readonly verifyOnly: boolean;
}

export class TxnPeers {
  private readonly conns = new Map<number, Promise<BrokerConnection>>();

  constructor(
    private readonly selfId: number,
    private readonly log: Logger,
  ) {}

  async sendMarker(leader: BrokerEndpoint | undefined, topic: string, partition: number, marker: MarkerToSend): Promise<number> {
    if (leader === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const r = await this.call(leader, 'a transaction marker', (conn) =>
      conn.request(markersSpec, {
        markers: [
          {
            producerId: marker.producerId,
            producerEpoch: marker.producerEpoch,
            transactionResult: marker.commit,
            topics: [{ name: topic, partitionIndexes: [partition] }],
            coordinatorEpoch: marker.coordinatorEpoch,
          },
        ],
      }),
    );
    if (r === null) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return r.markers[0]?.topics[0]?.partitions[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  /** One error code per partition of the check, in its order. */
  async addPartitions(coordinator: BrokerEndpoint | undefined, c: TxnPartitionCheck): Promise<number[]> {
    const all = (code: number): number[] => c.partitions.map(() => code);
    if (coordinator === undefined) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const topics = new Map<string, number[]>();
    for (const p of c.partitions) {
      const list = topics.get(p.topic);
      if (list === undefined) topics.set(p.topic, [p.partition]);
      else list.push(p.partition);
    }
    const r = await this.call(coordinator, 'a transaction check', (conn) =>
      conn.request(addPartitionsSpec, {
        transactions: [
          {
            transactionalId: c.transactionalId,
            producerId: c.producerId,
            producerEpoch: c.producerEpoch,
            verifyOnly: c.verifyOnly,
            topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
          },
        ],
        v3AndBelowTransactionalId: '',
        v3AndBelowProducerId: -1,
        v3AndBelowProducerEpoch: -1,
        v3AndBelowTopics: [],
      }),
    );
    if (r === null) return all(ErrorCode.NETWORK_EXCEPTION);
    if (r.errorCode !== ErrorCode.NONE) return all(r.errorCode);
    const results = r.resultsByTransaction[0]?.topicResults ?? [];
    return c.partitions.map(
      (p) =>
        results.find((t) => t.name === p.topic)?.resultsByPartition.find((x) => x.partitionIndex === p.partition)?.partitionErrorCode ??
        ErrorCode.UNKNOWN_SERVER_ERROR,
    );
  }

  /** Appends a record batch on the leader of a partition (Produce, acks=1); an error code. */
  async produce(leader: BrokerEndpoint | undefined, topic: string, partition: number, batch: Buffer): Promise<number> {
    if (leader === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const r = await this.call(leader, 'trace events', (conn) =>
      conn.request(produceSpec, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
      }),
    );
    if (r === null) return ErrorCode.NETWORK_EXCEPTION;
    return r.responses[0]?.partitionResponses[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  /** One request to a broker; null when it could not be sent or answered (the connection is dropped). */
  private async call<T>(to: BrokerEndpoint, what: string, request: (conn: BrokerConnection) => Promise<T>): Promise<T | null> {
    let pending = this.conns.get(to.nodeId);
    if (pending === undefined) {
      pending = BrokerConnection.open(`${to.host}:${to.port}`, { clientId: `franz-txn-${this.selfId}` });
      this.conns.set(to.nodeId, pending);
    }
    try {
      return await request(await pending);
    } catch (err) {
      this.log.warn(`could not send ${what}`, { broker: to.nodeId, err: String(err) });
      this.drop(to.nodeId, pending);
      return null;
    }
  }

  private drop(id: number, pending: Promise<BrokerConnection>): void {
    if (this.conns.get(id) !== pending) return;
    this.conns.delete(id);
    pending.then((c) => c.close()).catch(() => undefined);
  }

  close(): void {
    for (const [id, p] of [...this.conns]) this.drop(id, p);
  }
}
