/**
 * MarkerSender: a transaction coordinator's WriteTxnMarkers to the leaders of partitions it does
 * not lead, one connection per broker (opened on first use, dropped on error). Each call names
 * one partition and resolves with that partition's error code; a broker that cannot be reached is
 * answered NOT_LEADER_OR_FOLLOWER, so the coordinator looks the leader up again and retries.
 */
import { BrokerConnection } from '../client/connection.js';
import type { Logger } from '../logger.js';
import type { BrokerEndpoint } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/27-write-txn-markers.js';

export interface MarkerToSend {
  readonly commit: boolean;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
}

export class MarkerSender {
  private readonly conns = new Map<number, Promise<BrokerConnection>>();

  constructor(
    private readonly selfId: number,
    private readonly log: Logger,
  ) {}

  async send(leader: BrokerEndpoint | undefined, topic: string, partition: number, marker: MarkerToSend): Promise<number> {
    if (leader === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    let pending = this.conns.get(leader.nodeId);
    if (pending === undefined) {
      pending = BrokerConnection.open(`${leader.host}:${leader.port}`, { clientId: `franz-txn-markers-${this.selfId}` });
      this.conns.set(leader.nodeId, pending);
    }
    try {
      const conn = await pending;
      const r = await conn.request(spec, {
        markers: [
          {
            producerId: marker.producerId,
            producerEpoch: marker.producerEpoch,
            transactionResult: marker.commit,
            topics: [{ name: topic, partitionIndexes: [partition] }],
            coordinatorEpoch: marker.coordinatorEpoch,
          },
        ],
      });
      return r.markers[0]?.topics[0]?.partitions[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch (err) {
      this.log.warn('could not send a transaction marker', { leader: leader.nodeId, topic, partition, err: String(err) });
      this.drop(leader.nodeId, pending);
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
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
