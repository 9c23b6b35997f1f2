/**
 * TransactionCoordinator: the state of each transactional id this broker coordinates, and the
 * rules of InitProducerId, AddPartitionsToTxn and EndTxn over it, for both transaction protocols:
 * v1, where the producer adds each partition and keeps its epoch across transactions, and v2
 * (KIP-890 part 2: EndTxn v5), where every end bumps the producer's epoch, so that a late write of
 * a finished transaction is fenced at its partitions, and partitions join implicitly (the
 * partition leader adds them when the first transactional Produce v12 arrives). Every change is written to `__transaction_state` (the `store` port) before it takes
 * effect or is answered, so a restart replays the same state (`load`); a transaction whose
 * PrepareCommit or PrepareAbort was stored is completed after a restart, never half-applied.
 *
 * It receives ports (the store, the marker writer, producer ids, a clock) and does no I/O of its
 * own; Transactions (transactions.ts) wires it to the broker. Main thread only; a transactional
 * id's requests are handled one at a time (`busy`), others answer CONCURRENT_TRANSACTIONS
 * meanwhile, as Kafka does.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { TransactionRecord } from './records.js';
import { canTransition, isCompleting, isTxnState, MAX_PRODUCER_EPOCH, TxnState, type TxnStateValue } from './transaction-state.js';

export interface TxnPartition {
  topic: string;
  partition: number;
}

export interface TransactionPorts {
  /** Writes the id's record durably (null: a tombstone); resolves with an error code (NONE once stored). */
  store(transactionalId: string, record: TransactionRecord | null): Promise<number>;
  /** Writes a commit or abort marker to every partition; resolves once all are durable. */
  writeMarkers(
    partitions: readonly TxnPartition[],
    marker: { commit: boolean; producerId: number; producerEpoch: number },
    transactionalId: string,
  ): Promise<void>;
  /** A new producer id (the same allocator as idempotent producers). */
  newProducerId(): Promise<number>;
  now(): number;
  /** transaction.max.timeout.ms */
  maxTimeoutMs: number;
}

export interface TransactionMetadata {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /**
   * Transactions v2: the producer id the id moves to when this transaction completes (its epoch
   * was exhausted), else -1; and the one it had before its last move, which a retried EndTxn may
   * still name, else -1.
   */
  nextProducerId: number;
  prevProducerId: number;
  /** The protocol of the id's last transaction: 2 when it ended with EndTxn v5 (bumped epochs), else 0. */
  clientVersion: number;
  timeoutMs: number;
  state: TxnStateValue;
  partitions: TxnPartition[];
  startMs: number;
  lastUpdateMs: number;
}

/** EndTxn v5's answer: the producer id and epoch for the next transaction (-1 on an error). */
export interface EndResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

