/**
 * The transaction coordinator and the group coordinator inside one broker, across restarts:
 * offsets committed in a transaction stay pending (invisible, UNSTABLE for requireStable) until
 * the commit marker, also when the broker restarts in between; an abort drops them; and a
 * transaction whose PrepareCommit was stored before a crash is committed after the restart, its
 * markers written, before anything else acts on the id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Broker } from '../../src/broker.js';
import { BrokerConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/records/record-batch.js';
import { toRecord } from '../../src/txn/coordinator.js';
import { TxnState } from '../../src/txn/transaction-state.js';

function broker(dir: string): Broker {
  const config = BrokerConfig.from({
    sets: [`log.dirs=${dir}`, 'offsets.topic.num.partitions=2', 'transaction.state.log.num.partitions=2', 'franz.fsync=false'],
  });
  return new Broker(config, silentLogger);
}

const offset = (n: number) => ({ topic: 't', partition: 0, offset: n, leaderEpoch: -1, metadata: null });

test('offsets committed in a transaction count only at its commit marker, across a restart; an abort drops them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-txn-broker-'));
  try {
    let b = broker(dir);
    b.topics.createTopic('t', 1, 1, {});
    const c = b.transactions.coordinator;
    const init = await c.initProducerId('app', 60_000);
    assert.equal(init.errorCode, ErrorCode.NONE);
    const offsetsPartition = b.groups.store.partitionFor('g');
    assert.equal(
      await c.addPartitions('app', init.producerId, init.producerEpoch, [{ topic: '__consumer_offsets', partition: offsetsPartition }]),
      ErrorCode.NONE,
    );
    assert.deepEqual(await b.groups.commitInTransaction('g', init.producerId, init.producerEpoch, [offset(7)]), [ErrorCode.NONE]);
    assert.equal(b.groups.committedOffset('g', 't', 0), undefined, 'not visible before the commit');
    assert.ok(b.groups.hasPendingOffset('g', 't', 0));
    await b.stop();

    b = broker(dir);
    assert.equal(b.groups.committedOffset('g', 't', 0), undefined, 'still pending after the restart');
    assert.ok(b.groups.hasPendingOffset('g', 't', 0), 'the open transaction was replayed');
    assert.equal(await b.transactions.coordinator.endTransaction('app', init.producerId, init.producerEpoch, true), ErrorCode.NONE);
    assert.equal(b.groups.committedOffset('g', 't', 0)?.offset, 7);
    assert.ok(!b.groups.hasPendingOffset('g', 't', 0));

    // A second transaction's offset, aborted: the committed one stays.
    const c2 = b.transactions.coordinator;
    await c2.addPartitions('app', init.producerId, init.producerEpoch, [{ topic: '__consumer_offsets', partition: offsetsPartition }]);
    await b.groups.commitInTransaction('g', init.producerId, init.producerEpoch, [offset(9)]);
    assert.equal(await c2.endTransaction('app', init.producerId, init.producerEpoch, false), ErrorCode.NONE);
    assert.equal(b.groups.committedOffset('g', 't', 0)?.offset, 7);
    await b.stop();

    b = broker(dir);
    assert.equal(b.groups.committedOffset('g', 't', 0)?.offset, 7, 'replay gives the same answer');
    assert.ok(!b.groups.hasPendingOffset('g', 't', 0));
    await b.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a transaction stored as PrepareCommit before a crash is committed after the restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-txn-broker-'));
  try {
    let b = broker(dir);
    b.topics.createTopic('t', 1, 1, {});
    const c = b.transactions.coordinator;
    const { producerId, producerEpoch } = await c.initProducerId('app', 60_000);
    await c.addPartitions('app', producerId, producerEpoch, [{ topic: 't', partition: 0 }]);
    const log = b.topics.partition('t', 0)!;
    const batch = encodeRecordBatch([{ value: 'in the transaction' }], { producerId, producerEpoch, baseSequence: 0, transactional: true });
    assert.equal(log.appendAsLeader(batch, { leaderEpoch: 0, transactional: true }).errorCode, ErrorCode.NONE);
    // The crash comes right after PrepareCommit is stored, before any marker.
    const m = c.get('app')!;
    assert.equal(await b.transactions.store.store('app', toRecord({ ...m, state: TxnState.PrepareCommit })), ErrorCode.NONE);
    assert.equal(log.lastStableOffset, 0, 'open: nothing is stable yet');
    await b.stop();

    b = broker(dir);
    const after = b.topics.partition('t', 0)!;
    for (let i = 0; i < 100 && b.transactions.coordinator.get('app')?.state !== TxnState.CompleteCommit; i++) {
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(b.transactions.coordinator.get('app')?.state, TxnState.CompleteCommit);
    assert.equal(after.lastStableOffset, after.logEndOffset, 'the commit marker closed the transaction');
    const read = after.read(0, 1 << 20, true, false, true);
    assert.deepEqual(read.abortedTransactions ?? [], [], 'committed, not aborted');
    await b.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
