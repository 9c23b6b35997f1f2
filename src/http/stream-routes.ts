/**
 * `/v3/clusters/{id}/topics/{topic}/stream?from=earliest|latest|offset|timestamp&offset=&timestamp=&partition=`:
 * a topic's records as they are committed, over a WebSocket (one text message per record) or, for
 * a plain GET, as Server-Sent Events (`data: {record}` per record). topic-stream.ts does the
 * reading; here the two transports' backpressure is mapped onto it: a WebSocket whose send
 * reports built-up backpressure, or an SSE response whose write is refused, pauses its
 * subscription until the socket drains (uWS's `drain` / `onWritable`).
 */
import type { Logger } from '../logger.js';
import type { ClusterInfo } from '../metadata/ports.js';
import { HttpError, type HttpServer } from './http-server.js';
import { type StreamStart, type Subscription, streamQuery, type TopicStreams } from './topic-stream.js';

interface SocketData {
  topic: string;
  partition: number | null;
  start: StreamStart;
  sub: Subscription | null;
}

const PATTERN = '/v3/clusters/:cluster_id/topics/:topic_name/stream';
/** A WebSocket holds at most this much unsent before its subscription pauses; uWS drops past maxBackpressure, far above. */
const PAUSE_AT_BYTES = 256 * 1024;

export function registerStreams(server: HttpServer, streams: TopicStreams, cluster: ClusterInfo, log: Logger): void {
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
      let q: ReturnType<typeof streamQuery>;
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
      res.upgrade<SocketData>({ topic, partition: q.partition, start: q.start, sub: null }, key, protocol, extensions, context);
    },
    open: (ws) => {
      const d = ws.getUserData();
      try {
        d.sub = streams.subscribe(d.topic, d.partition, d.start, {
          // 1: sent; 0: sent but backed up (pause); 2: dropped (cannot happen below maxBackpressure).
          send: (line) => ws.send(line) === 1 && ws.getBufferedAmount() < PAUSE_AT_BYTES,
          end: (reason) => ws.end(1011, reason),
        });
      } catch (err) {
        ws.end(1008, err instanceof Error ? err.message.slice(0, 120) : 'refused');
      }
    },
    drain: (ws) => {
      if (ws.getBufferedAmount() < PAUSE_AT_BYTES) ws.getUserData().sub?.resume();
    },
    close: (ws) => {
      ws.getUserData().sub?.cancel();
    },
  });

  server.route('get', PATTERN, ({ x, params, query }) => {
    if (params[0] !== cluster.clusterId) throw new HttpError(404, `cluster ${params[0]} not found`, 40401);
    const q = streamQuery(query);
    let sub: Subscription | null = null;
    x.begin(200, 'text/event-stream', { 'cache-control': 'no-cache' });
    x.write(': franz stream\n\n');
    try {
      sub = streams.subscribe(params[1]!, q.partition, q.start, {
        send: (line) => x.write(`data: ${line}\n\n`),
        end: (reason) => {
          x.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
          x.end();
        },
      });
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, String(err));
      if (!(err instanceof HttpError)) log.error('stream failed', { err: String(err) });
      x.write(`event: error\ndata: ${JSON.stringify({ error_code: e.errorCode, message: e.message })}\n\n`);
      x.end();
      return;
    }
    const s = sub;
    x.onAbort(() => s.cancel());
    x.onWritable(() => s.resume());
  });
}
