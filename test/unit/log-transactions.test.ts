/**
 * A partition's side of transactions: the last stable offset stops at the oldest open
 * transaction, a marker decides it, read_committed reads stop at the LSO and name the aborted
 * transactions in what they read, and all of it survives a clean restart, a restart that rebuilds
 * it from the segments, and a follower's truncation. Transactional batches arrive here as a
 * follower appends its leader's (the coordinator that writes markers for the leader is not built
 * yet).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Log, type LogConfig } from '../../src/storage/log.js';
import { readTxnIndex } from '../../src/storage/transaction-index.js';
import { crc32c } from '../../src/native/index.js';
import {
  ControlType,
  type ControlTypeValue,
  controlRecordType,
  encodeControlBatch,
  encodeRecordBatch,
} from '../../src/records/record-batch.js';
import { testLogConfig } from '../helpers/log-config.js';

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'franz-txn-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
function config(): LogConfig {
  return testLogConfig();
}

function open(dir: string, clean = true): Log {
  return Log.open(dir, config(), { recoveryPoint: 0, logStartOffset: 0, clean });
}

/** Appends, as a follower, `count` records of producer `pid` (transactional or not). */
function data(log: Log, pid: number, count: number, seq: number, transactional = true): void {
  const records = Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`p${pid}-${seq + i}`) }));
  const batch = encodeRecordBatch(records, {
    baseOffset: log.logEndOffset,
    partitionLeaderEpoch: 0,
    producerId: pid,
    producerEpoch: 0,
    baseSequence: seq,
    transactional,
  });
  assert.equal(log.appendAsFollower(batch).errorCode, 0);
}

function marker(log: Log, pid: number, type: ControlTypeValue): number {
  const batch = encodeControlBatch(type, { producerId: pid, producerEpoch: 0, coordinatorEpoch: 3 });
  batch.writeBigInt64BE(BigInt(log.logEndOffset), 0);
  batch.writeInt32BE(0, 12);
  const at = log.logEndOffset;
  assert.equal(log.appendAsFollower(batch).errorCode, 0);
  return at;
}

