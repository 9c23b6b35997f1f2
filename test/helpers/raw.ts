/**
 * A raw socket for sending hand-made (often deliberately broken) frames to a broker and reading
 * what comes back. Real-client compatibility is tested with real clients; this is only for the
 * bad-input tests, where no real client would send such bytes.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { codecForKey } from '../../src/protocol/codecs.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { readResponseHeader, responseHeaderFlexible, writeRequestHeader } from '../../src/protocol/header.js';

/**
 * A message of any API, as hand-made frames and generic codec tests handle it. Production code
 * uses the types computed from each API's description (src/protocol/schema.ts) instead.
 */
export type Message = Record<string, any>;

export class RawConnection {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  private correlation = 1;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Connects to 127.0.0.1:`port`, from `localAddress` when given (another loopback address). */
  static async open(port: number, localAddress?: string): Promise<RawConnection> {
    const s = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) });
    await once(s, 'connect');
    return new RawConnection(s);
  }

  sendBytes(b: Buffer): void {
    this.socket.write(b);
  }

  /** Encodes a request with our codec and sends it framed. Returns the correlation id. */
  send(apiKey: number, version: number, body: Message): number {
    const codec = codecForKey(apiKey)!.at(version);
    const w = new Writer();
    w.int32(0);
    const correlationId = this.correlation++;
    writeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: 'raw-test' }, codec.flexible);
    codec.encodeRequest(w, body);
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    this.sendBytes(frame);
    return correlationId;
  }

  /** Resolves with the next response frame's bytes, or null when the broker closed the connection. */
  async nextFrame(): Promise<Buffer | null> {
    for (;;) {
      if (this.buf.length >= 4) {
        const size = this.buf.readInt32BE(0);
        if (this.buf.length >= 4 + size) {
          const frame = this.buf.subarray(4, 4 + size);
          this.buf = this.buf.subarray(4 + size);
          return frame;
        }
      }
      if (this.closed) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Sends a request and decodes its response. */
  async request(apiKey: number, version: number, body: Message): Promise<Message> {
    const id = this.send(apiKey, version, body);
    const frame = await this.nextFrame();
    if (frame === null) throw new Error('connection closed');
    const codec = codecForKey(apiKey)!.at(version);
    const r = new Reader(frame);
    const got = readResponseHeader(r, responseHeaderFlexible(apiKey, codec.flexible));
    if (got !== id) throw new Error(`correlation ${got} != ${id}`);
    const m = codec.decodeResponse(r);
    if (r.bad) throw new Error('undecodable response');
    return m;
  }

  /** Resolves true once the broker has closed the connection. */
  async waitClosed(): Promise<boolean> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return true;
  }

  close(): void {
    this.socket.destroy();
  }
}
