/**
 * `/v3/clusters/{id}/topics/{topic}/stream?from=earliest|latest|offset|timestamp&offset=&timestamp=&partition=&group=`:
 * a topic's records as they are committed, over a WebSocket (one text message per record) or, for
 * a plain GET, as Server-Sent Events (`data: {record}` per record). topic-stream.ts does the
 * reading; here the two transports' backpressure is mapped onto it: a WebSocket whose send
 * reports built-up backpressure, or an SSE response whose write is refused, pauses its
 * subscription until the socket drains (uWS's `drain` / `onWritable`). With `group=G` a stream
 * starts where G committed and commits as it sends (see `open`).
 */
import type { Logger } from '../logger.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import type { BrokerCalls } from './broker-calls.js';
import { crossOrigin, decodeParam, HttpError, type HttpServer } from './http-server.js';
import { type StreamQuery, type StreamSink, type Subscription, streamQuery, type TopicStreams } from './topic-stream.js';

interface SocketData {
  topic: string;
  query: StreamQuery;
  peer: string;
  sub: Subscription | null;
  stop: (() => void) | null;
}

/** How often a group-mode stream commits what it has sent. */
const COMMIT_INTERVAL_MS = 1000;

/** Commit refusals worth another try at the next interval (a coordinator loading or moving, a timeout). */
const RETRIABLE = new Set<number>([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.REBALANCE_IN_PROGRESS,
]);

/**
 * Opens a subscription; in group mode (`group=G`) it starts from G's committed offsets and commits
 * the offset after what was handed to the socket every COMMIT_INTERVAL_MS and when it ends, and
 * at the first interval the start of each partition G had no offset for (as a Kafka consumer
 * commits the position it reset to): records still in flight when a connection dies count as
 * read (at most once). A refused commit (G has Kafka members; this broker is not G's
 * coordinator) ends the stream; a retriable one is tried again. Returns the subscription and what
 * stops it (with a last commit).
 */
function open(
  streams: TopicStreams,
  calls: BrokerCalls,
  topic: string,
  q: StreamQuery,
  sink: StreamSink,
  peer: string,
  log: Logger,
): { sub: Subscription; stop: () => void } {
  const group = q.group;
  if (group === null) {
    const sub = streams.subscribe(topic, q.partition, q.start, sink);
    return { sub, stop: () => sub.cancel() };
  }
  const committed = new Map<number, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const commit = (): void => {
    const offsets = [...sub.sent].filter(([p, o]) => committed.get(p) !== o).map(([partition, offset]) => ({ topic, partition, offset }));
    if (offsets.length === 0) return;
    calls.commitOffsets(group, offsets, peer).then(
      (refused) => {
        const failed = new Set(refused.map((r) => r.partition));
        for (const o of offsets) if (!failed.has(o.partition)) committed.set(o.partition, o.offset);
        const fatal = refused.filter((r) => !RETRIABLE.has(r.errorCode));
        // Refused while the stream was still open: end it (a closed socket takes nothing more).
        if (fatal.length === 0 || stopped) return;
        stop();
        sink.end(`commit refused: ${fatal.map((r) => `${topic}-${r.partition} ${errorName(r.errorCode)}`).join(', ')}`);
      },
      (err: unknown) => log.error('stream commit failed', { group, err: String(err) }),
    );
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (timer !== null) clearInterval(timer);
    sub.cancel();
    commit();
  };
  // The subscription may end itself (this broker no longer leads a partition): stop first.
  const ending: StreamSink = {
    send: (line) => sink.send(line),
    end: (reason) => {
      stop();
      sink.end(reason);
    },
  };
  const sub = streams.subscribe(topic, q.partition, q.start, ending, (p) => {
    const at = calls.services.groups.committedOffset(group, topic, p)?.offset;
    if (at !== undefined) committed.set(p, at);
    return at;
  });
  timer = setInterval(commit, COMMIT_INTERVAL_MS).unref();
  return { sub, stop };
}

