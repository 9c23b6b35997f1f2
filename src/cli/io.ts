/**
 * What the client commands share besides argument parsing: a client for the common options, and
 * output to stdout with backpressure and a quiet exit when the reader goes away (`| head`).
 */
import { Client } from '../client/client.js';
import type { Common } from './args.js';

let stdoutClosed = false;
let watchingStdout = false;

/** Exits quietly, with the exit code so far, when stdout's reader has gone (EPIPE). */
function exitOnClosedStdout(): void {
  if (watchingStdout) return;
  watchingStdout = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      stdoutClosed = true;
      process.exit(process.exitCode ?? 0);
    }
  });
}

/** Writes to stdout, waiting for it to drain when its buffer is full. */
export async function out(text: string | Buffer): Promise<void> {
  if (stdoutClosed || text.length === 0) return;
  if (!process.stdout.write(text)) {
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }
}

export function jsonLine(o: unknown): string {
  return `${JSON.stringify(o)}\n`;
}

/** Rows as left-aligned columns two spaces apart, the first row a header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** A number, or "-" for none (Kafka's tools show unknown offsets and lag so). */
export function dash(n: number | null): string {
  return n === null ? '-' : String(n);
}

/** Runs `fn` with a client of the given brokers, and closes it whatever happens. */
export async function withClient(c: Common, fn: (client: Client) => Promise<void>): Promise<void> {
  exitOnClosedStdout();
  const client = new Client({ brokers: c.brokers, clientId: 'franz-cli' });
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}
