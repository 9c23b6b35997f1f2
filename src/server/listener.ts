/**
 * The Kafka listener: one TCP server whose accepted sockets become Connections, and the tuning of
 * the sockets it accepts (segment size, send and receive buffers), set once on the listening socket
 * so every accepted connection inherits it.
 */
import { createServer, type Server } from 'node:net';
import type { Logger } from '../logger.js';
import * as native from '../native/index.js';
import { Connection, type ConnectionOptions } from './connection.js';

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
  /** The port listened on (the one the OS chose when asked for 0). */
  port = 0;

  constructor(
    private readonly options: Omit<ConnectionOptions, 'onClosed'>,
    private readonly tuning: SocketTuning,
    private readonly log: Logger,
  ) {}

  async start(host: string, port: number): Promise<void> {
    // Paused on accept: Connection moves the socket to one that reads into request buffers.
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      const c: Connection = new Connection(socket, { ...this.options, onClosed: () => this.connections.delete(c) });
      this.connections.add(c);
    });
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
  }

  /**
   * Stops accepting and lets the requests already received be answered (a produce waiting for its
   * fsync included) for at most `graceMs`; then drops every connection.
   */
  async stop(graceMs: number): Promise<void> {
    const server = this.server;
    this.server = null;
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
