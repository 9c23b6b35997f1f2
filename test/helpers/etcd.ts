/**
 * Starts a real etcd (Debian's etcd-server) on loopback for the cluster tests, with its own data
 * directory, and waits until it reports itself healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { removeDir, tempDir } from './broker.js';

export interface RunningEtcd {
  /** etcd://127.0.0.1:PORT, the form `franz start --cluster` takes (add /NAME for a cluster of its own). */
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** A port nobody listens on now (for a process that must come back on the same one). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

export async function startEtcd(): Promise<RunningEtcd> {
  const dir = tempDir('franz-etcd-');
  const [client, peer] = [await freePort(), await freePort()];
  const child = spawn(
    'etcd',
    [
      '--name',
      'franz-test',
      '--data-dir',
      dir,
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `franz-test=http://127.0.0.1:${peer}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // etcd logs "ready to serve client requests" once it has elected itself and opened the client port.
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (err.includes('ready to serve client requests')) {
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`etcd exited before it was ready: ${err.slice(-2000)}`)));
  });
  return {
    url: `etcd://127.0.0.1:${client}`,
    process: child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      removeDir(dir);
    },
  };
}
