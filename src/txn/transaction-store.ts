/**
 * TransactionStore: the transaction coordinator's state, in the internal topic
 * `__transaction_state` (transaction.state.log.num.partitions partitions, compacted; a StateTopic),
 * one record per transactional id on the partition Kafka would choose. The leader of that
 * partition is the id's coordinator. Records are Kafka's TransactionLogKey/Value (records.ts).
 */
import type { BrokerConfig } from '../config.js';
import { StateTopic, type StateTopicPorts } from '../metadata/state-topic.js';
import { decodeTransactionKey, decodeTransactionValue, transactionKey, transactionValue, type TransactionRecord } from './records.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';
/** How long a state write waits for the ISR in a cluster (Kafka uses the request timeout). */
const STATE_WRITE_TIMEOUT_MS = 5000;

export class TransactionStore {
  readonly topic: StateTopic;

  constructor(ports: StateTopicPorts, config: BrokerConfig) {
    this.topic = new StateTopic(ports, {
      name: TRANSACTION_STATE_TOPIC,
      partitions: config.num('transaction.state.log.num.partitions'),
      segmentBytes: config.get('transaction.state.log.segment.bytes'),
      replicationFactor: config.num('transaction.state.log.replication.factor'),
      commitTimeoutMs: STATE_WRITE_TIMEOUT_MS,
    });
  }

  partitionFor(transactionalId: string): number {
    return this.topic.partitionFor(transactionalId);
  }

  leads(transactionalId: string): boolean {
    return this.topic.leads(this.partitionFor(transactionalId));
  }

  /** Stores the id's state (null: a tombstone, the id expired); resolves with an error code. */
  store(transactionalId: string, record: TransactionRecord | null): Promise<number> {
    return this.topic.write(this.partitionFor(transactionalId), [
      { key: transactionKey(transactionalId), value: record === null ? null : transactionValue(record) },
    ]);
  }

  /** Replays partition p: each id's latest record (null for a tombstone), in log order. */
  load(p: number): Map<string, TransactionRecord | null> {
    const state = new Map<string, TransactionRecord | null>();
    this.topic.replay(p, (b) => {
      if (b.control || b.transactional) return;
      for (const rec of b.records) {
        const id = rec.key === null ? null : decodeTransactionKey(rec.key);
        if (id === null) continue;
        state.set(id, rec.value === null ? null : decodeTransactionValue(rec.value));
      }
    });
    return state;
  }
}
