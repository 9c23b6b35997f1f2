/**
 * The HTTP surface, put together: health (`/healthz`: the process answers; `/readyz`: recovery
 * finished, the Kafka listener open, and in a cluster the broker joined), Prometheus metrics
 * (`/metrics`), REST v2 and v3 (rest-v2.ts, rest-v3.ts) and live topic streams over WebSocket and SSE
 * (stream-routes.ts), records read by offset or time (record-reads.ts), and the web console at `/`
 * (console-routes.ts). The broker makes it when `franz.http.listeners` (or
 * `franz start --http`) names an address.
 */
import type { Logger } from '../logger.js';
import type { BrokerCalls } from './broker-calls.js';
import { registerConsole } from './console-routes.js';
import { HttpServer } from './http-server.js';
import type { BrokerMetrics } from './metrics.js';
import { registerRecordReads } from './record-reads.js';
import { registerRestV2 } from './rest-v2.js';
import { registerRestV3 } from './rest-v3.js';
import { registerStreams } from './stream-routes.js';
import { TopicStreams } from './topic-stream.js';

export interface HttpApiOptions {
  readonly host: string;
  readonly port: number;
  readonly calls: BrokerCalls;
  readonly metrics: BrokerMetrics;
  /** null once the broker serves; else why not yet. */
  readonly notReady: () => string | null;
  /** The largest record a REST produce may carry (message.max.bytes). */
  readonly maxRecordBytes: number;
  readonly log: Logger;
}

export async function startHttpApi(opts: HttpApiOptions): Promise<HttpServer> {
  const server = new HttpServer(opts.log);
  server.route('get', '/healthz', ({ x }) => x.json(200, { status: 'ok' }));
  server.route('get', '/readyz', ({ x }) => {
    const why = opts.notReady();
    if (why === null) x.json(200, { status: 'ready' });
    else x.json(503, { status: 'not ready', reason: why });
  });
  server.route('get', '/metrics', async ({ x }) => {
    const text = await opts.metrics.text();
    x.send(200, opts.metrics.contentType, text);
  });
  registerRestV3(server, opts.calls, { maxRecordBytes: opts.maxRecordBytes, log: opts.log });
  const stopV2 = registerRestV2(server, opts.calls, {
    maxRecordBytes: opts.maxRecordBytes,
    log: opts.log,
    baseUri: () => `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${server.port}`,
  });
  server.onClose(stopV2);
  const s = opts.calls.services;
  registerRecordReads(server, s);
  registerStreams(server, new TopicStreams(s.logs, s.topics), opts.calls, opts.log);
  registerConsole(server);
  await server.listen(opts.host, opts.port);
  return server;
}
