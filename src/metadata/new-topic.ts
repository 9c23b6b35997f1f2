/**
 * The checks every new topic passes, on a single node and in a cluster alike: a legal name that is
 * free, a partition count and replication factor (-1: the broker's defaults) in range for the
 * brokers there are, and (for a user's topic) valid configs. Kafka's error codes and messages.
 */
import { validateTopicConfigs, type BrokerConfig } from '../config.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Outcome } from './ports.js';
import { MAX_PARTITIONS, invalidTopicName } from './topics.js';

export interface NewTopicRequest {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Record<string, string>;
  /** An internal topic's configs come from broker keys already checked at start-up. */
  readonly internal: boolean;
}

/**
 * Kafka's refusal, or the partition count and replication factor with the defaults applied.
 * `taken` says why the name is not free (null: it is); `brokers` is how many could hold replicas.
 */
export function checkNewTopic(
  config: BrokerConfig,
  req: NewTopicRequest,
  taken: string | null,
  brokers: number,
): Outcome | { partitions: number; replicationFactor: number } {
  const bad = invalidTopicName(req.name);
  if (bad !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: bad };
  if (taken !== null) return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: taken };
  const partitions = req.partitions === -1 ? config.num('num.partitions') : req.partitions;
  const replicationFactor = req.replicationFactor === -1 ? config.num('default.replication.factor') : req.replicationFactor;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    return { errorCode: ErrorCode.INVALID_PARTITIONS, message: `Number of partitions must be at least 1, got ${partitions}.` };
  }
  if (replicationFactor < 1 || replicationFactor > brokers) {
    return {
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      message: `Replication factor: ${replicationFactor} larger than available brokers: ${brokers}.`,
    };
  }
  const configError = req.internal ? null : validateTopicConfigs(req.configs);
  if (configError !== null) return { errorCode: ErrorCode.INVALID_CONFIG, message: configError };
  return { partitions, replicationFactor };
}
