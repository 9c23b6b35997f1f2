/**
 * Starts a real franz broker process for integration tests and waits for its ready line.
 * Each broker gets its own data directory and a free port; `kill9` simulates a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/bin.cjs (the franz executable), seen from dist/test/helpers. */
export const FRANZ_MAIN = join(here, '..', '..', 'src', 'cli', 'bin.cjs');

export interface RunningBroker {
  readonly port: number;
  readonly address: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** The ready line from stdout, e.g. "... recovery not needed" or "... recovery done". */
  readonly readyLine: string;
  /** Everything the broker wrote to stderr (structured logs). */
  stderr(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
}

export function tempDir(prefix = 'franz-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface StartOptions {
  dataDir?: string;
  port?: number;
  /** A server.properties for --config. */
  config?: string;
  /** false: no --listen, so `listeners` in the config decides (the port is then read from the ready line). */
  listen?: false;
  sets?: string[];
  env?: NodeJS.ProcessEnv;
  /** Runs the broker under `ulimit -n` this low (to test running out of descriptors). */
  maxOpenFiles?: number;
}

/** Starts `franz start` on 127.0.0.1 (port 0 = any free port) and resolves once it is ready. */
export async function startBroker(opts: StartOptions = {}): Promise<RunningBroker> {
  const dataDir = opts.dataDir ?? tempDir();
  const args = [FRANZ_MAIN, 'start', ...(opts.listen === false ? [] : ['--listen', `127.0.0.1:${opts.port ?? 0}`]), '--data-dir', dataDir];
  if (opts.config !== undefined) args.push('--config', opts.config);
  for (const s of opts.sets ?? []) args.push('--set', s);
  const [cmd, argv] =
    opts.maxOpenFiles === undefined
      ? [process.execPath, args]
      : ['/bin/sh', ['-c', `ulimit -n ${opts.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...args]];
  const child = spawn(cmd, argv, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let readyLine = '';
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = / ready on [^ ]+:(\d+) /.exec(line);
      if (m) {
        readyLine = line;
        resolve(Number(m[1]));
      }
    });
    exited.then((code) => reject(new Error(`broker exited (${code}) before ready: ${err}`)));
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    dataDir,
    process: child,
    readyLine,
    stderr: () => err,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
