/**
 * DescribeTransactions (65), v0.
 *
 * Behavior: the coordinator's state of each transactional id: state name (Kafka's: Empty, Ongoing,
 * PrepareCommit, ...), timeout, start time, producer id and epoch, and the partitions of the open
 * transaction. NOT_COORDINATOR for an id another broker coordinates, TRANSACTIONAL_ID_NOT_FOUND
 * for an id it does not know.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/65-describe-transactions.js';
import { TXN_STATE_NAMES } from '../txn/transaction-state.js';
import { groupByTopic } from '../metadata/group-by-topic.js';
import { defineHandler } from './registry.js';

export const describeTransactions = defineHandler(spec, {
  versions: [0, 0],
  handle(ctx, req) {
    const txns = ctx.transactions;
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((id) => {
        const none = {
          transactionalId: id,
          transactionState: '',
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1,
          producerId: -1,
          producerEpoch: -1,
          topics: [],
        };
        const elsewhere = txns.notCoordinator(id);
        if (elsewhere !== null) return { ...none, errorCode: elsewhere };
        const m = txns.coordinator.get(id);
        if (m === undefined) return { ...none, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
        return {
          errorCode: ErrorCode.NONE,
          transactionalId: id,
          transactionState: TXN_STATE_NAMES[m.state],
          transactionTimeoutMs: m.timeoutMs,
          transactionStartTimeMs: m.startMs,
          producerId: m.producerId,
          producerEpoch: m.producerEpoch,
          topics: [...groupByTopic(m.partitions)].map(([topic, ps]) => ({ topic, partitions: ps.map((p) => p.partition) })),
        };
      }),
    };
  },
});
