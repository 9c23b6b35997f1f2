/**
 * One client connection: framing, dispatch, and responses in request order.
 *
 * Framing: every request is `int32 size` + `size` bytes. The size is checked against
 * socket.request.max.bytes before anything is buffered for it, so an HTTP request or a TLS hello sent
 * to this port (which read as sizes of hundreds of MB) closes the connection without allocating.
 *
 * Requests are decoded and handed to their handler as soon as they arrive, so a producer's pipelined
 * requests share one group-commit fsync; responses are still written strictly in request order.
 * Responses holding file regions (Fetch) are written by the native sendChunks on the thread pool
 * with a dup of the socket descriptor, only once everything Node had queued on the socket has been
 * handed to the kernel, and Node writes nothing more to this socket until it is done.
 */
import { Socket as NetSocket, type Socket, type SocketConstructorOpts } from 'node:net';
import { FrameReader } from './frame-reader.js';
import { framePool } from './frame-pool.js';
import { readSync } from 'node:fs';
import * as native from '../native/index.js';
import { pinFiles, unpinFiles } from '../storage/file-pins.js';
import { Reader, Writer, type Chunk } from '../protocol/primitives.js';
import {
  API_VERSIONS_KEY,
  readRequestHeader,
  responseHeaderFlexible,
  skipHeaderTags,
  writeResponseHeader,
  type RequestHeader,
} from '../protocol/header.js';
import { ErrorCode, InvalidRequestError } from '../protocol/errors.js';
import type { ApiCodec } from '../protocol/codec.js';
import { codecForKey } from '../protocol/codecs.js';
import type { ResponseBody } from '../protocol/schema.js';
import type { BrokerServices, HandlerRegistry } from '../handlers/registry.js';
import { type Logger, RateLimitedLog } from '../logger.js';

/** What a connection needs from the server around it. */
export interface ConnectionOptions {
  readonly registry: HandlerRegistry;
  readonly services: BrokerServices;
  readonly log: Logger;
  /** socket.request.max.bytes: larger requests close the connection before anything is buffered. */
  readonly maxRequestBytes: number;
  /** Send file regions with sendfile (off: copy them through Node, FRANZ_SENDFILE=0). */
  readonly useSendfile: boolean;
  /**
   * queued.max.requests: with this many requests received and not yet answered, no more bytes
   * are read from the connection (what one read brought, at most the 16 KiB scratch, is still
   * handled) until a response goes out.
   */
  readonly maxQueuedRequests: number;
  /** Told of each request answered: its API and the seconds from its arrival to its answer (metrics). */
  readonly onAnswered?: (apiKey: number, seconds: number) => void;
  readonly onClosed: () => void;
}

/** A response body of any API, as the connection encodes it with that API's codec. */
type AnyResponse = ResponseBody<ApiCodec['spec']>;

interface Slot {
  done: boolean;
  /** performance.now() when the request was read. */
  started: number;
  chunks: Chunk[] | null;
  /** Segment descriptors the chunks name, pinned until written or dropped (file-pins.ts). */
  fds: number[] | null;
}

const SEND_TIMEOUT_MS = 30_000;
/** Why a connection was closed, logged for up to 200 connections per 10 s across the broker: a peer can cause these at will. */
const closeNotices = new RateLimitedLog(200, 10_000);

export class Connection {
  private readonly reader: FrameReader;
  private readonly socket: Socket;
  private readonly slots: Slot[] = [];
  private sending = false;
  private unflushedWrites = 0;
  private closed = false;
  /** Set by drain(): no more requests are read. */
  private draining = false;
  private idleWaiters: Array<() => void> = [];
  /** Called once every byte Node queued on the socket has reached the kernel (whenFlushed). */
  private flushWaiter: (() => void) | null = null;
  /** The response whose send waits for Node's queued writes (whenFlushed). */
  private awaitingFlush: Slot | null = null;
  readonly peer: string;
  /** Sockets whose descriptor we cannot see (e.g. TLS later) fall back to reading regions into buffers. */
  private readonly fd: number;
  private readonly registry: HandlerRegistry;
  private readonly services: BrokerServices;
  private readonly log: Logger;
  private readonly useSendfile: boolean;
  private readonly maxQueuedRequests: number;
  private readonly onAnswered: ((apiKey: number, seconds: number) => void) | undefined;
  /** The last time a byte was read or a response finished (connections.max.idle.ms). */
  private lastActivity = Date.now();
  /** Since when part of a request has been waiting for the rest (franz.request.read.timeout.ms). */
  private partialSince: number | null = null;
  /** Reading paused because queued.max.requests requests are unanswered. */
  private readPaused = false;
  /** Requests read while the queue was full, handled in order once it has room. */
  private readonly held: Buffer[] = [];
  /**
   * Reads go straight into the FrameReader (onread): the connection can stop cutting requests
   * and pause the socket. The fallback ('data' events, when the descriptor could not be
   * duplicated) cannot hold bytes back, so queued.max.requests does not apply to it.
   */
  private readonly readsWithOnread: boolean;

