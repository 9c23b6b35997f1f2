/**
 * The HTTP listener (`franz start --http HOST:PORT`, `franz.http.listeners`), on uWebSockets.js,
 * on the broker's own event loop: its routes call the same broker code the Kafka handlers do
 * (BrokerCalls), so nothing is done twice and nothing crosses a socket inside the process.
 *
 * What every route shares lives here: JSON answers with a status that fits (Kafka's error code
 * beside it), bodies read with a bound (a request past it is answered 413 and its connection
 * closed before more is buffered), and a request whose client went away (onAborted) is never
 * answered. Routes: health (/healthz, /readyz), Prometheus metrics (/metrics), REST v3
 * (rest-v3.ts).
 */
import uWS from 'uWebSockets.js';
import type { Logger } from '../logger.js';

export type HttpResponse = uWS.HttpResponse;
export type HttpRequest = uWS.HttpRequest;

/** An error a route answers with: HTTP status, the body's error_code, Kafka's code when one applies. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode: number = status,
    readonly kafkaErrorCode?: number,
  ) {
    super(message);
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Status'}`;
}

/** One request's answer: what a route writes through, and whether the client is still there. */
export class Exchange {
  aborted = false;
  /** Set by the first write: a streamed answer has begun. */
  started = false;
  readonly peer: string;
  private abortHandlers: Array<() => void> = [];

  constructor(readonly res: HttpResponse) {
    this.peer = `${Buffer.from(res.getRemoteAddressAsText()).toString()}:0`;
    res.onAborted(() => {
      this.aborted = true;
      for (const h of this.abortHandlers) h();
    });
  }

  onAbort(h: () => void): void {
    this.abortHandlers.push(h);
  }

  json(status: number, body: unknown): void {
    this.send(status, 'application/json', JSON.stringify(body));
  }

  send(status: number, contentType: string, body: string | Buffer, headers: Readonly<Record<string, string>> = {}): void {
    if (this.aborted) return;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
      for (const k in headers) this.res.writeHeader(k, headers[k]!);
      this.res.end(body);
    });
    this.aborted = true;
  }

  error(err: unknown, log: Logger): void {
    if (err instanceof HttpError) {
      const body: Record<string, unknown> = { error_code: err.errorCode, message: err.message };
      if (err.kafkaErrorCode !== undefined) body.kafka_error_code = err.kafkaErrorCode;
      this.json(err.status, body);
      return;
    }
    log.error('HTTP route failed', { err: String((err as Error)?.stack ?? err) });
    this.json(500, { error_code: 500, message: 'internal error' });
  }

  /** Starts a streamed answer (chunked): status and headers now, then write() per part. */
  begin(status: number, contentType: string, headers: Record<string, string> = {}): void {
    if (this.aborted || this.started) return;
    this.started = true;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v);
    });
  }

  /** Called when a backed-up streamed answer can take more. */
  onWritable(fn: () => void): void {
    this.res.onWritable(() => {
      fn();
      return true;
    });
  }

  write(chunk: string): boolean {
    if (this.aborted) return false;
    let ok = true;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    return ok;
  }

  end(chunk = ''): void {
    if (this.aborted) return;
    this.res.cork(() => {
      this.res.end(chunk);
    });
    this.aborted = true;
  }
}

/**
 * Reads a request body of at most `maxBytes`: rejects with 413 (and closes the connection, so the
 * rest is never read) past it. uWS lends each chunk only for the callback, so each is copied.
 */
export function readBody(x: Exchange, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    x.onAbort(() => reject(new HttpError(400, 'the client went away')));
    x.res.onData((ab, isLast) => {
      if (failed) return;
      size += ab.byteLength;
      if (size > maxBytes) {
        failed = true;
        x.json(413, { error_code: 413, message: `the request body is larger than ${maxBytes} bytes` });
        reject(new HttpError(413, 'too large'));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(ab)));
      if (isLast) resolve(Buffer.concat(chunks, size));
    });
  });
}

