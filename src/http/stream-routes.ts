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
import { errorName } from '../protocol/errors.js';
import type { BrokerCalls } from './broker-calls.js';
import { HttpError, type HttpServer } from './http-server.js';
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

/**
 * Opens a subscription; in group mode (`group=G`) it starts from G's committed offsets and commits
 * the offsets after what was handed to the socket every COMMIT_INTERVAL_MS and when it ends: records
 * still in flight when a connection dies count as read (at most once). A refused commit (G has
 * Kafka members) ends the stream. Returns the subscription and what stops it (with a last commit).
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
  const sub = streams.subscribe(topic, q.partition, q.start, sink, (p) => calls.services.groups.committedOffset(group, topic, p)?.offset);
  const committed = new Map<number, number>();
  const commit = (): void => {
    const offsets = [...sub.sent].filter(([p, o]) => committed.get(p) !== o).map(([partition, offset]) => ({ topic, partition, offset }));
    if (offsets.length === 0) return;
    for (const o of offsets) committed.set(o.partition, o.offset);
    calls.commitOffsets(group, offsets, peer).then(
      (refused) => {
        // Refused while the stream was still open: end it (a closed socket takes nothing more).
        if (refused.length === 0 || stopped) return;
        stop();
        sink.end(`commit refused: ${refused.map((r) => `${topic}-${r.partition} ${errorName(r.errorCode)}`).join(', ')}`);
      },
      (err: unknown) => log.error('stream commit failed', { group, err: String(err) }),
    );
  };
  const timer = setInterval(commit, COMMIT_INTERVAL_MS).unref();
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    sub.cancel();
    commit();
  };
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
      const clusterId = decodeURIComponent(req.getParameter(0) ?? '');
      const topic = decodeURIComponent(req.getParameter(1) ?? '');
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      let q: StreamQuery;
      try {
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

  server.route('get', PATTERN, ({ x, params, query }) => {
    if (params[0] !== cluster.clusterId) throw new HttpError(404, `cluster ${params[0]} not found`, 40401);
    const q = streamQuery(query);
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
