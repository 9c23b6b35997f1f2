/**
 * ListTransactions (66), v0-1.
 *
 * Behavior: the transactional ids this broker coordinates, with producer id and state, filtered
 * by state names (a name Kafka does not know is listed back in unknownStateFilters), by producer
 * ids, and (v1) by duration: only transactions open for longer than `durationFilter` ms (-1: no
 * filter), to find hanging ones. Empty filters select everything.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/66-list-transactions.js';
import { TXN_STATE_NAMES, TxnState } from '../txn/transaction-state.js';
import { defineHandler } from './registry.js';

const KNOWN_STATES = new Set(Object.values(TXN_STATE_NAMES));

export const listTransactions = defineHandler(spec, {
  versions: [0, 1],
  handle(ctx, req) {
    const states = new Set(req.stateFilters);
    const pids = new Set(req.producerIdFilters);
    const duration = req.durationFilter;
    const now = Date.now();
    const transactionStates = [...ctx.transactions.coordinator.all()]
      .filter((m) => states.size === 0 || states.has(TXN_STATE_NAMES[m.state]))
      .filter((m) => pids.size === 0 || pids.has(m.producerId))
      .filter((m) => duration < 0 || (m.state === TxnState.Ongoing && m.startMs >= 0 && now - m.startMs > duration))
      .map((m) => ({ transactionalId: m.transactionalId, producerId: m.producerId, transactionState: TXN_STATE_NAMES[m.state] }));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters: req.stateFilters.filter((s) => !KNOWN_STATES.has(s)),
      transactionStates,
    };
  },
});
