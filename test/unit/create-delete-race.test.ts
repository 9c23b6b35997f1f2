/**
 * A topic deleted while its partitions are being made: whatever step the creation is at (before
 * the first partition's files, between partitions, after the last one, between open slices, just
 * before the logs are registered), nothing of it stays behind: no directory, no open log, no
 * descriptor, and the name can be used again at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Broker } from '../../src/broker.js';
import { BrokerConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { LogManager, type CreationStop } from '../../src/storage/log-manager.js';
import type { LogConfig } from '../../src/storage/log.js';
import { testLogConfig } from '../helpers/log-config.js';

const PARTITIONS = 12;

const config: LogConfig = testLogConfig({ segmentMs: Infinity, flushMessages: Infinity, flushMs: Infinity });

function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function partitionDirs(dir: string, topic: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.startsWith(`${topic}-`));
}

test('LogManager.createLogs: a deletion seen at any step leaves nothing behind', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-create-race-'));
  try {
    const logs = new LogManager(dir, () => undefined);
    // How many times a creation that is never stopped asks; an open slice of 0 ms yields after
    // every partition, so the open phase is asked as often as the files phase.
    let asks = 0;
    const counted = await logs.createLogs(
      'probe',
      0,
      PARTITIONS,
      config,
      [],
      () => {
        asks++;
        return null;
      },
      0,
    );
    assert.equal(counted, 'created');
    assert.ok(asks >= 2 * PARTITIONS, `a creation asks before each step (${asks} times)`);
    for (let p = 0; p < PARTITIONS; p++) logs.drop('probe', p);
    await logs.removalsDone();

    // Stopped at each ask in turn, with open slices of 0 ms (a yield after every open) and of a
    // minute (no yield at all). The default 10 ms lies between the two, and how often it yields
    // depends on the machine's speed: with it the number of asks would not be the same twice.
    for (const sliceMs of [0, 60_000]) {
      let asksHere = 0;
      const countAsks = (): CreationStop => {
        asksHere++;
        return null;
      };
      assert.equal(await logs.createLogs('count', 0, PARTITIONS, config, [], countAsks, sliceMs), 'created');
      for (let p = 0; p < PARTITIONS; p++) logs.drop('count', p);
      await logs.removalsDone();
      for (let k = 1; k <= asksHere; k++) {
        const topic = `race${sliceMs}-${k}`;
        const before = openDescriptors();
        let n = 0;
        const stop = (): CreationStop => (++n >= k ? 'delete' : null);
        const r = await logs.createLogs(topic, 0, PARTITIONS, config, [], stop, sliceMs);
        assert.equal(r, 'delete', `stopped at ask ${k} of ${asksHere} (slice ${sliceMs} ms)`);
        assert.deepEqual(partitionDirs(dir, topic), [], `no directory left after a stop at ask ${k}`);
        for (let p = 0; p < PARTITIONS; p++) assert.equal(logs.get(topic, p), undefined, `no log registered (ask ${k})`);
        assert.equal(openDescriptors(), before, `no descriptor left open (ask ${k})`);
      }
    }

    // The deletion comes once every partition's files exist: after the last one, before any open.
    const before = openDescriptors();
    const complete = (topic: string): boolean =>
      partitionDirs(dir, topic).length === PARTITIONS &&
      partitionDirs(dir, topic).every((d) => fs.existsSync(path.join(dir, d, '00000000000000000000.log')));
    const late = await logs.createLogs('late', 0, PARTITIONS, config, [], () => (complete('late') ? 'delete' : null));
    assert.equal(late, 'delete', "a deletion after the last partition's files is seen");
    assert.deepEqual(partitionDirs(dir, 'late'), []);
    assert.equal(openDescriptors(), before);

    // A creation that is not stopped still works afterwards.
    assert.equal(await logs.createLogs('race1', 0, 2, config, [], () => null, 0), 'created');
    await logs.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('CreateTopics racing DeleteTopics of the same name, at every tick of the creation', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-create-race-'));
  const b = new Broker(BrokerConfig.from({ sets: [`log.dirs=${dir}`, 'auto.create.topics.enable=false'] }), silentLogger);
  try {
    // When the DeleteTopics comes: after some event-loop turns, once the first partition's
    // directory exists (between partitions), or once every partition's files exist (after the last).
    const complete = (name: string): boolean =>
      partitionDirs(dir, name).length === PARTITIONS &&
      partitionDirs(dir, name).every((d) => fs.existsSync(path.join(dir, d, '00000000000000000000.log')));
    const moments: Array<[string, (name: string) => boolean]> = [
      ...[0, 1, 2, 4, 8].map((t): [string, (name: string) => boolean] => {
        let turns = 0;
        return [`after ${t} turns`, () => turns++ >= t];
      }),
      ['once a directory exists', (name) => partitionDirs(dir, name).length > 0],
      ['once every partition has its files', complete],
    ];
    for (const [i, [when, due]] of moments.entries()) {
      const name = `churn-${i}`;
      const before = openDescriptors();
      const created = b.topics.createTopicAsync(name, PARTITIONS, 1, {});
      assert.equal(created.errorCode, 0);
      for (let turns = 0; turns < 100_000 && !due(name); turns++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(b.topics.deleteTopic(name), 0, when);
      const outcome = await created.ready!;
      await b.logs.removalsDone();
      assert.ok(outcome.errorCode === 0 || outcome.errorCode === 3, `creation answered ${outcome.errorCode} (${when})`);
      assert.equal(b.topics.get(name), undefined);
      assert.deepEqual(partitionDirs(dir, name), [], `no directory left (${when})`);
      for (let p = 0; p < PARTITIONS; p++) assert.equal(b.topics.partition(name, p), undefined, `no open log (${when})`);
      assert.equal(openDescriptors(), before, `no descriptor left open (${when})`);
      // The name can be used again, and the new topic works.
      const again = b.topics.createTopicAsync(name, 2, 1, {});
      assert.equal(again.errorCode, 0, `the name is free again (${when})`);
      assert.equal((await again.ready!).errorCode, 0);
      assert.ok(b.topics.partition(name, 1) !== undefined);
      assert.equal(b.topics.deleteTopic(name), 0);
      await b.logs.removalsDone();
    }
  } finally {
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
