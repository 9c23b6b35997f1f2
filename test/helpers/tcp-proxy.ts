/**
 * A TCP proxy a test controls, to cut a process off the network: `cut()` drops every connection
 * through it and refuses new ones until `heal()`. Put it between a broker and etcd, or in front
 * of a broker's advertised address, to partition that broker from the others.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | null = null;
  private readonly open = new Set<Socket>();
  private isCut = false;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((client) => {
      if (this.isCut) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((ok) => this.server!.listen(port, '127.0.0.1', ok));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.isCut = true;
    for (const s of this.open) s.destroy();
  }

  heal(): void {
    this.isCut = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((ok) => this.server?.close(() => ok()) ?? ok());
  }
}