function key(p: TxnPartition): string {
  return `${p.topic}\u0000${p.partition}`;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TransactionMetadata>();
  /** Ids with a request in progress (a write to the store, markers). */
  private readonly busy = new Set<string>();

  constructor(private readonly ports: TransactionPorts) {}

  get(transactionalId: string): TransactionMetadata | undefined {
    return this.txns.get(transactionalId);
  }

  /** Every transactional id this coordinator holds. */
  all(): IterableIterator<TransactionMetadata> {
    return this.txns.values();
  }

  /** Forgets the ids `mine` selects (their state partition's leadership moved away). */
  forget(mine: (transactionalId: string) => boolean): void {
    for (const id of [...this.txns.keys()]) if (mine(id)) this.txns.delete(id);
  }

  /**
   * Removes ids idle (no transaction open or completing) for longer than `expirationMs`
   * (transactional.id.expiration.ms): a tombstone is stored first. Returns how many went.
   */
  async expire(now: number, expirationMs: number): Promise<number> {
    let removed = 0;
    for (const m of [...this.txns.values()]) {
      const idle = m.state === TxnState.Empty || m.state === TxnState.CompleteCommit || m.state === TxnState.CompleteAbort;
      if (!idle || now - m.lastUpdateMs < expirationMs || this.busy.has(m.transactionalId)) continue;
      this.busy.add(m.transactionalId);
      try {
        // Only if nothing changed it meanwhile.
        if (this.txns.get(m.transactionalId) !== m) continue;
        if ((await this.ports.store(m.transactionalId, null)) !== ErrorCode.NONE) continue;
        this.txns.delete(m.transactionalId);
        removed++;
      } finally {
        this.busy.delete(m.transactionalId);
      }
    }
    return removed;
  }

  /** Replays one stored record (start-up); a tombstone (null) forgets the id, as does a record with an unknown state. */
  load(transactionalId: string, r: TransactionRecord | null): void {
    if (r === null || !isTxnState(r.transactionStatus)) {
      this.txns.delete(transactionalId);
      return;
    }
    const partitions: TxnPartition[] = [];
    for (const t of r.transactionPartitions ?? []) for (const p of t.partitionIds) partitions.push({ topic: t.topic, partition: p });
    this.txns.set(transactionalId, {
      transactionalId,
      producerId: r.producerId,
      producerEpoch: r.producerEpoch,
      nextProducerId: r.nextProducerId,
      prevProducerId: r.previousProducerId,
      clientVersion: r.clientTransactionVersion,
      timeoutMs: r.transactionTimeoutMs,
      state: r.transactionStatus,
      partitions,
      startMs: r.transactionStartTimestampMs,
      lastUpdateMs: r.transactionLastUpdateTimestampMs,
    });
  }

  /** After loading: transactions stored as PrepareCommit/PrepareAbort get their markers and complete. */
  async completePending(): Promise<void> {
    for (const m of [...this.txns.values()]) {
      if (m.state !== TxnState.PrepareCommit && m.state !== TxnState.PrepareAbort) continue;
      if (this.busy.has(m.transactionalId)) continue;
      // Requests for the id answer CONCURRENT_TRANSACTIONS until it is complete.
      this.busy.add(m.transactionalId);
      try {
        await this.complete(m);
      } finally {
        this.busy.delete(m.transactionalId);
      }
    }
  }

  /**
   * InitProducerId with a transactional id: a producer id and a new epoch, fencing older
   * instances. `expected` (v3+) is the id and epoch a running producer has, when it asks for a
   * bump after an abortable error: an instance that has been fenced meanwhile gets PRODUCER_FENCED.
   */
  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected?: { producerId: number; producerEpoch: number },
  ): Promise<{ errorCode: number; producerId: number; producerEpoch: number }> {
    const fail = (errorCode: number) => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (timeoutMs <= 0 || timeoutMs > this.ports.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    if (this.busy.has(transactionalId)) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    const m = this.txns.get(transactionalId);
    if (m !== undefined && isCompleting(m.state)) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== undefined && expected.producerId >= 0 && m !== undefined) {
      // The current epoch, or the one before it (a retry whose answer was lost, or the bump that
      // aborted its transaction and asked it to retry).
      const current = expected.producerId === m.producerId && expected.producerEpoch >= m.producerEpoch - 1;
      if (!current) return fail(ErrorCode.PRODUCER_FENCED);
    }
    this.busy.add(transactionalId);
    try {
      const now = this.ports.now();
      if (m !== undefined && m.state === TxnState.Ongoing) {
        // A new instance of the producer: the old one's transaction is aborted at a bumped epoch
        // (which fences it); the new instance retries and gets its epoch once that is done.
        const fenced: TransactionMetadata = { ...m, producerEpoch: m.producerEpoch + 1, state: TxnState.PrepareAbort, lastUpdateMs: now };
        const code = await this.write(fenced);
        if (code !== ErrorCode.NONE) return fail(code);
        await this.complete(fenced);
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      let producerId = m?.producerId ?? -1;
      let producerEpoch = (m?.producerEpoch ?? -1) + 1;
      if (m === undefined || producerEpoch > MAX_PRODUCER_EPOCH) {
        producerId = await this.ports.newProducerId();
        producerEpoch = 0;
      }
      const next: TransactionMetadata = {
        transactionalId,
        producerId,
        producerEpoch,
        nextProducerId: -1,
        prevProducerId: m?.prevProducerId ?? -1,
        clientVersion: m?.clientVersion ?? 0,
        timeoutMs,
        state: TxnState.Empty,
        partitions: [],
        startMs: -1,
        lastUpdateMs: now,
      };
      const code = await this.write(next);
      return code === ErrorCode.NONE ? { errorCode: ErrorCode.NONE, producerId, producerEpoch } : fail(code);
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  /** AddPartitionsToTxn (v0-3, from the producer): the partitions join the transaction, which is Ongoing. */
  async addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TxnPartition[],
  ): Promise<number> {
    const m = this.txns.get(transactionalId);
    const check = this.checkProducer(m, producerId, producerEpoch);
    if (check !== ErrorCode.NONE) return check;
    if (this.busy.has(transactionalId) || isCompleting(m!.state)) return ErrorCode.CONCURRENT_TRANSACTIONS;
    const have = new Set(m!.partitions.map(key));
    const added = partitions.filter((p) => !have.has(key(p)));
    if (m!.state === TxnState.Ongoing && added.length === 0) return ErrorCode.NONE;
    const now = this.ports.now();
    const next: TransactionMetadata = {
      ...m!,
      state: TxnState.Ongoing,
      partitions: [...m!.partitions, ...added],
      startMs: m!.state === TxnState.Ongoing ? m!.startMs : now,
      lastUpdateMs: now,
    };
    this.busy.add(transactionalId);
    try {
      return await this.write(next);
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  /** EndTxn v0-4 (transactions v1): commit or abort the Ongoing transaction; answered once its markers are written. */
  async endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    const m = this.txns.get(transactionalId);
    const check = this.checkProducer(m, producerId, producerEpoch);
    if (check !== ErrorCode.NONE) return check;
    if (this.busy.has(transactionalId) || isCompleting(m!.state)) return ErrorCode.CONCURRENT_TRANSACTIONS;
    // A retry of an EndTxn that already completed is answered as it was.
    if (m!.state === (commit ? TxnState.CompleteCommit : TxnState.CompleteAbort)) return ErrorCode.NONE;
    if (m!.state !== TxnState.Ongoing) return ErrorCode.INVALID_TXN_STATE;
    const prepared: TransactionMetadata = {
      ...m!,
      state: commit ? TxnState.PrepareCommit : TxnState.PrepareAbort,
      clientVersion: 0,
      lastUpdateMs: this.ports.now(),
    };
    this.busy.add(transactionalId);
    try {
      const code = await this.write(prepared);
      if (code !== ErrorCode.NONE) return code;
      // From here the outcome is decided and stored: a crash now completes it after the restart.
      await this.complete(prepared);
      return ErrorCode.NONE;
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  /**
   * EndTxn v5 (transactions v2): commit or abort at a bumped epoch. The markers carry the new
   * epoch, so a write of this transaction that arrives late is refused at its partition; the
   * answer names the epoch (or, past the last epoch, the new producer id at epoch 0) the
   * producer's next transaction uses. An abort is allowed with nothing open (Empty or a finished
   * transaction: the producer may have sent records that never reached a partition), and bumps
   * the epoch all the same. A retry whose answer was lost names the epoch before the bump (or the
   * id before the move) and is answered as the first was.
   */
  async endTransactionBumping(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<EndResult> {
    const fail = (errorCode: number): EndResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    const m = this.txns.get(transactionalId);
    if (m === undefined) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (this.busy.has(transactionalId) || isCompleting(m.state)) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    const retryOnBump = producerId === m.producerId && producerEpoch + 1 === m.producerEpoch;
    const retryOnMove = producerId === m.prevProducerId && producerEpoch >= MAX_PRODUCER_EPOCH && m.producerEpoch === 0;
    if (producerId !== m.producerId && !retryOnMove) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const retry = retryOnBump || retryOnMove;
    const finished = m.state === TxnState.CompleteCommit || m.state === TxnState.CompleteAbort;
    if (producerEpoch !== m.producerEpoch && !(finished && retry)) return fail(ErrorCode.PRODUCER_FENCED);
    const asBefore: EndResult = { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
    switch (m.state) {
      case TxnState.Ongoing:
        break;
      case TxnState.CompleteCommit:
        if (commit) return retry ? asBefore : fail(ErrorCode.INVALID_TXN_STATE);
        if (retry) return fail(ErrorCode.INVALID_TXN_STATE);
        break;
      case TxnState.CompleteAbort:
        if (commit) return fail(ErrorCode.INVALID_TXN_STATE);
        if (retry) return asBefore;
        break;
      case TxnState.Empty:
        if (commit) return fail(ErrorCode.INVALID_TXN_STATE);
        break;
      default:
        return fail(ErrorCode.INVALID_TXN_STATE);
    }
    this.busy.add(transactionalId);
    try {
      // Past the last epoch the id moves to a new producer id when the transaction completes.
      const nextProducerId = m.producerEpoch >= MAX_PRODUCER_EPOCH ? await this.ports.newProducerId() : -1;
      const now = this.ports.now();
      const prepared: TransactionMetadata = {
        ...m,
        state: commit ? TxnState.PrepareCommit : TxnState.PrepareAbort,
        producerEpoch: m.producerEpoch + 1,
        nextProducerId,
        clientVersion: 2,
        startMs: m.state === TxnState.Ongoing ? m.startMs : now,
        lastUpdateMs: now,
      };
      const code = await this.write(prepared);
      if (code !== ErrorCode.NONE) return fail(code);
      const done = await this.complete(prepared);
      return { errorCode: ErrorCode.NONE, producerId: done.producerId, producerEpoch: done.producerEpoch };
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  /** Ongoing transactions older than their timeout (the caller aborts them with abortTimedOut). */
  timedOut(now: number): TransactionMetadata[] {
    return [...this.txns.values()].filter((m) => m.state === TxnState.Ongoing && m.startMs >= 0 && now - m.startMs > m.timeoutMs);
  }

  /** Aborts a transaction that outlived its timeout, at a bumped epoch so its producer is fenced. */
  async abortTimedOut(transactionalId: string): Promise<number> {
    const m = this.txns.get(transactionalId);
    if (m === undefined || m.state !== TxnState.Ongoing || this.busy.has(transactionalId)) return ErrorCode.CONCURRENT_TRANSACTIONS;
    const prepared: TransactionMetadata = {
      ...m,
      producerEpoch: m.producerEpoch + 1,
      state: TxnState.PrepareAbort,
      lastUpdateMs: this.ports.now(),
    };
    this.busy.add(transactionalId);
    try {
      const code = await this.write(prepared);
      if (code === ErrorCode.NONE) await this.complete(prepared);
      return code;
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  private checkProducer(m: TransactionMetadata | undefined, producerId: number, producerEpoch: number): number {
    if (m === undefined || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < m.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (producerEpoch > m.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    return ErrorCode.NONE;
  }

  /**
   * Writes the markers of a prepared transaction, then stores it complete (at a new producer id
   * when transactions v2 exhausted its epoch). Returns the completed state.
   */
  private async complete(prepared: TransactionMetadata): Promise<TransactionMetadata> {
    const commit = prepared.state === TxnState.PrepareCommit;
    await this.ports.writeMarkers(
      prepared.partitions,
      { commit, producerId: prepared.producerId, producerEpoch: prepared.producerEpoch },
      prepared.transactionalId,
    );
    const moves = prepared.nextProducerId >= 0;
    const completed: TransactionMetadata = {
      ...prepared,
      state: commit ? TxnState.CompleteCommit : TxnState.CompleteAbort,
      producerId: moves ? prepared.nextProducerId : prepared.producerId,
      producerEpoch: moves ? 0 : prepared.producerEpoch,
      prevProducerId: moves ? prepared.producerId : prepared.prevProducerId,
      nextProducerId: -1,
      partitions: [],
      lastUpdateMs: this.ports.now(),
    };
    await this.write(completed);
    return completed;
  }

  /** Stores a new state for the id (a transition Kafka allows) and applies it once stored. */
  private async write(next: TransactionMetadata): Promise<number> {
    const current = this.txns.get(next.transactionalId);
    if (current !== undefined && current.state !== next.state && !canTransition(current.state, next.state)) {
      return ErrorCode.INVALID_TXN_STATE;
    }
    const code = await this.ports.store(next.transactionalId, toRecord(next));
    if (code === ErrorCode.NONE) this.txns.set(next.transactionalId, next);
    return code;
  }
}

/** The stored form of a transaction (TransactionLogValue). */
export function toRecord(m: TransactionMetadata): TransactionRecord {
  const byTopic = new Map<string, number[]>();
  for (const p of m.partitions) {
    const list = byTopic.get(p.topic);
    if (list === undefined) byTopic.set(p.topic, [p.partition]);
    else list.push(p.partition);
  }
  return {
    producerId: m.producerId,
    previousProducerId: m.prevProducerId,
    nextProducerId: m.nextProducerId,
    producerEpoch: m.producerEpoch,
    transactionTimeoutMs: m.timeoutMs,
    transactionStatus: m.state,
    transactionPartitions: [...byTopic].map(([topic, partitionIds]) => ({ topic, partitionIds })),
    transactionLastUpdateTimestampMs: m.lastUpdateMs,
    transactionStartTimestampMs: m.startMs,
    clientTransactionVersion: m.clientVersion,
  };
}
