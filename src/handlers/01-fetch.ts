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
 * 0, which makes clients send full fetches. At read_committed (isolation level 1) a partition is
 * read only up to its last stable offset, with the aborted transactions whose records may be in
 * what was read (the consumer drops those records). A fetch with a replica id (a follower
 * broker of a cluster) reads up to the log end instead, and reports the follower's progress.
 * Version notes: v4 isolation level and aborted transactions; v5 log start offset; v7 sessions;
 * v11 rack id and preferred read replica; v12 flexible, with diverging epoch (unused here).
 */
import type { BrokerConfig } from '../config.js';
import type { PartitionLogs } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/01-fetch.js';
import { EMPTY_BUFFER } from '../protocol/primitives.js';
import type { DecodedRequest, Elem, ResponseBody } from '../protocol/schema.js';
import type { Log } from '../storage/log.js';
import type { TraceRecorder } from '../trace/tracer.js';
import { checkLeaderEpoch } from './leader-epoch.js';
import { clientHost, defineHandler, type RequestContext } from './registry.js';

type Request = DecodedRequest<typeof spec>;
type Response = ResponseBody<typeof spec>;
type PartitionData = Elem<Elem<Response['responses']>['partitions']>;

interface Built {
  body: Response;
  bytes: number;
  logs: Log[];
  /** Message trace: what a consumer is sent of each traced partition (offsets first..last). */
  delivered: Array<{ topic: string; partition: number; first: number; last: number; bytes: number }>;
}

function build(partitions: PartitionLogs, config: BrokerConfig, req: Request, trace: TraceRecorder): Built {
  // A follower of the partitions' leader (replica id >= 0) reads to the log end, and its fetch
  // offset tells the leader how far it has come (which moves the high watermark).
  const follower = req.replicaId >= 0;
  let budget = Math.max(0, Math.min(req.maxBytes, config.num('fetch.max.bytes')));
  let bytes = 0;
  const logs: Log[] = [];
  const delivered: Built['delivered'] = [];
  const responses = req.topics.map((t) => {
    const traced = !follower && trace.traced(t.topic);
    return {
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const partitionIndex = p.partition;
        const base: PartitionData = {
          partitionIndex,
          errorCode: ErrorCode.NONE,
          highWatermark: -1,
          lastStableOffset: -1,
          logStartOffset: -1,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: EMPTY_BUFFER,
        };
        const log = partitions.partition(t.topic, partitionIndex);
        if (log === undefined) return { ...base, errorCode: partitions.missingPartitionError(t.topic, partitionIndex) };
        const fenced = checkLeaderEpoch(p.currentLeaderEpoch, partitions.leaderEpochOf(t.topic, partitionIndex));
        if (fenced !== null) return { ...base, errorCode: fenced };
        logs.push(log);
        if (follower) partitions.followerFetched(t.topic, partitionIndex, req.replicaId, p.fetchOffset);
        const max = Math.min(Math.max(0, p.partitionMaxBytes), budget);
        const r = log.read(p.fetchOffset, max, bytes === 0, follower, !follower && req.isolationLevel === 1);
        base.errorCode = r.errorCode;
        base.highWatermark = r.highWatermark;
        base.lastStableOffset = r.lastStableOffset;
        base.logStartOffset = r.logStartOffset;
        if (r.abortedTransactions !== null) {
          base.abortedTransactions = r.abortedTransactions.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
        }
        if (r.bytes > 0) {
          base.records = { size: r.bytes, chunks: r.regions };
          bytes += r.bytes;
          budget = Math.max(0, budget - r.bytes);
          if (traced)
            delivered.push({ topic: t.topic, partition: partitionIndex, first: p.fetchOffset, last: r.nextOffset - 1, bytes: r.bytes });
        }
        return base;
      }),
    };
  });
  return { body: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }, bytes, logs, delivered };
}

/** The answer sent: its traced partitions are told to the tracer. */
function sent(ctx: RequestContext, req: Request, built: Built): Response {
  if (built.delivered.length > 0) {
    const client = ctx.header.clientId ?? '';
    const address = clientHost(ctx);
    const readCommitted = req.isolationLevel === 1;
    // Plain literals, no spreads: this runs for every traced partition of every fetch.
    for (const d of built.delivered) {
      ctx.trace.fetched({
        topic: d.topic,
        partition: d.partition,
        first: d.first,
        last: d.last,
        bytes: d.bytes,
        client,
        address,
        readCommitted,
      });
    }
  }
  return built.body;
}

export const fetchHandler = defineHandler(spec, {
  versions: [4, 12],
  handle(ctx, req) {
    const { logs: partitions, config } = ctx;
    if (req.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const first = build(partitions, config, req, ctx.trace);
    const minBytes = req.minBytes;
    const maxWait = Math.min(Math.max(0, req.maxWaitMs), 60_000);
    if (first.bytes >= minBytes || maxWait === 0 || first.logs.length === 0) return sent(ctx, req, first);
    const deadline = Date.now() + maxWait;
    return new Promise<Response>((resolve) => {
      let cancels: Array<() => void> = [];
      let timer: NodeJS.Timeout | null = null;
      const finish = (): void => {
        for (const c of cancels) c();
        cancels = [];
        if (timer !== null) clearTimeout(timer);
        resolve(sent(ctx, req, build(partitions, config, req, ctx.trace)));
      };
      const arm = (logs: Log[]): void => {
        for (const l of logs) {
          cancels.push(
            l.onHighWatermark(() => {
              for (const c of cancels) c();
              cancels = [];
              const again = build(partitions, config, req, ctx.trace);
              if (again.bytes >= minBytes || Date.now() >= deadline) {
                if (timer !== null) clearTimeout(timer);
                resolve(sent(ctx, req, again));
              } else arm(again.logs);
            }),
          );
        }
      };
      timer = setTimeout(finish, maxWait);
      arm(first.logs);
    });
  },
});
