/**
 * Broker configuration values are checked against their key's type at start-up, as Kafka checks
 * them: a value that does not parse stops the broker with Kafka's wording instead of becoming NaN
 * somewhere inside it. Topic config values keep their own checks (CreateTopics, AlterConfigs).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerConfig, brokerConfigError, validateTopicConfigs } from '../../src/config.js';
import { ConfigType, configType } from '../../src/handlers/config-resources.js';
import { chooseListener, parseListeners, splitHostPort } from '../../src/cli/listeners.js';
import { FRANZ_MAIN, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { run, runOk } from '../helpers/run.js';
import { createServer } from 'node:net';

describe('broker config values', () => {
  test('numbers must be integers of the key type (INT, SHORT, LONG)', () => {
    assert.equal(
      brokerConfigError('log.segment.bytes', '1g'),
      'Invalid value 1g for configuration log.segment.bytes: Not a number of type INT',
    );
    assert.match(brokerConfigError('log.segment.bytes', '2147483648')!, /Not a number of type INT/);
    assert.match(brokerConfigError('message.max.bytes', '1.5')!, /Not a number of type INT/);
    assert.match(brokerConfigError('num.partitions', '')!, /Not a number of type INT/);
    assert.match(brokerConfigError('offsets.topic.replication.factor', '40000')!, /Not a number of type SHORT/);
    assert.match(brokerConfigError('log.retention.ms', '9223372036854775808')!, /Not a number of type LONG/);
    assert.equal(brokerConfigError('log.segment.bytes', '2147483647'), null);
    assert.equal(brokerConfigError('log.segment.bytes', ' 1048576 '), null, 'surrounding spaces are trimmed, as Kafka does');
    assert.equal(brokerConfigError('log.retention.ms', '9223372036854775807'), null);
    assert.equal(brokerConfigError('socket.send.buffer.bytes', '-1'), null);
  });

  test('booleans are true or false, in any case', () => {
    assert.equal(
      brokerConfigError('auto.create.topics.enable', 'yes'),
      'Invalid value yes for configuration auto.create.topics.enable: Expected value to be either true or false',
    );
    assert.equal(brokerConfigError('franz.fsync', 'FALSE'), null);
  });

  test('keys that give a topic default take only what the topic key takes', () => {
    assert.equal(
      brokerConfigError('log.cleanup.policy', 'shred'),
      'Invalid value shred for configuration log.cleanup.policy: String must be one of: delete, compact',
    );
    assert.match(
      brokerConfigError('compression.type', 'brotli')!,
      /String must be one of: uncompressed, none, zstd, lz4, snappy, gzip, producer$/,
    );
    assert.match(brokerConfigError('log.message.timestamp.type', 'Now')!, /String must be one of: CreateTime, LogAppendTime/);
    assert.equal(brokerConfigError('log.cleanup.policy', 'compact, delete'), null);
    assert.equal(brokerConfigError('listeners', 'PLAINTEXT://0.0.0.0:9092'), null, 'strings are not checked here');
  });

  test('BrokerConfig.from names every bad key, whichever source gave it', () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'server.properties');
      writeFileSync(file, 'log.segment.bytes=1g\nnum.partitions=3\n');
      assert.throws(
        () => BrokerConfig.from({ file, env: { FRANZ_FRANZ_FSYNC: 'maybe' }, sets: ['socket.send.buffer.bytes=lots'] }),
        (e: Error) =>
          ['log.segment.bytes', 'franz.fsync', 'socket.send.buffer.bytes'].every((k) => e.message.includes(`for configuration ${k}:`)),
      );
      writeFileSync(file, 'log.segment.bytes=1048576\nnum.partitions=3\n');
      const good = BrokerConfig.from({ file, env: { FRANZ_FRANZ_FSYNC: 'FALSE' } });
      assert.equal(good.num('num.partitions'), 3);
      assert.equal(good.durable, false);
    } finally {
      removeDir(dir);
    }
  });

  test("ranges are Kafka's (KafkaConfig and LogConfig validators, Kafka 4.1)", () => {
    assert.equal(
      brokerConfigError('log.segment.bytes', '1000'),
      'Invalid value 1000 for configuration log.segment.bytes: Value must be at least 1048576',
    );
    assert.match(brokerConfigError('num.partitions', '0')!, /Value must be at least 1$/);
    assert.match(brokerConfigError('log.retention.ms', '-2')!, /Value must be at least -1$/, 'through its topic key retention.ms');
    assert.equal(brokerConfigError('log.retention.ms', '-1'), null);
    assert.equal(brokerConfigError('offsets.topic.segment.bytes', '8192'), null);
  });

  test('a topic config value gets the same kind of check, with the reason', () => {
    const why = (k: string, v: string): string | null => validateTopicConfigs({ [k]: v });
    assert.equal(
      why('cleanup.policy', 'shred'),
      'Invalid value shred for configuration cleanup.policy: String must be one of: delete, compact',
    );
    assert.equal(why('retention.ms', 'soon'), 'Invalid value soon for configuration retention.ms: Not a number of type LONG');
    assert.equal(why('segment.bytes', '0'), 'Invalid value 0 for configuration segment.bytes: Value must be at least 1048576');
    assert.equal(why('segment.bytes', '1.5'), 'Invalid value 1.5 for configuration segment.bytes: Not a number of type INT');
    assert.equal(why('max.message.bytes', '-1'), 'Invalid value -1 for configuration max.message.bytes: Value must be at least 0');
    assert.equal(
      why('min.cleanable.dirty.ratio', '7'),
      'Invalid value 7 for configuration min.cleanable.dirty.ratio: Value must be no more than 1',
    );
    assert.equal(
      why('min.cleanable.dirty.ratio', 'half'),
      'Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE',
    );
    assert.equal(why('min.cleanable.dirty.ratio', '0.25'), null);
    assert.equal(why('flush.messages', '0'), 'Invalid value 0 for configuration flush.messages: Value must be at least 1');
    assert.equal(why('retention.bytes', '-7'), null, 'retention.bytes has no range in Kafka');
    assert.equal(validateTopicConfigs({ 'retention.ms': '60000', 'cleanup.policy': 'compact,delete' }), null);
  });

  test('DescribeConfigs types come from the same key tables', () => {
    assert.equal(configType('socket.send.buffer.bytes'), ConfigType.INT);
    assert.equal(configType('offsets.topic.replication.factor'), ConfigType.SHORT);
    assert.equal(configType('log.retention.ms'), ConfigType.LONG);
    assert.equal(configType('min.cleanable.dirty.ratio'), ConfigType.DOUBLE);
    assert.equal(configType('group.consumer.assignors'), ConfigType.LIST);
    assert.equal(configType('auto.create.topics.enable'), ConfigType.BOOLEAN);
    assert.equal(configType('no.such.key'), ConfigType.UNKNOWN);
  });
});

describe('franz start with a bad config value', () => {
  test("exits 1 with Kafka's message and touches no data directory", async () => {
    const dir = tempDir();
    try {
      const data = join(dir, 'data');
      const r = await run(
        process.execPath,
        [FRANZ_MAIN, 'start', '--listen', '127.0.0.1:0', '--data-dir', data, '--set', 'log.segment.bytes=1g'],
        { timeoutMs: 20_000 },
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^franz: Invalid value 1g for configuration log\.segment\.bytes: Not a number of type INT$/m);
      assert.equal(existsSync(data), false);
    } finally {
      removeDir(dir);
    }
  });
});

describe('listeners', () => {
  test("Kafka's listener forms: names, empty hosts (every interface), IPv6 in brackets", () => {
    assert.deepEqual(parseListeners('PLAINTEXT://:9092, CONTROLLER://:9093', 'listeners'), [
      { name: 'PLAINTEXT', host: '', port: 9092 },
      { name: 'CONTROLLER', host: '', port: 9093 },
    ]);
    assert.deepEqual(parseListeners('INTERNAL://[::1]:19092', 'listeners'), [{ name: 'INTERNAL', host: '::1', port: 19092 }]);
    assert.deepEqual(parseListeners('127.0.0.1:9092', 'listeners'), [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
    assert.deepEqual(splitHostPort(':9092', '--listen'), { host: '', port: 9092 });
    for (const bad of ['PLAINTEXT://localhost', 'PLAINTEXT://host:port', 'host:99999', 'host:']) {
      assert.throws(() => parseListeners(bad, 'listeners'), /listeners expects HOST:PORT/);
    }
  });

  test('the first listener that is not a controller listener serves clients, advertised under its own name', () => {
    const c = chooseListener(
      'CONTROLLER://:9093,PLAINTEXT://:9092,SSL://:9094',
      'PLAINTEXT://broker1:9092,CONTROLLER://broker1:9093',
      'CONTROLLER',
    );
    assert.deepEqual(c.listen, { name: 'PLAINTEXT', host: '', port: 9092 });
    assert.deepEqual(c.advertise, { host: 'broker1', port: 9092 });
    assert.deepEqual(
      c.unused.map((l) => l.name),
      ['SSL'],
    );
    assert.equal(chooseListener('PLAINTEXT://127.0.0.1:9092', '', '').advertise, null);
    assert.throws(() => chooseListener('CONTROLLER://:9093', '', 'CONTROLLER'), /no listener for clients/);
  });

  test('a Kafka combined-mode server.properties starts franz unchanged: every interface, the advertised name', async () => {
    // A port that was free a moment ago (the properties name a fixed one, as Kafka's do).
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const dir = tempDir();
    const file = join(dir, 'server.properties');
    writeFileSync(
      file,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.bootstrap.servers=localhost:${port + 1}`,
        `listeners=PLAINTEXT://:${port},CONTROLLER://:${port + 1}`,
        'inter.broker.listener.name=PLAINTEXT',
        `advertised.listeners=PLAINTEXT://localhost:${port},CONTROLLER://localhost:${port + 1}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        'num.network.threads=3',
        'socket.send.buffer.bytes=102400',
        'socket.request.max.bytes=104857600',
        'num.partitions=1',
        'offsets.topic.replication.factor=1',
        'transaction.state.log.replication.factor=1',
        'log.retention.hours=168',
        'log.segment.bytes=1073741824',
        'log.retention.check.interval.ms=300000',
        '',
      ].join('\n'),
    );
    const b = await startBroker({ dataDir: join(dir, 'data'), config: file, listen: false });
    try {
      assert.equal(b.port, port);
      assert.match(b.readyLine, new RegExp(` ready on \\*:${port} \\(advertised localhost:${port}\\)`));
      // Metadata names the advertised address; the broker answers on IPv4 and IPv6 loopback alike.
      for (const address of [`127.0.0.1:${port}`, `[::1]:${port}`]) {
        const r = await runOk('kcat', ['-L', '-b', address, '-J'], { timeoutMs: 20_000 });
        const md = JSON.parse(r.stdout) as { brokers: Array<{ id: number; name: string }> };
        assert.deepEqual(md.brokers, [{ id: 1, name: `localhost:${port}` }], address);
      }
      assert.doesNotMatch(b.stderr(), /not opening the others/);
    } finally {
      await b.stop();
      removeDir(dir);
    }
  });
});
