/**
 * franz.socket.max.segment.bytes caps the TCP segment size of the connections the broker
 * accepts (off by default). On loopback the kernel's own MSS is about 64 KiB, as large as the
 * Java consumer's whole receive window, and Fetch responses then move in delayed-ACK steps
 * (Broker.capSegmentSize says more).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import * as native from '../src/native/index.js';
import { removeDir, startBroker, tempDir, type RunningBroker } from './helpers/broker.js';

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
      assert.throws(() => native.setListenerMaxSegment(fd, 16384), (e: Error & { code?: string }) => e.code === 'ENOTSOCK');
      assert.throws(() => native.maxSegment(fd), (e: Error & { code?: string }) => e.code === 'ENOTSOCK');
    } finally {
      closeSync(fd);
      removeDir(dir);
    }
    assert.throws(() => native.setListenerMaxSegment(-1, 16384), (e: Error & { code?: string }) => e.code === 'EINVAL');
    assert.throws(() => native.setListenerMaxSegment(fd, 0), (e: Error & { code?: string }) => e.code === 'EINVAL');
  });
});