describe('transactions in a partition log', () => {
  test('a control batch says what it ends', () => {
    assert.equal(controlRecordType(encodeControlBatch(ControlType.abort, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0 }), 0), 0);
    assert.equal(controlRecordType(encodeControlBatch(ControlType.commit, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0 }), 0), 1);
    assert.equal(controlRecordType(Buffer.alloc(30), 0), -1);
  });

  test('a client cannot write a marker: INVALID_RECORD, nothing appended', () => {
    const log = open(path.join(root, `t-${n++}`));
    for (const attrs of [0x30, 0x20]) {
      const batch = encodeControlBatch(ControlType.abort, { producerId: 3, producerEpoch: 1, coordinatorEpoch: 0 });
      // As Kafka writes markers (transactional and control), and with the control bit alone.
      const bytes = attrs === 0x30 ? batch : reencodeAttributes(batch, attrs);
      const r = log.appendAsLeader(bytes, { apiVersion: 11, leaderEpoch: 0 });
      assert.equal(r.errorCode, 87);
      assert.equal(log.logEndOffset, 0);
    }
  });

  test('the LSO stops at the oldest open transaction; markers move it; read_committed reads to it', () => {
    const log = open(path.join(root, `t-${n++}`));
    data(log, 7, 3, 0); // 0-2: producer 7's transaction
    data(log, 9, 2, 0, false); // 3-4: not transactional
    data(log, 8, 2, 0); // 5-6: producer 8's transaction
    assert.equal(log.highWatermark, 7);
    assert.equal(log.lastStableOffset, 0);
    const before = log.read(0, 1 << 20, true, false, true);
    assert.equal(before.bytes, 0, 'nothing is stable yet');
    assert.equal(before.lastStableOffset, 0);
    assert.equal(log.read(0, 1 << 20, true).bytes > 0, true, 'read_uncommitted sees everything');
    assert.equal(log.read(0, 1 << 20, true).abortedTransactions, null);

    const abortAt = marker(log, 7, ControlType.abort); // 7
    assert.equal(log.lastStableOffset, 5, "producer 8's transaction is still open");
    const mid = log.read(0, 1 << 20, true, false, true);
    assert.equal(mid.lastStableOffset, 5);
    assert.deepEqual(
      mid.abortedTransactions?.map((a) => [a.producerId, a.firstOffset]),
      [[7, 0]],
    );
    marker(log, 8, ControlType.commit); // 8
    assert.equal(log.lastStableOffset, 9);
    const all = log.read(0, 1 << 20, true, false, true);
    assert.deepEqual(all.abortedTransactions, [{ producerId: 7, firstOffset: 0, lastOffset: abortAt, lastStableOffset: 5 }]);
    // A read starting after the aborted transaction's marker is not told about it.
    assert.deepEqual(log.read(8, 1 << 20, true, false, true).abortedTransactions, []);
    // A new transaction of producer 7 continues its sequence after the marker.
    data(log, 7, 1, 3);
    assert.equal(log.lastStableOffset, 9);
  });

  test("the leader's markers (Log.appendMarker) end transactions and move the LSO", () => {
    const log = open(path.join(root, `t-${n++}`));
    data(log, 11, 3, 0); // 0-2
    data(log, 12, 1, 0); // 3
    assert.equal(log.lastStableOffset, 0);
    const commit = log.appendMarker({ type: ControlType.commit, producerId: 11, producerEpoch: 0, coordinatorEpoch: 5 }, 0);
    assert.equal(commit.errorCode, 0);
    assert.equal(commit.baseOffset, 4);
    assert.equal(log.lastStableOffset, 3, "producer 12's transaction still holds it");
    const abort = log.appendMarker({ type: ControlType.abort, producerId: 12, producerEpoch: 0, coordinatorEpoch: 5 }, 0);
    assert.equal(abort.baseOffset, 5);
    assert.equal(log.lastStableOffset, 6);
    const r = log.read(0, 1 << 20, true, false, true);
    assert.deepEqual(r.abortedTransactions, [{ producerId: 12, firstOffset: 3, lastOffset: 5, lastStableOffset: 6 }]);
    // The marker on disk is Kafka's: transactional and control, one record keyed (0, type).
    const bytes = log.readBytes(4, 1 << 20);
    assert.equal(bytes.readInt16BE(21) & 0x30, 0x30);
    assert.equal(controlRecordType(bytes, 0), ControlType.commit);
  });

  test('a read_committed read is told only of the aborted transactions that may lie in it', () => {
    const log = open(path.join(root, `t-${n++}`));
    for (let pid = 20; pid < 24; pid++) {
      data(log, pid, 2, 0); // pid 20: 0-1, marker 2; pid 21: 3-4, marker 5; ...
      marker(log, pid, ControlType.abort);
    }
    const told = (from: number, max: number) => log.read(from, max, true, false, true).abortedTransactions?.map((a) => a.producerId);
    assert.deepEqual(told(0, 1 << 20), [20, 21, 22, 23]);
    assert.deepEqual(told(5, 1 << 20), [21, 22, 23], 'the marker at 5 is read');
    assert.deepEqual(told(6, 1 << 20), [22, 23]);
    // A read that ends early (one batch) names only what can lie in it.
    assert.deepEqual(told(6, 1), [22]);
  });

  test('DeleteRecords forgets the aborted transactions below the new log start, and only those', () => {
    const log = open(path.join(root, `t-${n++}`));
    for (let pid = 30; pid < 33; pid++) {
      data(log, pid, 2, 0); // pid 30: 0-1, marker 2; pid 31: 3-4, marker 5; pid 32: 6-7, marker 8
      marker(log, pid, ControlType.abort);
    }
    log.roll();
    const kept = () => log.producers.abortedTransactions(0, Number.MAX_SAFE_INTEGER).map((a) => a.producerId);
    assert.deepEqual(kept(), [30, 31, 32]);
    log.deleteRecordsBefore(4);
    assert.deepEqual(kept(), [31, 32], "pid 30's transaction lies wholly below the start; 31's marker is above it");
    log.deleteRecordsBefore(9);
    assert.deepEqual(kept(), []);
  });

  test('the state survives a clean restart, and one that rebuilds it from the segments', async () => {
    const dir = path.join(root, `t-${n++}`);
    const log = open(dir);
    data(log, 1, 2, 0); // 0-1
    marker(log, 1, ControlType.abort); // 2
    data(log, 2, 2, 0); // 3-4, left open
    const expect = (l: Log): void => {
      assert.equal(l.lastStableOffset, 3);
      assert.deepEqual(
        l.read(0, 1 << 20, true, false, true).abortedTransactions?.map((a) => [a.producerId, a.firstOffset, a.lastOffset]),
        [[1, 0, 2]],
      );
    };
    expect(log);
    await log.close();
    const clean = open(dir);
    expect(clean);
    await clean.close();
    // No snapshot: the state comes from scanning the batches (markers read back from the file).
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.snapshot')) fs.rmSync(path.join(dir, f));
    const rebuilt = open(dir, false);
    expect(rebuilt);
    await rebuilt.close();
  });

  test("a follower's truncation below a marker reopens the transaction and forgets the abort", () => {
    const log = open(path.join(root, `t-${n++}`));
    data(log, 4, 2, 0); // 0-1
    marker(log, 4, ControlType.abort); // 2
    data(log, 5, 1, 0, false); // 3
    assert.equal(log.lastStableOffset, 4);
    log.truncateTo(2);
    assert.equal(log.logEndOffset, 2);
    assert.equal(log.lastStableOffset, 0, 'the transaction is open again');
    assert.deepEqual(log.read(0, 1 << 20, true, false, true).abortedTransactions, []);
  });
});

