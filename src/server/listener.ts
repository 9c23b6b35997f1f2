/**
 * The Kafka listener: one TCP server whose accepted sockets become Connections, and the tuning of
 * the sockets it accepts (segment size, send and receive buffers), set once on the listening socket
 * so every accepted connection inherits it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger.js';
import * as native from '../native/index.js';
import { Connection, type ConnectionOptions } from './connection.js';

/** Kafka's connection limits, and franz's bound on a slowly sent request. */
export interface ConnectionLimits {
  /** max.connections: more are closed as soon as they are accepted. */
  readonly maxConnections: number;
  /** max.connections.per.ip, and its per-address overrides (max.connections.per.ip.overrides). */
  readonly maxPerIp: number;
  readonly perIpOverrides: ReadonlyMap<string, number>;
  /** connections.max.idle.ms (-1: never). */
  readonly idleMs: number;
  /** franz.request.read.timeout.ms. */
  readonly readTimeoutMs: number;
}

export interface SocketTuning {
  /** franz.socket.max.segment.bytes: cap on the TCP segment size (0: the kernel's choice). */
  readonly maxSegmentBytes: number;
  /** socket.send.buffer.bytes (-1: the OS default, autotuned). */
  readonly sendBufferBytes: number;
  /** socket.receive.buffer.bytes (-1: the OS default, autotuned). */
  readonly receiveBufferBytes: number;
}

export class KafkaListener {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  /** Open connections by remote address (max.connections.per.ip). */
  private readonly perIp = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Connections refused by a limit since the last warning about it (logged at most every 10 s). */
  private refused = 0;
  private lastRefusalLog = 0;
  /** The port listened on (the one the OS chose when asked for 0). */
  port = 0;

  constructor(
    private readonly options: Omit<ConnectionOptions, 'onClosed'>,
    private readonly tuning: SocketTuning,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
  ) {}

  /** Sockets accepted while the broker is not ready to serve (hold()), still paused. */
  private held: Socket[] | null = null;

  /** Until release(), accepted connections wait unread (a cluster broker joining its cluster). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const s of held) if (!s.destroyed) this.accept(s);
  }

  async start(host: string, port: number): Promise<void> {
    // Paused on accept: Connection moves the socket to one that reads into request buffers.
    const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => ok());
    });
    this.capSegmentSize(this.tuning.maxSegmentBytes);
    this.setBufferSize(true, this.tuning.sendBufferBytes);
    this.setBufferSize(false, this.tuning.receiveBufferBytes);
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : port;
    // Idle connections and requests that never finish arriving are found by a sweep; a timer per
    // connection would cost as much at thousands of connections for no better precision.
    const every = Math.max(10, Math.min(1000, this.limits.readTimeoutMs / 4, this.limits.idleMs >= 0 ? this.limits.idleMs / 4 : 1000));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  /**
   * Takes an accepted socket, or closes it at once when it would exceed max.connections or its
   * address's limit (Kafka closes a connection over the per-address limit the same way; over
   * max.connections Kafka leaves new connections waiting in the accept backlog instead).
   */
  private accept(socket: Socket): void {
    if (this.held !== null) {
      this.held.push(socket);
      return;
    }
    // An IPv4 client of a listener on every interface shows as ::ffff:a.b.c.d; the limits name a.b.c.d.
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const fromHere = this.perIp.get(address) ?? 0;
    const perIpLimit = this.limits.perIpOverrides.get(address) ?? this.limits.maxPerIp;
    if (this.connections.size >= this.limits.maxConnections || fromHere >= perIpLimit) {
      socket.destroy();
      this.noteRefusal(address, this.connections.size >= this.limits.maxConnections ? 'max.connections' : 'max.connections.per.ip');
      return;
    }
    this.perIp.set(address, fromHere + 1);
    const c: Connection = new Connection(socket, {
      ...this.options,
      onClosed: () => {
        this.connections.delete(c);
        const n = (this.perIp.get(address) ?? 1) - 1;
        if (n <= 0) this.perIp.delete(address);
        else this.perIp.set(address, n);
      },
    });
    this.connections.add(c);
  }

  private noteRefusal(address: string, limit: string): void {
    this.refused++;
    const now = Date.now();
    if (now - this.lastRefusalLog < 10_000) return;
    this.log.warn('refusing connections over a limit', { limit, address, refused: this.refused });
    this.refused = 0;
    this.lastRefusalLog = now;
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections) {
      const reason = c.overdue(now, this.limits.idleMs, this.limits.readTimeoutMs);
      if (reason !== null) c.expire(reason);
    }
  }

  /**
   * Stops accepting and lets the requests already received be answered (a produce waiting for its
   * fsync included) for at most `graceMs`; then drops every connection.
   */
  async stop(graceMs: number): Promise<void> {
    const server = this.server;
    this.server = null;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (server === null) return;
    server.close();
    const drained = Promise.all([...this.connections].map((c) => c.drain()));
    const grace = new Promise<void>((ok) => setTimeout(ok, graceMs).unref());
    await Promise.race([drained, grace]);
    for (const c of this.connections) c.destroy();
  }

  /**
   * Caps the TCP segment size of accepted connections (off by default). On loopback the kernel's
   * segments are 64 KiB, as large as a small client receive window, and a response then moves in
   * delayed-ACK steps; smaller segments remove the steps at some CPU per byte, so it is the
   * operator's choice (docs/perf/loopback-mss.md). Linux takes 88 to 32 767.
   */
  private capSegmentSize(bytes: number): void {
    if (bytes <= 0) return;
    const fd = this.listenerFd();
    if (fd === null) return;
    try {
      native.setListenerMaxSegment(fd, bytes);
    } catch (e) {
      this.log.warn('could not cap the TCP segment size of accepted connections', { bytes, error: String(e) });
    }
  }

  /**
   * Fixes the kernel send or receive buffer of accepted connections (-1 leaves the OS default,
   * which Linux autotunes). franz's send default is 256 KiB: an autotuned buffer lets the sendfile
   * thread run far ahead of a slow consumer, and one too small for two TCP segments stalls on the
   * peer's delayed ACK (docs/perf/socket-buffers.md has the measurements).
   */
  private setBufferSize(send: boolean, bytes: number): void {
    if (bytes <= 0) return;
    const fd = this.listenerFd();
    if (fd === null) return;
    try {
      native.setSocketBufferSize(fd, send, bytes);
    } catch (e) {
      this.log.warn(`could not set the ${send ? 'send' : 'receive'} buffer size of accepted connections`, { bytes, error: String(e) });
    }
  }

  /** The listening socket's descriptor (null before listen, or if Node hides it). */
  private listenerFd(): number | null {
    const fd = (this.server as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : null;
  }
}
