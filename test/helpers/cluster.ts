/**
 * What the cluster tests ask a broker: a topic's partitions as its Metadata (v12) answers them,
 * raw (kafkajs retries LEADER_NOT_AVAILABLE instead of showing it), and a poll until a condition
 * holds, since every broker applies etcd's changes from its own watch.
 */
import { RawConnection } from './raw.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';

export interface PartitionView {
  partitionIndex: number;
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
}

/** The topic's partitions (sorted) and the broker ids, as the broker on `port` sees them. */
export async function topicMetadata(port: number, topic: string): Promise<{ partitions: PartitionView[]; brokerIds: number[] }> {
  const c = await RawConnection.open(port);
  try {
    const res = await c.request(3, 12, {
      topics: [{ topicId: ZERO_UUID, name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const partitions = [...(res.topics[0].partitions as PartitionView[])].sort((a, b) => a.partitionIndex - b.partitionIndex);
    return { partitions, brokerIds: (res.brokers as Array<{ nodeId: number }>).map((b) => b.nodeId) };
  } finally {
    c.close();
  }
}

/** Reads with `read` every 100 ms until `ok` holds; throws naming `what` and the last value after `timeoutMs`. */
export async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs / 1000} s: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
