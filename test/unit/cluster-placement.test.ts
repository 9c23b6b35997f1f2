import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeReplicas } from '../../src/cluster/placement.js';
import { electLeader } from '../../src/cluster/controller.js';
import { ClusterImage, initialPartition, type PartitionState } from '../../src/cluster/state.js';

const three = [1, 2, 3].map((id) => ({ id, rack: null }));

test('placement spreads leaders evenly and never puts two replicas of a partition on one broker', () => {
  for (const start of [0, 1, 7, 123456]) {
    const r = placeReplicas(three, 0, 12, 3, start)!;
    const leaders = new Map<number, number>();
    for (const replicas of r) {
      assert.equal(new Set(replicas).size, 3);
      leaders.set(replicas[0]!, (leaders.get(replicas[0]!) ?? 0) + 1);
    }
    assert.deepEqual([...leaders.values()], [4, 4, 4]);
  }
  assert.equal(placeReplicas(three, 0, 1, 4, 0), null, 'more replicas than brokers');
  assert.equal(placeReplicas(three, 0, 1, 0, 0), null);
});

test('placement puts each partition on as many racks as there are', () => {
  const racks = [
    { id: 1, rack: 'a' },
    { id: 2, rack: 'a' },
    { id: 3, rack: 'b' },
    { id: 4, rack: 'b' },
    { id: 5, rack: 'c' },
    { id: 6, rack: 'c' },
  ];
  const rackOf = new Map(racks.map((b) => [b.id, b.rack]));
  for (const replicas of placeReplicas(racks, 0, 30, 3, 5)!) {
    assert.equal(new Set(replicas.map((id) => rackOf.get(id))).size, 3, `replicas ${replicas}`);
  }
  for (const replicas of placeReplicas(racks, 0, 30, 2, 9)!) {
    assert.equal(new Set(replicas.map((id) => rackOf.get(id))).size, 2, `replicas ${replicas}`);
  }
});

test('added partitions continue the spread of the first ones', () => {
  const first = placeReplicas(three, 0, 3, 2, 11)!;
  const more = placeReplicas(three, 3, 3, 2, 11)!;
  const all = [...first, ...more].map((r) => r[0]);
  assert.deepEqual(
    [1, 2, 3].map((id) => all.filter((l) => l === id).length),
    [2, 2, 2],
  );
});

const state = (s: Partial<PartitionState>): PartitionState => ({ ...initialPartition('t'.repeat(32), [1, 2, 3]), ...s });

test('a live leader stays; a dead one is replaced by a live in-sync replica at the next epoch', () => {
  assert.equal(electLeader(state({ isr: [1, 2] }), new Set([1, 2, 3]), false), null);
  const shrunk = electLeader(state({ isr: [1, 2, 3], leaderEpoch: 3 }), new Set([1, 3]), false)!;
  assert.deepEqual(
    [shrunk.leader, shrunk.leaderEpoch, shrunk.isr],
    [1, 3, [1, 3]],
    'a dead follower leaves the ISR; the leader and epoch stay',
  );
  const next = electLeader(state({ isr: [1, 3], leaderEpoch: 4, partitionEpoch: 9 }), new Set([2, 3]), false)!;
  assert.equal(next.leader, 3, 'broker 2 is alive but not in sync');
  assert.equal(next.leaderEpoch, 5);
  assert.equal(next.partitionEpoch, 10);
  assert.deepEqual(next.isr, [3]);
});

test('with no live in-sync replica the partition goes leaderless and keeps its ISR, unless unclean election is on', () => {
  const s = state({ isr: [1], leaderEpoch: 2 });
  const clean = electLeader(s, new Set([2, 3]), false)!;
  assert.equal(clean.leader, -1);
  assert.deepEqual(clean.isr, [1], 'the ISR still names the replica with every acknowledged record');
  assert.equal(electLeader({ ...s, ...clean, revision: 5 }, new Set([2, 3]), false), null, 'leaderless stays leaderless');
  const back = electLeader({ ...s, ...clean, revision: 5 }, new Set([1, 2]), false)!;
  assert.equal(back.leader, 1);
  assert.equal(back.leaderEpoch, 4);
  const unclean = electLeader(s, new Set([2, 3]), true)!;
  assert.equal(unclean.leader, 2);
  assert.deepEqual(unclean.isr, [2]);
});

test('the image ignores a partition record left over from an earlier topic of the same name', () => {
  const img = new ClusterImage();
  const old = 'a'.repeat(32);
  const now = 'b'.repeat(32);
  img.apply({ kind: 'topic', name: 't', record: { name: 't', id: now, configs: {}, internal: false, replicas: [[2, 1]] } }, 10);
  img.apply(
    { kind: 'partition', topic: 't', partition: 0, state: { ...initialPartition(old, [1, 2]), leader: 1, leaderEpoch: 7, revision: 3 } },
    3,
  );
  assert.equal(img.partition('t', 0)?.leader, 2);
  assert.equal(img.partition('t', 0)?.leaderEpoch, 0);
  assert.equal(img.partition('t', 1), undefined);
  assert.equal(img.revision, 10);
});
