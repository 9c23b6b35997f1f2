/**
 * AddPartitionsToTxn (24), v0-5.
 *
 * Behavior: a transactional producer names the partitions it is about to write; the coordinator
 * stores them in the transaction (which becomes Ongoing) before answering, so that its markers
 * reach each of them. Every partition gets the same code: NOT_COORDINATOR on another broker,
 * INVALID_PRODUCER_ID_MAPPING for an unknown id or producer, PRODUCER_FENCED for an older epoch,
 * CONCURRENT_TRANSACTIONS while the previous transaction completes. A partition that does not
 * exist is UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as in Kafka.
 * v4+ is the batched form brokers use (several transactional ids); `verifyOnly` asks whether
 * the partitions are already in the transaction, without adding: the check a transactional
 * Produce gets (INVALID_TXN_STATE when not, INVALID_PRODUCER_ID_MAPPING or INVALID_PRODUCER_EPOCH
 * for another producer).
 * Version notes: v3 flexible; v4 batched, with a top-level error code.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/24-add-partitions-to-txn.js';
import type { TxnPartition } from '../txn/coordinator.js';
import { defineHandler, type RequestContext } from './registry.js';
import { fencedFor } from './txn-errors.js';

type Topics = ReadonlyArray<{ name: string; partitions: readonly number[] }>;
type TopicResult = { name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> };

function resultOf(topics: Topics, codeOf: (topic: string, partition: number) => number): TopicResult[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codeOf(t.name, p) })),
  }));
}

async function addOne(
  ctx: RequestContext,
  transactionalId: string,
  producerId: number,
  producerEpoch: number,
  topics: Topics,
  verifyOnly: boolean,
): Promise<TopicResult[]> {
  const txns = ctx.transactions;
  const elsewhere = txns.notCoordinator(transactionalId);
  if (elsewhere !== null) return resultOf(topics, () => elsewhere);
  const missing = (topic: string, p: number): boolean => {
    const t = ctx.topics.get(topic);
    return t === undefined || p < 0 || p >= t.partitions;
  };
  if (topics.some((t) => t.partitions.some((p) => missing(t.name, p)))) {
    return resultOf(topics, (t, p) => (missing(t, p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED));
  }
  const partitions: TxnPartition[] = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
  if (verifyOnly) return resultOf(topics, (t, p) => txns.verify(transactionalId, producerId, producerEpoch, t, p));
  const code = await txns.coordinator.addPartitions(transactionalId, producerId, producerEpoch, partitions);
  return resultOf(topics, () => fencedFor(code, ctx.version, 2));
}

export const addPartitionsToTxn = defineHandler(spec, {
  versions: [0, 5],
  async handle(ctx, req) {
    if (ctx.version >= 4) {
      const resultsByTransaction = await Promise.all(
        req.transactions.map(async (t) => ({
          transactionalId: t.transactionalId,
          topicResults: await addOne(ctx, t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly),
        })),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
    }
    const results = await addOne(
      ctx,
      req.v3AndBelowTransactionalId,
      req.v3AndBelowProducerId,
      req.v3AndBelowProducerEpoch,
      req.v3AndBelowTopics,
      false,
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: results };
  },
});