describe("Kafka's .txnindex files", () => {
  const entries = (dir: string, base: number) =>
    readTxnIndex(path.join(dir, `${String(base).padStart(20, '0')}.txnindex`)).map((a) => [a.producerId, a.firstOffset, a.lastOffset]);

  test('each abort marker adds an entry to its segment; restarts, rebuilds, truncation and deletion keep them true', async () => {
    const dir = path.join(root, `t-${n++}`);
    const log = open(dir);
    data(log, 1, 2, 0); // 0-1
    marker(log, 1, ControlType.abort); // 2
    data(log, 2, 1, 0); // 3
    marker(log, 2, ControlType.commit); // 4: a commit has no entry
    log.roll();
    data(log, 3, 2, 0); // 5-6
    marker(log, 3, ControlType.abort); // 7
    assert.deepEqual(entries(dir, 0), [[1, 0, 2]]);
    assert.deepEqual(entries(dir, 5), [[3, 5, 7]]);
    await log.close();
    // Rebuilt from the segments (no snapshot), with a stale file: rewritten to the truth.
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.snapshot')) fs.rmSync(path.join(dir, f));
    fs.writeFileSync(path.join(dir, `${'0'.repeat(20)}.txnindex`), Buffer.alloc(34 * 3, 1));
    const again = open(dir, false);
    assert.deepEqual(entries(dir, 0), [[1, 0, 2]]);
    assert.deepEqual(entries(dir, 5), [[3, 5, 7]]);
    // A follower truncating below the marker forgets its entry (the file goes with it).
    again.truncateTo(7);
    assert.deepEqual(entries(dir, 5), []);
    assert.ok(!fs.existsSync(path.join(dir, `${String(5).padStart(20, '0')}.txnindex`)));
    // A deleted segment takes its file along.
    again.roll();
    again.deleteRecordsBefore(again.logEndOffset);
    assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith('0'.repeat(20)) && f.endsWith('.txnindex')));
    await again.close();
  });
});

/** The same batch with other attributes and its CRC-32C recomputed (attributes are CRC-covered). */
function reencodeAttributes(batch: Buffer, attributes: number): Buffer {
  const out = Buffer.from(batch);
  out.writeInt16BE(attributes, 21);
  out.writeUInt32BE(crc32c(out.subarray(21)), 17);
  return out;
}
