/**
 * One TCP connection to one broker: framing, correlation ids, ApiVersions negotiation, and the
 * client's two error classes.
 *
 * Versions: for each API the connection uses the highest version that both the broker advertises
 * and our message descriptions (src/protocol/messages) cover. Requests are typed by their API's
 * description: `request(spec, body)` takes a `RequestBody<typeof spec>` and resolves with a
 * `DecodedResponse<typeof spec>`; fields left out of a body go out as their defaults.
 *
 * Errors: transport problems are a ClientError with a stable `code` (FRANZ_CONNECT, FRANZ_TIMEOUT,
 * FRANZ_CLOSED, FRANZ_PROTOCOL, FRANZ_UNSUPPORTED_API). Kafka error codes are data in responses;
 * the helpers that read them throw a KafkaError carrying the code and its name (`errorName`).
 */
import { connect, type Socket } from 'node:net';
import type { VersionCodec } from '../protocol/codec.js';
import { codecFor } from '../protocol/codecs.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { API_VERSIONS_KEY, readResponseHeader, responseHeaderFlexible, writeRequestHeader } from '../protocol/header.js';
import { specForKey } from '../protocol/messages/index.js';
import { spec as apiVersions } from '../protocol/messages/18-api-versions.js';
import { Reader, Writer } from '../protocol/primitives.js';
import type { ApiSpec, DecodedResponse, RequestBody } from '../protocol/schema.js';
import type { ConnectionOptions } from './types.js';

const CLIENT_SOFTWARE_NAME = 'franz';
const CLIENT_SOFTWARE_VERSION = '0.1.0';
/** Largest response frame we accept (a Fetch asks for far less). */
const MAX_RESPONSE_BYTES = 512 * 1024 * 1024;

export type ClientErrorCode = 'FRANZ_CONNECT' | 'FRANZ_TIMEOUT' | 'FRANZ_CLOSED' | 'FRANZ_PROTOCOL' | 'FRANZ_UNSUPPORTED_API';

/** A transport or protocol failure (not a Kafka error code). */
export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClientError';
  }
}

/** A Kafka error code returned by the broker, with what was being done. */
export class KafkaError extends Error {
  readonly errorName: string;
  constructor(
    readonly errorCode: number,
    context: string,
    serverMessage?: string | null,
  ) {
    const name = errorName(errorCode);
    super(`${context}: ${name}${serverMessage ? ` (${serverMessage})` : ''}`);
    this.name = 'KafkaError';
    this.errorName = name;
  }
}

function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = at > 0 ? address.slice(0, at).replace(/^\[(.*)\]$/, '$1') : address;
  const port = at > 0 ? Number(address.slice(at + 1)) : 9092;
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || host === '') {
    throw new ClientError('FRANZ_CONNECT', `bad broker address "${address}" (expected HOST:PORT)`);
  }
  return { host, port };
}

/** Bytes of the fixed buffer socket reads go to when a connection reuses its response buffers. */
const READ_BYTES = 64 * 1024;