/** Parses a JSON body: 400 with the parser's reason when it is not JSON. */
export function parseJson(body: Buffer): unknown {
  return parseJsonText(body.toString('utf8'));
}

/** Parses JSON text: 400 with the parser's reason when it is not JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}

/** Base64 text as bytes: 422 with `errorCode` when it is not base64 (Buffer.from would skip bad characters). */
export function base64Bytes(text: string, what: string, errorCode: number): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new HttpError(422, `${what} is not base64`, errorCode);
  return Buffer.from(text, 'base64');
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'del';

/** A path parameter decoded; 400 for a malformed escape (decodeURIComponent throws). */
export function decodeParam(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `malformed escape in the path: ${text.slice(0, 100)}`);
  }
}

/**
 * True when a browser sent the request from a page of another site (its Origin names another
 * host than the request's): such a page must not create, produce, commit or delete here (the
 * console's own requests are same-origin; curl and other clients send no Origin).
 */
export function crossOrigin(req: HttpRequest): boolean {
  const origin = req.getHeader('origin');
  if (origin === '') return false;
  try {
    return new URL(origin).host !== req.getHeader('host');
  } catch {
    return true;
  }
}

/** What a route gets: the exchange, its path parameters (in pattern order), the query string and headers it asked for. */
export interface RouteRequest {
  readonly x: Exchange;
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly contentType: string;
  /** A browser sent it from a page of another site (see crossOrigin); refused already unless a GET. */
  readonly crossSite: boolean;
}

export type Route = (r: RouteRequest) => void | Promise<void>;

export class HttpServer {
  private readonly app: uWS.TemplatedApp;
  private listenSocket: uWS.us_listen_socket | null = null;
  port = 0;

  constructor(private readonly log: Logger) {
    this.app = uWS.App();
  }

  /** Registers a route; `pattern` as uWS takes it (`/v3/clusters/:cluster_id`). */
  route(method: Method, pattern: string, handler: Route): void {
    const names = pattern.split('/').filter((s) => s.startsWith(':'));
    this.app[method](pattern, (res, req) => {
      const x = new Exchange(res);
      // The request object is valid only in this callback: take what the route needs now.
      const raw = names.map((_, i) => req.getParameter(i) ?? '');
      const query = new URLSearchParams(req.getQuery() ?? '');
      const contentType = req.getHeader('content-type');
      const crossSite = crossOrigin(req);
      // Nothing may throw out of a uWS callback (it would end the process): all checks inside.
      try {
        if (crossSite && method !== 'get') throw new HttpError(403, 'a request from another site may not change anything here');
        const params = raw.map(decodeParam);
        const done = handler({ x, params, query, contentType, crossSite });
        if (done instanceof Promise) done.catch((err: unknown) => x.error(err, this.log));
      } catch (err) {
        x.error(err, this.log);
      }
    });
  }

  /** Registers a WebSocket route (uWS's behavior: upgrade, open, drain, close). */
  websocket<U>(pattern: string, behavior: uWS.WebSocketBehavior<U>): void {
    this.app.ws<U>(pattern, behavior);
  }

  /** Everything else: 404 in the same JSON shape. */
  private fallback(): void {
    this.app.any('/*', (res) => {
      const x = new Exchange(res);
      x.json(404, { error_code: 404, message: 'no such endpoint' });
    });
  }

  listen(host: string, port: number): Promise<void> {
    this.fallback();
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen for HTTP on ${host}:${port}`));
          return;
        }
        this.listenSocket = socket;
        this.port = uWS.us_socket_local_port(socket);
        resolve();
      });
    });
  }

  private readonly closers: Array<() => void> = [];

  /** Runs `fn` when the server closes (a route's timers). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  close(): void {
    for (const fn of this.closers) fn();
    if (this.listenSocket !== null) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }
}