const PATTERN = '/v3/clusters/:cluster_id/topics/:topic_name/stream';
/** A WebSocket holds at most this much unsent before its subscription pauses; uWS drops past maxBackpressure, far above. */
const PAUSE_AT_BYTES = 256 * 1024;

export function registerStreams(server: HttpServer, streams: TopicStreams, calls: BrokerCalls, log: Logger): void {
  const cluster = calls.services.cluster;
  server.websocket<SocketData>(PATTERN, {
    maxPayloadLength: 16 * 1024,
    maxBackpressure: 16 * 1024 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const rawCluster = req.getParameter(0) ?? '';
      const rawTopic = req.getParameter(1) ?? '';
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      let q: StreamQuery;
      let topic: string;
      try {
        // A page of another site may not read topics through the visitor's browser (browsers do
        // not apply the same-origin rule to WebSockets; the Origin header is theirs to check).
        if (crossOrigin(req)) throw new HttpError(403, 'a WebSocket from another site is refused');
        const clusterId = decodeParam(rawCluster);
        topic = decodeParam(rawTopic);
        if (clusterId !== cluster.clusterId) throw new HttpError(404, `cluster ${clusterId} not found`, 40401);
        q = streamQuery(new URLSearchParams(req.getQuery() ?? ''));
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(400, String(err));
        res.cork(() => {
          res
            .writeStatus(`${e.status} Refused`)
            .writeHeader('content-type', 'application/json')
            .end(JSON.stringify({ error_code: e.errorCode, message: e.message }));
        });
        return;
      }
      const peer = `${Buffer.from(res.getRemoteAddressAsText()).toString()}:0`;
      res.upgrade<SocketData>({ topic, query: q, peer, sub: null, stop: null }, key, protocol, extensions, context);
    },
    open: (ws) => {
      const d = ws.getUserData();
      try {
        const sink: StreamSink = {
          // 1: sent; 0: sent but backed up (pause); 2: dropped (cannot happen below maxBackpressure).
          send: (line) => ws.send(line) === 1 && ws.getBufferedAmount() < PAUSE_AT_BYTES,
          end: (reason) => ws.end(1011, reason.slice(0, 120)),
        };
        const { sub, stop } = open(streams, calls, d.topic, d.query, sink, d.peer, log);
        d.sub = sub;
        d.stop = stop;
      } catch (err) {
        ws.end(1008, err instanceof Error ? err.message.slice(0, 120) : 'refused');
      }
    },
    drain: (ws) => {
      if (ws.getBufferedAmount() < PAUSE_AT_BYTES) ws.getUserData().sub?.resume();
    },
    close: (ws) => {
      ws.getUserData().stop?.();
    },
  });

  server.route('get', PATTERN, ({ x, params, query, crossSite }) => {
    if (params[0] !== cluster.clusterId) throw new HttpError(404, `cluster ${params[0]} not found`, 40401);
    const q = streamQuery(query);
    // A group stream commits: not for a page of another site (EventSource needs no permission).
    if (crossSite && q.group !== null) throw new HttpError(403, 'a group stream from another site is refused');
    let opened: { sub: Subscription; stop: () => void };
    x.begin(200, 'text/event-stream', { 'cache-control': 'no-cache' });
    x.write(': franz stream\n\n');
    const sink: StreamSink = {
      send: (line) => x.write(`data: ${line}\n\n`),
      end: (reason) => {
        x.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
        x.end();
      },
    };
    try {
      opened = open(streams, calls, params[1]!, q, sink, x.peer, log);
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, String(err));
      if (!(err instanceof HttpError)) log.error('stream failed', { err: String(err) });
      x.write(`event: error\ndata: ${JSON.stringify({ error_code: e.errorCode, message: e.message })}\n\n`);
      x.end();
      return;
    }
    x.onAbort(() => opened.stop());
    x.onWritable(() => opened.sub.resume());
  });
}