function connectSocket(
  address: string,
  timeoutMs: number,
  onread?: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean },
): Promise<Socket> {
  const { host, port } = parseAddress(address);
  return new Promise<Socket>((resolve, reject) => {
    const s = connect(onread === undefined ? { host, port } : { host, port, onread });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ClientError('FRANZ_CONNECT', `cannot connect to ${address}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'unknown host' : e.message;
      reject(new ClientError('FRANZ_CONNECT', `cannot connect to ${address}: ${why}`, { cause: e }));
    });
  });
}

/** A request waiting for its response. */
interface Pending {
  /** Decodes the response frame (correlation id first) and settles the request. */
  settle(frame: Buffer): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One connection to one broker. Not safe to share between processes; any number of requests may
 * be in flight (Kafka answers them in order, we match them by correlation id anyway).
 */
export class BrokerConnection {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** reuseResponseBuffers: the frame being filled (grown, never shrunk), its size prefix and fill. */
  private frame: Buffer = Buffer.alloc(0);
  private readonly sizePrefix = Buffer.alloc(4);
  private prefixFill = 0;
  private frameSize = -1;
  private frameFill = 0;
  private closedError: Error | null = null;
  /** The version picked for each API both sides support. */
  readonly versions = new Map<number, number>();
  /** The broker's advertised ranges, by API key. */
  readonly brokerRanges = new Map<number, [number, number]>();

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly clientId: string,
    private readonly requestTimeoutMs: number,
  ) {
    socket.setNoDelay(true);
    // With reuseResponseBuffers the socket reads with `onread` (no 'data' events).
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(new ClientError('FRANZ_CLOSED', `connection to ${address} failed: ${e.message}`, { cause: e })));
    socket.on('close', () => this.fail(new ClientError('FRANZ_CLOSED', `connection to ${address} closed by the broker`)));
  }

  /** Connects and negotiates API versions. */
  static async open(address: string, opts: ConnectionOptions = {}): Promise<BrokerConnection> {
    let c: BrokerConnection | null = null;
    const onread =
      opts.reuseResponseBuffers === true
        ? { buffer: Buffer.allocUnsafe(READ_BYTES), callback: (n: number, buf: Buffer) => c?.onRead(buf.subarray(0, n)) ?? false }
        : undefined;
    const socket = await connectSocket(address, opts.connectTimeoutMs ?? 10_000, onread);
    c = new BrokerConnection(socket, address, opts.clientId ?? 'franz-cli', opts.requestTimeoutMs ?? 30_000);
    try {
      await c.negotiate();
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  close(): void {
    this.fail(new ClientError('FRANZ_CLOSED', `connection to ${this.address} closed`));
  }

  private fail(e: Error): void {
    if (this.closedError === null) this.closedError = e;
    this.socket.destroy();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(this.closedError);
    }
  }

  /** ApiVersions: ask at our highest version; a broker that knows less answers with its ranges (KIP-511). */
  private async negotiate(): Promise<void> {
    const hello = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION };
    let version: number = apiVersions.validVersions[1];
    let res = await this.send(apiVersions, version, hello);
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      const theirs = res.apiKeys.find((k) => k.apiKey === API_VERSIONS_KEY);
      const fallback = theirs ? Math.min(theirs.maxVersion, version) : 0;
      if (fallback >= version) throw new ClientError('FRANZ_PROTOCOL', `${this.address}: ApiVersions negotiation failed`);
      version = fallback;
      res = await this.send(apiVersions, version, hello);
    }
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `ApiVersions from ${this.address}`);
    for (const { apiKey, minVersion, maxVersion } of res.apiKeys) {
      this.brokerRanges.set(apiKey, [minVersion, maxVersion]);
      const ours = specForKey(apiKey);
      if (ours === undefined) continue;
      const [ourLo, ourHi] = ours.validVersions;
      const pick = Math.min(maxVersion, ourHi);
      if (pick >= Math.max(minVersion, ourLo)) this.versions.set(apiKey, pick);
    }
  }

  /** The negotiated version of an API; throws FRANZ_UNSUPPORTED_API when there is none. */
  version(api: ApiSpec | number): number {
    const apiKey = typeof api === 'number' ? api : api.apiKey;
    const v = this.versions.get(apiKey);
    if (v === undefined) {
      const name = specForKey(apiKey)?.name ?? `API ${apiKey}`;
      const range = this.brokerRanges.get(apiKey);
      const why = range === undefined ? 'does not support it' : `offers only v${range[0]}-${range[1]}`;
      throw new ClientError('FRANZ_UNSUPPORTED_API', `the broker at ${this.address} ${why}: ${name}`);
    }
    return v;
  }

  supports(api: ApiSpec | number): boolean {
    return this.versions.has(typeof api === 'number' ? api : api.apiKey);
  }

  /** Sends a request at the negotiated version; resolves with the decoded response body. */
  request<S extends ApiSpec>(spec: S, body: RequestBody<S>): Promise<DecodedResponse<S>> {
    return this.send(spec, this.version(spec), body);
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  requestNoResponse<S extends ApiSpec>(spec: S, body: RequestBody<S>): void {
    this.write(spec.apiKey, codecFor(spec).at(this.version(spec)), body);
  }

  /** Frames and writes a request; returns its correlation id. */
  private write<S extends ApiSpec>(apiKey: number, codec: VersionCodec<S>, body: RequestBody<S>): number {
    if (this.closedError !== null) throw this.closedError;
    const id = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const w = new Writer(256);
    w.int32(0); // size, patched below
    writeRequestHeader(w, { apiKey, apiVersion: codec.version, correlationId: id, clientId: this.clientId }, codec.flexible);
    codec.encodeRequest(w, body);
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    this.socket.write(frame);
    return id;
  }

  private send<S extends ApiSpec>(spec: S, version: number, body: RequestBody<S>): Promise<DecodedResponse<S>> {
    return new Promise<DecodedResponse<S>>((resolve, reject) => {
      const codec = codecFor(spec).at(version);
      let id: number;
      try {
        id = this.write(spec.apiKey, codec, body);
      } catch (e) {
        reject(e);
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ClientError('FRANZ_TIMEOUT', `${spec.name} to ${this.address} timed out after ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      const settle = (frame: Buffer): void => {
        // KIP-511: a broker that does not know our ApiVersions version answers in a v0 body.
        const kip511 = spec.apiKey === API_VERSIONS_KEY && frame.length >= 6 && frame.readInt16BE(4) === ErrorCode.UNSUPPORTED_VERSION;
        const vc = kip511 ? codecFor(spec).at(0) : codec;
        const r = new Reader(frame);
        readResponseHeader(r, responseHeaderFlexible(spec.apiKey, vc.flexible));
        const res = vc.decodeResponse(r);
        if (r.bad) {
          const e = new ClientError('FRANZ_PROTOCOL', `cannot decode the ${spec.name} v${vc.version} response from ${this.address}`);
          reject(e);
          this.fail(e);
          return;
        }
        resolve(res);
      };
      this.pending.set(id, { settle, reject, timer });
    });
  }

  /**
   * reuseResponseBuffers: one socket read (in the fixed read buffer). Bytes go to the size prefix,
   * then to the frame buffer, which grows to the largest response seen; each complete frame is
   * handed on as a view of it. Returns false to stop reading (never: responses are bounded).
   */
  private onRead(d: Buffer): boolean {
    let at = 0;
    while (at < d.length) {
      if (this.frameSize < 0) {
        const n = Math.min(4 - this.prefixFill, d.length - at);
        d.copy(this.sizePrefix, this.prefixFill, at, at + n);
        this.prefixFill += n;
        at += n;
        if (this.prefixFill < 4) break;
        const size = this.sizePrefix.readInt32BE(0);
        if (size < 4 || size > MAX_RESPONSE_BYTES) {
          this.fail(new ClientError('FRANZ_PROTOCOL', `${this.address} sent a response frame of ${size} bytes`));
          return false;
        }
        if (this.frame.length < size) this.frame = Buffer.allocUnsafe(Math.max(size, this.frame.length * 2));
        this.frameSize = size;
        this.frameFill = 0;
      }
      const n = Math.min(this.frameSize - this.frameFill, d.length - at);
      d.copy(this.frame, this.frameFill, at, at + n);
      this.frameFill += n;
      at += n;
      if (this.frameFill === this.frameSize) {
        const frame = this.frame.subarray(0, this.frameSize);
        this.frameSize = -1;
        this.prefixFill = 0;
        this.onFrame(frame);
      }
    }
    return true;
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const size = head.readInt32BE(0);
      if (size < 4 || size > MAX_RESPONSE_BYTES) {
        this.fail(new ClientError('FRANZ_PROTOCOL', `${this.address} sent a response frame of ${size} bytes`));
        return;
      }
      if (this.buffered < 4 + size) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (p === undefined) return; // timed out earlier
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    p.settle(frame);
  }
}
