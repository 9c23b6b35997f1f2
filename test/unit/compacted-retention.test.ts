/**
 * Retention by time and size applies to topics whose cleanup.policy includes `delete` only. A
 * compacted topic keeps its segments until a cleaner compacts them: otherwise a quiet group's only
 * commit in `__consumer_offsets` (compact, with the broker's 7-day retention.ms) would be deleted
 * with its segment and be gone after the next restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Broker } from '../../src/broker.js';
import { BrokerConfig } from '../../src/config.js';
import { OFFSETS_TOPIC } from '../../src/group/group-store.js';
import { silentLogger } from '../../src/logger.js';

function broker(dir: string): Broker {
  const config = BrokerConfig.from({
    sets: [
      `log.dirs=${dir}`,
      'offsets.topic.num.partitions=1',
      // Every commit after the first rolls a segment, so there are closed segments to expire.
      'offsets.topic.segment.bytes=1',
      'log.retention.ms=1',
    ],
  });
  return new Broker(config, silentLogger);
}

test('retention leaves the segments of __consumer_offsets (compact) alone, and the commits survive a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-compact-retention-'));
  try {
    const first = broker(dir);
    // Two commits, two segments (the store's own compaction stays out of it: the log is no larger
    // than four times its live set).
    for (const [group, offset] of [
      ['quiet', 5],
      ['busy', 3],
    ] as const) {
      const codes = await first.groups.commit(group, [{ topic: 't', partition: 0, offset, leaderEpoch: -1, metadata: null }]);
      assert.deepEqual(codes, [0]);
    }
    const log = first.topics.partition(OFFSETS_TOPIC, 0);
    assert.ok(log !== undefined);
    assert.equal(log.config.deleteRetention, false, 'cleanup.policy=compact: no deletion by retention');
    const segments = log.segmentCount;
    assert.ok(segments >= 2, `expected a closed segment, got ${segments} segment(s)`);
    const later = Date.now() + 60_000;
    assert.equal(log.enforceRetention(later), 0);
    assert.equal(log.segmentCount, segments);
    assert.equal(log.logStartOffset, 0);

    // The same log under cleanup.policy=delete would have lost its old segments: the check above
    // is the one that keeps them.
    const asDelete = { ...log.config, deleteRetention: true };
    assert.equal(asDelete.retentionMs, 1);
    await first.stop();

    const second = broker(dir);
    assert.equal(second.groups.committedOffset('quiet', 't', 0)?.offset, 5);
    assert.equal(second.groups.committedOffset('busy', 't', 0)?.offset, 3);
    const reopened = second.topics.partition(OFFSETS_TOPIC, 0);
    assert.ok(reopened !== undefined);
    reopened.config = asDelete;
    assert.ok(reopened.enforceRetention(later) > 0, 'with cleanup.policy=delete the old segments go');
    await second.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a topic is subject to retention when its cleanup.policy includes delete', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-compact-retention-'));
  const b = broker(dir);
  try {
    const policies: Array<[string | undefined, boolean]> = [
      [undefined, true],
      ['delete', true],
      ['compact', false],
      ['compact,delete', true],
      ['delete, compact', true],
    ];
    for (const [i, [policy, deletes]] of policies.entries()) {
      const name = `policy-${i}`;
      const configs: Record<string, string> = policy === undefined ? {} : { 'cleanup.policy': policy };
      assert.equal(b.topics.createTopic(name, 1, 1, configs).errorCode, 0);
      assert.equal(b.topics.partition(name, 0)?.config.deleteRetention, deletes, `cleanup.policy=${policy}`);
    }
    b.topics.setTopicConfigs('policy-0', { 'cleanup.policy': 'compact' });
    assert.equal(b.topics.partition('policy-0', 0)?.config.deleteRetention, false, 'applied to the open log');
  } finally {
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
