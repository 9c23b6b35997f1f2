/**
 * Captures golden request frames from real clients (kafkajs, kcat/librdkafka, the Java client) for
 * test/golden.test.ts. Not part of `npm test`: run it by hand after `npm run build` when a client or
 * an API version changes, and commit the resulting test/golden/*.json.
 *
 *   node dist/test/tools/capture-golden.js
 *
 * It starts a broker, puts a recording TCP proxy in front of it (the proxy advertises itself, so
 * every connection goes through it), drives each client through produce, consume and admin calls,
 * and keeps up to two frames per (client, API, version). Record batches inside the frames are kept
 * as sent: the golden test decodes and re-encodes frames, it never recompresses anything.
 */
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, CompressionTypes, logLevel } from 'kafkajs';
import { startBroker, removeDir } from '../helpers/broker.js';
import { run } from '../helpers/run.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const outDir = join(repo, 'test', 'golden');

interface Frame {
  apiKey: number;
  apiVersion: number;
  hex: string;
}

let current = 'none';
const captured = new Map<string, Frame[]>();

function record(frame: Buffer): void {
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const list = captured.get(current) ?? [];
  if (list.filter((f) => f.apiKey === apiKey && f.apiVersion === apiVersion).length < 2) {
    list.push({ apiKey, apiVersion, hex: frame.toString('hex') });
  }
  captured.set(current, list);
}

/** Forwards bytes both ways and records each client-to-broker frame. */
function proxy(client: Socket, brokerPort: number): void {
  const upstream = connect(brokerPort, '127.0.0.1');
  let pending = Buffer.alloc(0);
  client.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      record(pending.subarray(4, 4 + size));
      pending = pending.subarray(4 + size);
    }
    upstream.write(d);
  });
  upstream.on('data', (d: Buffer) => client.write(d));
  const end = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('close', end);
  upstream.on('close', end);
  client.on('error', end);
  upstream.on('error', end);
}

async function main(): Promise<void> {
  const server = createServer((s) => proxy(s, brokerPort));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const proxyPort = (server.address() as { port: number }).port;
  const broker = await startBroker({ sets: [`advertised.listeners=PLAINTEXT://127.0.0.1:${proxyPort}`] });
  const brokerPort = broker.port;
  const bootstrap = `127.0.0.1:${proxyPort}`;
  try {
    current = 'kafkajs';
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    const kafka = new Kafka({ brokers: [bootstrap], clientId: 'golden', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'golden-kjs', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    });
    await admin.describeConfigs({ resources: [{ type: 2, name: 'golden-kjs' }], includeSynonyms: false });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: 'golden-kjs',
      compression: CompressionTypes.GZIP,
      messages: [{ key: 'k', value: 'v', headers: { h: '1' } }],
    });
    await producer.send({ topic: 'golden-kjs', messages: [{ key: 'k2', value: 'v2' }] });
    await producer.disconnect();
    await admin.fetchTopicOffsets('golden-kjs');
    await admin.fetchTopicOffsetsByTimestamp('golden-kjs', Date.now() - 1000);
    await admin.deleteTopics({ topics: ['golden-kjs'] });
    await admin.disconnect();

    current = 'kcat';
    await run('kcat', ['-b', bootstrap, '-L']);
    await run('kcat', ['-b', bootstrap, '-P', '-t', 'golden-kcat', '-z', 'lz4', '-K', ':'], { input: 'a:1\nb:2\n' });
    await run('kcat', ['-b', bootstrap, '-C', '-t', 'golden-kcat', '-o', 'beginning', '-e', '-q']);
    await run('kcat', ['-b', bootstrap, '-Q', '-t', `golden-kcat:0:${Date.now() - 60_000}`]);

    current = 'java';
    const java = ['-cp', join(repo, 'test', 'java', 'lib', '*'), join(repo, 'test', 'java', 'FranzCheck.java')];
    await run('java', [...java, 'admin', bootstrap, 'golden-java'], { timeoutMs: 60_000 });
    await run('java', [...java, 'produce', bootstrap, 'golden-java', '5'], { timeoutMs: 60_000 });
    await run('java', [...java, 'consume', bootstrap, 'golden-java', '5'], { timeoutMs: 60_000 });
  } finally {
    await broker.stop();
    removeDir(broker.dataDir);
    server.close();
  }
  mkdirSync(outDir, { recursive: true });
  for (const [client, frames] of captured) {
    if (client === 'none') continue;
    frames.sort((a, b) => a.apiKey - b.apiKey || a.apiVersion - b.apiVersion);
    writeFileSync(join(outDir, `${client}.json`), JSON.stringify({ client, frames }, null, 1) + '\n');
    process.stdout.write(
      `${client}: ${frames.length} frames, APIs ${[...new Set(frames.map((f) => `${f.apiKey}v${f.apiVersion}`))].join(' ')}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`capture failed: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