  /**
   * `accepted` comes from a server with pauseOnConnect. Its descriptor is duplicated into a new
   * Socket that reads with `onread` into the FrameReader's buffers (which Node offers only for
   * sockets it wraps around a descriptor), and the accepted one is closed; the connection stays
   * open through the duplicate. Should the duplication fail (EMFILE), the accepted socket is read
   * with 'data' events instead.
   */
  constructor(accepted: Socket, opts: ConnectionOptions) {
    const { maxRequestBytes, onClosed } = opts;
    this.registry = opts.registry;
    this.services = opts.services;
    this.log = opts.log;
    this.useSendfile = opts.useSendfile;
    this.maxQueuedRequests = opts.maxQueuedRequests;
    this.onAnswered = opts.onAnswered;
    this.peer = `${accepted.remoteAddress}:${accepted.remotePort}`;
    this.reader = new FrameReader(
      maxRequestBytes,
      (frame) => {
        if (this.closed) return false;
        // queued.max.requests: a request beyond the limit waits, whole, until one is answered
        // (the socket is paused, so at most what one read brought waits here).
        if (this.held.length > 0 || (this.readsWithOnread && this.slots.length >= this.maxQueuedRequests)) {
          this.held.push(frame);
          this.readPaused = true;
          return true;
        }
        this.onFrame(frame);
        return !this.closed;
      },
      (size) => this.reject('request size out of bounds', { size, max: maxRequestBytes }),
    );
    const socket = adopt(accepted, {
      buffer: () => this.reader.buffer(),
      callback: (n: number) => this.onRead(n),
    });
    this.socket = socket instanceof NetSocket ? socket : accepted;
    this.readsWithOnread = socket instanceof NetSocket;
    if (!(socket instanceof NetSocket)) {
      // Slower (each read is copied once more), but the client is served all the same.
      if (socket.error !== undefined) this.log.warn('reading connection with data events', { peer: this.peer, err: socket.error });
      accepted.on('data', (d: Buffer) => this.onData(d));
      accepted.resume();
    }
    this.socket.setNoDelay(true);
    this.fd = descriptorOf(this.socket);
    this.socket.on('error', () => this.close());
    this.socket.on('close', () => {
      this.close();
      onClosed();
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.clear();
    this.held.length = 0;
    // Responses never to be written release their files; one whose native send is under way does
    // so when that send settles.
    for (const slot of this.slots) release(slot);
    if (this.awaitingFlush !== null) release(this.awaitingFlush);
    this.awaitingFlush = null;
    this.slots.length = 0;
    this.socket.destroy();
    this.notifyIdle();
  }

  private get idle(): boolean {
    return this.closed || (this.slots.length === 0 && !this.sending && this.unflushedWrites === 0);
  }

  private notifyIdle(): void {
    if (!this.idle) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /**
   * Shutdown: reads no more requests, and resolves once every request already received has been
   * answered and written (or the connection is gone). The caller bounds the wait.
   */
  drain(): Promise<void> {
    this.socket.pause();
    this.draining = true;
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  destroy(): void {
    this.close();
  }

  /** Drops the connection after a protocol violation, as Kafka does. */
  private reject(reason: string, extra?: object): void {
    closeNotices.warn(this.log, 'closing connection', { peer: this.peer, reason, ...extra });
    this.close();
  }

  /** The fallback for a socket read by Node ('data' events): each chunk goes through the reader's buffers. */
  private onData(data: Buffer): void {
    let at = 0;
    while (at < data.length && !this.closed && !this.draining) {
      const b = this.reader.buffer();
      const n = Math.min(b.length, data.length - at);
      data.copy(b, 0, at, at + n);
      at += n;
      this.reader.wrote(n);
    }
    this.afterRead();
  }

  /** A read into the reader's buffer (the socket reads with `onread`); false pauses reading. */
  private onRead(n: number): boolean {
    if (this.closed || this.draining) return false;
    this.reader.wrote(n);
    this.afterRead();
    if (this.readsWithOnread && this.slots.length >= this.maxQueuedRequests) this.readPaused = true;
    return !this.closed && !this.readPaused;
  }

  private afterRead(): void {
    const now = Date.now();
    this.lastActivity = now;
    this.partialSince = this.reader.partial ? (this.partialSince ?? now) : null;
  }

  /** The queue has room again: the requests held back first, then the socket. */
  private unhold(): void {
    while (this.held.length > 0 && this.slots.length < this.maxQueuedRequests && !this.closed) this.onFrame(this.held.shift()!);
    if (this.held.length === 0 && this.slots.length < this.maxQueuedRequests && this.readPaused && !this.closed) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  /**
   * Why this connection should be closed now, if it should: a request still incomplete after
   * `readTimeoutMs` (slowloris), or nothing read or answered for `idleMs` (Kafka's
   * connections.max.idle.ms; a negative value never closes).
   */
  overdue(now: number, idleMs: number, readTimeoutMs: number): string | null {
    if (this.closed) return null;
    if (this.partialSince !== null && now - this.partialSince > readTimeoutMs)
      return 'request not complete within franz.request.read.timeout.ms';
    if (idleMs >= 0 && this.idle && this.partialSince === null && now - this.lastActivity > idleMs) return 'idle';
    return null;
  }

  /** Closes the connection for the reason `overdue` gave. */
  expire(reason: string): void {
    if (reason === 'idle') {
      this.log.debug('closing idle connection', { peer: this.peer });
      this.close();
    } else this.reject(reason);
  }

  private onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const header = readRequestHeader(r);
    if (r.bad) {
      this.reject('truncated request header');
      return;
    }
    const route = this.registry.get(header.apiKey);
    if (header.apiKey === API_VERSIONS_KEY && !this.registry.serves(API_VERSIONS_KEY, header.apiVersion)) {
      // KIP-511: answer an unknown ApiVersions version with UNSUPPORTED_VERSION in a v0 body listing our ranges.
      this.respondNow(header, 0, {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        apiKeys: this.registry.apiVersions(),
        throttleTimeMs: 0,
      });
      return;
    }
    if (route === undefined || !this.registry.serves(header.apiKey, header.apiVersion)) {
      // Kafka cannot parse such a request either and drops the connection; the client learns our
      // ranges from ApiVersions and should never send one.
      this.reject('unsupported API or version', { apiKey: header.apiKey, apiVersion: header.apiVersion });
      return;
    }
    const { handler, codec } = route;
    const vc = codec.at(header.apiVersion);
    if (vc.flexible) skipHeaderTags(r);
    const body = vc.decodeRequest(r);
    if (r.bad) {
      this.reject('malformed request', { apiKey: header.apiKey, apiVersion: header.apiVersion });
      return;
    }

    const slot: Slot = { done: false, started: performance.now(), chunks: null, fds: null };
    this.slots.push(slot);
    let result: AnyResponse | null | Promise<AnyResponse | null>;
    try {
      result = handler.handle({ ...this.services, header, version: header.apiVersion, peer: this.peer }, body);
    } catch (err) {
      this.failed(header, err);
      return;
    }
    // Done with the request's bytes (Produce has written its batches): its buffer can serve a
    // later request. Any other request's decoded body may still refer to it.
    if (handler.releasesRequestBytes === true) framePool.give(frame);
    if (result instanceof Promise) {
      result.then(
        (m) => this.complete(slot, header, m),
        (err: unknown) => this.failed(header, err),
      );
    } else {
      this.complete(slot, header, result);
    }
  }

  /** A handler threw: an invalid request closes the connection quietly, anything else is a bug logged as one. */
  private failed(header: RequestHeader, err: unknown): void {
    if (err instanceof InvalidRequestError) {
      this.reject('invalid request', { apiKey: header.apiKey, apiVersion: header.apiVersion, detail: err.message });
      return;
    }
    this.log.error('handler failed', { apiKey: header.apiKey, err: String((err as Error).stack ?? err) });
    this.reject('internal error');
  }

  private respondNow(header: RequestHeader, version: number, body: AnyResponse): void {
    const slot: Slot = { done: false, started: performance.now(), chunks: null, fds: null };
    this.slots.push(slot);
    this.completeAt(slot, header, version, body);
  }

  private complete(slot: Slot, header: RequestHeader, body: AnyResponse | null): void {
    this.completeAt(slot, header, header.apiVersion, body);
  }

  private completeAt(slot: Slot, header: RequestHeader, version: number, body: AnyResponse | null): void {
    if (this.closed) return;
    this.onAnswered?.(header.apiKey, (performance.now() - slot.started) / 1000);
    const codec = codecForKey(header.apiKey);
    if (body !== null && codec !== undefined) {
      const vc = codec.at(version);
      const w = new Writer(512);
      w.int32(0); // size, patched below
      writeResponseHeader(w, header.correlationId, responseHeaderFlexible(header.apiKey, vc.flexible));
      vc.encodeResponse(w, body);
      const total = w.size - 4;
      const chunks = w.chunks();
      (chunks[0] as Buffer).writeInt32BE(total, 0);
      slot.chunks = chunks;
      const fds: number[] = [];
      for (const c of chunks) if (!Buffer.isBuffer(c)) fds.push(c.fd);
      if (fds.length > 0) {
        pinFiles(fds);
        slot.fds = fds;
      }
    }
    slot.done = true;
    this.pump();
  }

  private pump(): void {
    while (!this.closed && !this.sending && this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      this.lastActivity = Date.now();
      if (this.readPaused && !this.draining) this.unhold();
      const chunks = slot.chunks;
      if (chunks === null) continue;
      if (chunks.every((c): c is Buffer => Buffer.isBuffer(c))) {
        for (const c of chunks) this.write(c);
        continue;
      }
      if (!this.useSendfile || this.fd < 0) {
        this.writeByCopy(slot, chunks);
        continue;
      }
      this.sending = true;
      this.awaitingFlush = slot;
      this.whenFlushed(() => {
        // close() has released the slot already.
        if (this.closed) return;
        this.awaitingFlush = null;
        native.sendChunks(this.fd, chunks, SEND_TIMEOUT_MS).then(
          () => {
            release(slot);
            this.sending = false;
            this.pump();
            this.notifyIdle();
          },
          (err: unknown) => {
            // Out of descriptors, sendChunks fails while duplicating them, before it writes a
            // byte: the response can still go out through Node, copied.
            const errno = native.errnoOf(err);
            if (!this.closed && (errno === 'EMFILE' || errno === 'ENFILE')) {
              this.log.warn('sending fetch response by copy', { peer: this.peer, err: String(err) });
              this.writeByCopy(slot, chunks);
              this.sending = false;
              this.pump();
              this.notifyIdle();
              return;
            }
            release(slot);
            this.reject('send failed', { err: String(err) });
          },
        );
      });
      return;
    }
  }

  /** The response through Node's writes, its file regions read into memory first. */
  private writeByCopy(slot: Slot, chunks: readonly Chunk[]): void {
    for (const c of chunks) this.write(Buffer.isBuffer(c) ? c : readRegion(c));
    release(slot);
  }

  private write(b: Buffer): void {
    this.unflushedWrites++;
    this.socket.write(b, () => {
      this.unflushedWrites--;
      if (this.unflushedWrites === 0 && this.flushWaiter !== null) {
        const f = this.flushWaiter;
        this.flushWaiter = null;
        f();
      }
      this.notifyIdle();
    });
  }

  /** Runs fn once every byte Node queued on the socket has been handed to the kernel. */
  private whenFlushed(fn: () => void): void {
    if (this.unflushedWrites === 0) fn();
    else this.flushWaiter = fn;
  }
}

/** Unpins a response's files, once (file-pins.ts). */
function release(slot: Slot): void {
  if (slot.fds === null) return;
  unpinFiles(slot.fds);
  slot.fds = null;
}

/** The copy path for sockets without a visible descriptor: read the region into memory. */
function readRegion(r: { fd: number; position: number; length: number }): Buffer {
  const b = Buffer.allocUnsafe(r.length);
  let at = 0;
  while (at < r.length) {
    const n = readSync(r.fd, b, at, r.length - at, r.position + at);
    if (n <= 0) break;
    at += n;
  }
  return b;
}

/** The descriptor behind a socket, or -1 where Node does not show one. */
function descriptorOf(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}

/**
 * A Socket on a duplicate of `accepted`'s descriptor that reads with `onread`, with `accepted`
 * closed; otherwise (`accepted` untouched) why not: no descriptor to see, or the duplication's
 * error (EMFILE when the process is out of descriptors).
 */
function adopt(accepted: Socket, onread: { buffer: () => Buffer; callback: (n: number) => boolean }): Socket | { error?: string } {
  const fd = descriptorOf(accepted);
  if (fd < 0) return {};
  let dup: number;
  try {
    dup = native.dupDescriptor(fd);
  } catch (e) {
    return { error: String(e) };
  }
  // `onread` is documented for net.Socket (Node >= 12) but missing from @types/node's options type.
  const options: SocketConstructorOpts & { onread: typeof onread } = { fd: dup, readable: true, writable: true, onread };
  const socket = new NetSocket(options);
  accepted.destroy();
  return socket;
}
