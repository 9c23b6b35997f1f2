/**
 * Fetch (1), v4-12.
 *
 * Behavior: for each partition, whole batches from the fetch offset up to the high watermark,
 * within partition_max_bytes and the response's max_bytes (capped at the broker's fetch.max.bytes,
 * as Kafka does); the first partition with data always gets
 * at least one whole batch (KIP-74) so an oversized batch cannot stall a consumer. The records are
 * file regions: the connection sends them with sendfile, never copying them through JavaScript.
 * With fewer than min_bytes available the request waits (long poll) until a high watermark it
 * reads moves or max_wait_ms passes. Fetch sessions (KIP-227) are declined by answering session id
 * 0, which makes clients send full fetches. The isolation level is accepted; until transactions
 * exist the last stable offset equals the high watermark.
 * Version notes: v4 isolation level and aborted transactions; v5 log start offset; v7 sessions;
 * v11 rack id and preferred read replica; v12 flexible, with diverging epoch (unused here).
 */
import type { Broker } from '../broker.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import { EMPTY_BUFFER, type RecordsRef } from '../protocol/primitives.js';
import type { Log } from '../storage/log.js';
import type { Handler } from './registry.js';

interface Built {
  body: Message;
  bytes: number;
  logs: Log[];
}

function build(broker: Broker, req: Message): Built {
  let budget = Math.max(0, Math.min(req.maxBytes as number, broker.config.num('fetch.max.bytes')));
  let bytes = 0;
  const logs: Log[] = [];
  const responses = (req.topics as Message[]).map((t) => ({
    topic: t.topic as string,
    partitions: (t.partitions as Message[]).map((p) => {
      const partitionIndex = p.partition as number;
      const base = {
        partitionIndex,
        errorCode: ErrorCode.NONE as number,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: EMPTY_BUFFER as Buffer | RecordsRef,
      };
      const log = broker.partition(t.topic as string, partitionIndex);
      if (log === undefined) return { ...base, errorCode: broker.missingPartitionError(t.topic as string, partitionIndex) };
      logs.push(log);
      const max = Math.min(Math.max(0, p.partitionMaxBytes as number), budget);
      const r = log.read(p.fetchOffset as number, max, bytes === 0);
      base.errorCode = r.errorCode;
      base.highWatermark = r.highWatermark;
      base.lastStableOffset = r.lastStableOffset;
      base.logStartOffset = r.logStartOffset;
      if (r.bytes > 0) {
        base.records = { size: r.bytes, chunks: r.regions };
        bytes += r.bytes;
        budget = Math.max(0, budget - r.bytes);
      }
      return base;
    }),
  }));
  return { body: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }, bytes, logs };
}

export const fetchHandler: Handler = {
  apiKey: 1,
  versions: [4, 12],
  handle(ctx, req) {
    const { broker } = ctx;
    if ((req.sessionId as number) !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const first = build(broker, req);
    const minBytes = req.minBytes as number;
    const maxWait = Math.min(Math.max(0, req.maxWaitMs as number), 60_000);
    if (first.bytes >= minBytes || maxWait === 0 || first.logs.length === 0) return first.body;
    const deadline = Date.now() + maxWait;
    return new Promise<Message>((resolve) => {
      let cancels: Array<() => void> = [];
      let timer: NodeJS.Timeout | null = null;
      const finish = (): void => {
        for (const c of cancels) c();
        cancels = [];
        if (timer !== null) clearTimeout(timer);
        resolve(build(broker, req).body);
      };
      const arm = (logs: Log[]): void => {
        for (const l of logs) {
          cancels.push(
            l.onHighWatermark(() => {
              for (const c of cancels) c();
              cancels = [];
              const again = build(broker, req);
              if (again.bytes >= minBytes || Date.now() >= deadline) {
                if (timer !== null) clearTimeout(timer);
                resolve(again.body);
              } else arm(again.logs);
            }),
          );
        }
      };
      timer = setTimeout(finish, maxWait);
      arm(first.logs);
    });
  },
};
