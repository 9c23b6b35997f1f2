/**
 * A transactional id's state at its coordinator, and the transitions Kafka allows between states.
 * The numbers are what `__transaction_state` stores (TransactionLogValue.transactionStatus), so
 * they are Kafka's. The coordinator (not built yet) writes every transition to that topic before
 * acting on it; a transition not listed here is a bug, refused rather than stored.
 *
 *   Empty --AddPartitions/AddOffsets--> Ongoing --EndTxn(commit)--> PrepareCommit --markers--> CompleteCommit
 *                                       Ongoing --EndTxn(abort), timeout--> PrepareAbort --markers--> CompleteAbort
 *   Ongoing --InitProducerId from a new instance (fencing)--> PrepareEpochFence --> PrepareAbort
 *   Empty, CompleteCommit, CompleteAbort --expiration--> Dead
 */

export const TxnState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnStateValue = (typeof TxnState)[keyof typeof TxnState];

/** Kafka's names, as DescribeTransactions and ListTransactions report them. */
export const TXN_STATE_NAMES: Readonly<Record<TxnStateValue, string>> = {
  0: 'Empty',
  1: 'Ongoing',
  2: 'PrepareCommit',
  3: 'PrepareAbort',
  4: 'CompleteCommit',
  5: 'CompleteAbort',
  6: 'Dead',
  7: 'PrepareEpochFence',
};

const { Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence } = TxnState;

/** For each state, the states it may be entered from. */
const VALID_PREVIOUS: Readonly<Record<TxnStateValue, readonly TxnStateValue[]>> = {
  [Empty]: [Empty, CompleteCommit, CompleteAbort],
  [Ongoing]: [Ongoing, Empty, CompleteCommit, CompleteAbort],
  [PrepareCommit]: [Ongoing],
  // Transactions v2 (KIP-890) may also abort from a finished state, to bump the epoch.
  [PrepareAbort]: [Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort],
  [CompleteCommit]: [PrepareCommit],
  [CompleteAbort]: [PrepareAbort],
  [Dead]: [Empty, CompleteAbort, CompleteCommit],
  [PrepareEpochFence]: [Ongoing],
};

export function isTxnState(n: number): n is TxnStateValue {
  return Number.isInteger(n) && n >= Empty && n <= PrepareEpochFence;
}

/** Whether a transactional id in state `from` may move to `to`. */
export function canTransition(from: TxnStateValue, to: TxnStateValue): boolean {
  return VALID_PREVIOUS[to].includes(from);
}

/** A state in which markers are being written: requests that would change the transaction wait (CONCURRENT_TRANSACTIONS). */
export function isCompleting(s: TxnStateValue): boolean {
  return s === PrepareCommit || s === PrepareAbort || s === PrepareEpochFence;
}

/** The largest producer epoch: an id whose epoch would pass it gets a new producer id (Kafka's rule). */
export const MAX_PRODUCER_EPOCH = 32766;
