/**
 * The client connection (src/client/connection.ts) against a scripted fake broker: ApiVersions
 * negotiation (including the KIP-511 UNSUPPORTED_VERSION answer in a v0 body), version picking,
 * correlation of responses that arrive out of order, timeouts, and a broker that hangs up.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { readRequestHeader, skipHeaderTags, writeResponseHeader, responseHeaderFlexible } from '../../src/protocol/header.js';
import { codecForKey } from '../../src/protocol/codecs.js';
import type { Message } from '../helpers/raw.js';
import { spec as metadata } from '../../src/protocol/messages/03-metadata.js';
import { BrokerConnection, ClientError } from '../../src/client/client.js';

interface Req {
  apiKey: number;
  version: number;
  correlationId: number;
  body: Message;
  socket: Socket;
}

/** A fake broker: `onRequest` decides what to answer (or not) for each decoded request. */
async function fakeBroker(
  onRequest: (r: Req, reply: (body: Message, version?: number) => void) => void,
): Promise<{ server: Server; address: string; seen: Req[] }> {
  const seen: Req[] = [];
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const r = new Reader(frame);
        const h = readRequestHeader(r);
        const codec = codecForKey(h.apiKey)!;
        const supported = codec.supports(h.apiVersion);
        const vc = codec.at(supported ? h.apiVersion : 0);
        if (supported && vc.flexible) skipHeaderTags(r);
        const body = supported ? vc.decodeRequest(r) : {};
        const req: Req = { apiKey: h.apiKey, version: h.apiVersion, correlationId: h.correlationId, body, socket };
        seen.push(req);
        onRequest(req, (resBody, version = h.apiVersion) => {
          const rc = codec.at(version);
          const w = new Writer();
          w.int32(0);
          writeResponseHeader(w, h.correlationId, responseHeaderFlexible(h.apiKey, rc.flexible));
          rc.encodeResponse(w, resBody);
          const out = w.toBuffer();
          out.writeInt32BE(out.length - 4, 0);
          socket.write(out);
        });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  servers.push(server);
  return { server, address: `127.0.0.1:${port}`, seen };
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

const metadataBody = { brokers: [], clusterId: 'c', controllerId: 1, topics: [] };

describe('BrokerConnection', () => {
  test('KIP-511: an UNSUPPORTED_VERSION answer in a v0 body makes the client retry lower', async () => {
    const ranges = [
      { apiKey: 18, minVersion: 0, maxVersion: 2 },
      { apiKey: 3, minVersion: 0, maxVersion: 7 },
      { apiKey: 0, minVersion: 13, maxVersion: 14 },
    ];
    const fake = await fakeBroker((r, reply) => {
      if (r.apiKey === 18 && r.version > 2) reply({ errorCode: 35, apiKeys: ranges }, 0);
      else if (r.apiKey === 18) reply({ errorCode: 0, apiKeys: ranges, throttleTimeMs: 0 });
      else if (r.apiKey === 3) reply(metadataBody);
    });
    const c = await BrokerConnection.open(fake.address);
    try {
      assert.deepEqual(
        fake.seen.map((r) => [r.apiKey, r.version]),
        [
          [18, 4],
          [18, 2],
        ],
      );
      assert.equal(c.version(3), 7, 'the highest version both sides know');
      assert.equal(c.version(18), 2);
      assert.throws(
        () => c.version(0),
        (e: unknown) => e instanceof ClientError && e.code === 'FRANZ_UNSUPPORTED_API' && /offers only v13-14: Produce/.test(e.message),
      );
      assert.throws(
        () => c.version(1),
        (e: unknown) => e instanceof ClientError && e.code === 'FRANZ_UNSUPPORTED_API' && /does not support it: Fetch/.test(e.message),
      );
      const md = await c.request(metadata, { topics: null, allowAutoTopicCreation: false });
      assert.equal(md.clusterId, 'c');
      assert.equal(fake.seen[2]!.version, 7);
    } finally {
      c.close();
    }
  });

  test('responses are matched by correlation id, even out of order', async () => {
    const held: Array<() => void> = [];
    const fake = await fakeBroker((r, reply) => {
      if (r.apiKey === 18)
        return reply({
          errorCode: 0,
          apiKeys: [
            { apiKey: 18, minVersion: 0, maxVersion: 4 },
            { apiKey: 3, minVersion: 0, maxVersion: 12 },
          ],
        });
      const name = (r.body.topics as Message[])[0]!.name as string;
      held.push(() => reply({ ...metadataBody, clusterId: name }));
      if (held.length === 2) for (const h of held.reverse()) h();
    });
    const c = await BrokerConnection.open(fake.address);
    try {
      const [a, b] = await Promise.all([
        c.request(metadata, { topics: [{ name: 'first' }] }),
        c.request(metadata, { topics: [{ name: 'second' }] }),
      ]);
      assert.equal(a.clusterId, 'first');
      assert.equal(b.clusterId, 'second');
    } finally {
      c.close();
    }
  });

  test('a request with no answer times out; a broker that hangs up fails what is pending', async () => {
    const fake = await fakeBroker((r, reply) => {
      if (r.apiKey === 18)
        return reply({
          errorCode: 0,
          apiKeys: [
            { apiKey: 18, minVersion: 0, maxVersion: 4 },
            { apiKey: 3, minVersion: 0, maxVersion: 12 },
          ],
        });
      const name = (r.body.topics as Message[])[0]!.name as string;
      if (name === 'hangup') r.socket.destroy();
    });
    const c = await BrokerConnection.open(fake.address, { requestTimeoutMs: 200 });
    await assert.rejects(
      c.request(metadata, { topics: [{ name: 'silence' }] }),
      (e: unknown) => e instanceof ClientError && e.code === 'FRANZ_TIMEOUT' && /Metadata to .* timed out after 200 ms/.test(e.message),
    );
    await assert.rejects(
      c.request(metadata, { topics: [{ name: 'hangup' }] }),
      (e: unknown) => e instanceof ClientError && e.code === 'FRANZ_CLOSED',
    );
    await assert.rejects(c.request(metadata, { topics: null }), (e: unknown) => e instanceof ClientError && e.code === 'FRANZ_CLOSED');
  });

  test('connection refused and bad addresses are FRANZ_CONNECT', async () => {
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    const port = (s.address() as { port: number }).port;
    s.close();
    await once(s, 'close');
    await assert.rejects(
      BrokerConnection.open(`127.0.0.1:${port}`),
      (e: unknown) => e instanceof ClientError && e.code === 'FRANZ_CONNECT' && /connection refused/.test(e.message),
    );
    await assert.rejects(
      BrokerConnection.open('127.0.0.1:notaport'),
      (e: unknown) => e instanceof ClientError && e.code === 'FRANZ_CONNECT' && /bad broker address/.test(e.message),
    );
  });
});
