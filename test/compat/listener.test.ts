/**
 * Socket options the broker sets on its listener for the connections it accepts:
 * franz.socket.max.segment.bytes caps the TCP segment size (off by default; on loopback the
 * kernel's own MSS is about 64 KiB, as large as the Java consumer's whole receive window, and
 * Fetch responses then move in delayed-ACK steps: Broker.capSegmentSize says more), and
 * socket.send.buffer.bytes / socket.receive.buffer.bytes fix the kernel buffers
 * (Broker.setBufferSize).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as native from '../../src/native/index.js';
import { removeDir, startBroker, tempDir, type RunningBroker } from '../helpers/broker.js';
import { startInProcessBroker } from '../helpers/in-process.js';
import type { Broker } from '../../src/broker.js';

const brokers: RunningBroker[] = [];
after(async () => {
  for (const b of brokers) {
    await b.stop();
    removeDir(b.dataDir);
  }
});

/** The MSS a client connected to `port` sends with. */
async function clientSegmentSize(port: number): Promise<number> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  try {
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    return native.maxSegment(fd);
  } finally {
    socket.destroy();
  }
}

describe('TCP segment size of accepted connections', () => {
  // Linux also bounds a connection's MSS by half the largest window its peer has offered (about
  // 32 KiB on a fresh loopback connection), so "the kernel's choice" shows as more than 16 KiB.
  test("is the kernel's choice by default", async () => {
    const b = await startBroker();
    brokers.push(b);
    const mss = await clientSegmentSize(b.port);
    assert.ok(mss > 16384, `client MSS ${mss}`);
  });

  for (const cap of [16384, 4096]) {
    test(`is at most ${cap} with franz.socket.max.segment.bytes=${cap}, in both directions`, async () => {
      const b = await startBroker({ sets: [`franz.socket.max.segment.bytes=${cap}`] });
      brokers.push(b);
      // The client's side learns the cap from the MSS the broker advertised in its SYN-ACK.
      const mss = await clientSegmentSize(b.port);
      assert.ok(mss > 0 && mss <= cap, `client MSS ${mss}`);
    });
  }

  test('a value Linux refuses leaves the kernel its choice and says so in the log', async () => {
    const b = await startBroker({ sets: ['franz.socket.max.segment.bytes=65536'] });
    brokers.push(b);
    assert.ok((await clientSegmentSize(b.port)) > 16384);
    assert.match(b.stderr(), /could not cap the TCP segment size/);
  });

  test('bad descriptors and sizes throw with an errno, never crash', () => {
    const dir = tempDir();
    const fd = openSync(join(dir, 'not-a-socket'), 'w');
    try {
      assert.throws(
        () => native.setListenerMaxSegment(fd, 16384),
        (e: Error & { code?: string }) => e.code === 'ENOTSOCK',
      );
      assert.throws(
        () => native.maxSegment(fd),
        (e: Error & { code?: string }) => e.code === 'ENOTSOCK',
      );
    } finally {
      closeSync(fd);
      removeDir(dir);
    }
    assert.throws(
      () => native.setListenerMaxSegment(-1, 16384),
      (e: Error & { code?: string }) => e.code === 'EINVAL',
    );
    assert.throws(
      () => native.setListenerMaxSegment(fd, 0),
      (e: Error & { code?: string }) => e.code === 'EINVAL',
    );
  });
});

/** Connects a client to `server` and returns the descriptor `fdOf` finds once the server has accepted it. */
async function acceptedFd(server: Server, port: number, fdOf: () => number): Promise<{ fd: number; close(): void }> {
  // Listeners run in the order they were added, so by the time this one runs the broker's own
  // connection listener has made its Connection.
  const accepted = new Promise<void>((resolve) => server.once('connection', () => resolve()));
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  await accepted;
  return { fd: fdOf(), close: () => client.destroy() };
}

/** The descriptor of the broker's newest Connection (a test looks inside the in-process broker). */
async function brokerConnectionFd(b: Broker): Promise<{ fd: number; close(): void }> {
  const inside = (b as unknown as { listenerSocket: { server: Server; connections: Set<{ fd: number }> } }).listenerSocket;
  return acceptedFd(inside.server, b.port, () => [...inside.connections].at(-1)!.fd);
}

/** SO_SNDBUF and SO_RCVBUF of a socket that a plain Node server accepted: the OS defaults, autotuned. */
async function plainAcceptedBuffers(): Promise<{ send: number; receive: number }> {
  let fd = -1;
  const server = createServer((s) => {
    fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const c = await acceptedFd(server, port, () => fd);
  try {
    return { send: native.socketBufferSize(c.fd, true), receive: native.socketBufferSize(c.fd, false) };
  } finally {
    c.close();
    server.close();
  }
}

describe('kernel buffers of accepted connections', () => {
  const dirs: string[] = [];
  const running: Broker[] = [];
  after(async () => {
    for (const b of running) await b.stop();
    for (const d of dirs) removeDir(d);
  });
  async function broker(sets: string[] = []): Promise<Broker> {
    const dir = tempDir();
    dirs.push(dir);
    const b = await startInProcessBroker(dir, sets);
    running.push(b);
    return b;
  }
  async function buffers(b: Broker): Promise<{ send: number; receive: number }> {
    const c = await brokerConnectionFd(b);
    try {
      return { send: native.socketBufferSize(c.fd, true), receive: native.socketBufferSize(c.fd, false) };
    } finally {
      c.close();
    }
  }

  test('by default: a fixed 256 KiB send buffer, and the OS default receive buffer', async () => {
    const got = await buffers(await broker());
    // Linux reports twice the value set (the other half is its bookkeeping allowance).
    assert.equal(got.send, 2 * 262144);
    const [, rmemDefault] = readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(got.receive, rmemDefault, 'receive buffer left to the kernel');
  });

  test('socket.send.buffer.bytes and socket.receive.buffer.bytes set them', async () => {
    const got = await buffers(await broker(['socket.send.buffer.bytes=65536', 'socket.receive.buffer.bytes=131072']));
    assert.deepEqual(got, { send: 2 * 65536, receive: 2 * 131072 });
  });

  test('-1 leaves both to the kernel, as on a socket any Node server accepts', async () => {
    const got = await buffers(await broker(['socket.send.buffer.bytes=-1', 'socket.receive.buffer.bytes=-1']));
    assert.deepEqual(got, await plainAcceptedBuffers());
    assert.notEqual(got.send, 2 * 262144);
  });

  test('bad descriptors and sizes throw with an errno, never crash', () => {
    const dir = tempDir();
    const fd = openSync(join(dir, 'not-a-socket'), 'w');
    try {
      assert.throws(
        () => native.setSocketBufferSize(fd, true, 65536),
        (e: Error & { code?: string }) => e.code === 'ENOTSOCK',
      );
      assert.throws(
        () => native.socketBufferSize(fd, false),
        (e: Error & { code?: string }) => e.code === 'ENOTSOCK',
      );
      assert.throws(
        () => native.setSocketBufferSize(fd, true, 0),
        (e: Error & { code?: string }) => e.code === 'EINVAL',
      );
      assert.throws(
        () => native.setSocketBufferSize(-1, false, 65536),
        (e: Error & { code?: string }) => e.code === 'EINVAL',
      );
    } finally {
      closeSync(fd);
      removeDir(dir);
    }
  });
});
