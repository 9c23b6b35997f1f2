/**
 * Unit tests of the KIP-848 consumer group (src/group/consumer-group.ts), driven through its
 * ConsumerGroupSettings port with an in-memory topic list and mock timers: no broker, no network.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { rangeAssignor, uniformAssignor } from '../../src/group/assignors.js';
import {
  ConsumerGroup,
  type ConsumerGroupSettings,
  type HeartbeatInput,
  type HeartbeatResult,
  type OwnedTopicPartitions,
  type TopicMeta,
} from '../../src/group/consumer-group.js';
import { silentLogger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const SESSION_MS = 45_000;
const HEARTBEAT_MS = 5_000;
const REBALANCE_MS = 10_000;

/** The topics the group sees through its settings port; tests create and grow topics. */
class Topics {
  private readonly byName = new Map<string, TopicMeta>();
  private next = 1;

  add(name: string, partitions: number, internal = false): TopicMeta {
    const t = { name, id: String(this.next++).padStart(32, '0'), partitions, internal };
    this.byName.set(name, t);
    return t;
  }

  grow(name: string, partitions: number): void {
    this.byName.get(name)!.partitions = partitions;
  }

  id(name: string): string {
    return this.byName.get(name)!.id;
  }

  settings(): ConsumerGroupSettings {
    return {
      sessionTimeoutMs: () => SESSION_MS,
      heartbeatIntervalMs: () => HEARTBEAT_MS,
      assignors: () => [uniformAssignor, rangeAssignor],
      topicByName: (name) => this.byName.get(name),
      topicById: (id) => [...this.byName.values()].find((t) => t.id === id),
      topics: () => [...this.byName.values()],
      log: silentLogger,
    };
  }
}

/** Partitions as the tests write them: { topicName: [partitions] }. */
type Named = Record<string, number[]>;

interface Harness {
  topics: Topics;
  group: ConsumerGroup;
  /** Sends a heartbeat; `owned` by topic name (null: not sent). */
  hb(memberId: string, memberEpoch: number, owned: Named | null, extra?: Partial<HeartbeatInput>): HeartbeatResult;
  /** The response's assignment by topic name. */
  named(r: HeartbeatResult): Named | null;
}

function harness(setup: (t: Topics) => void): Harness {
  const topics = new Topics();
  setup(topics);
  const group = new ConsumerGroup('g', topics.settings());
  const toWire = (owned: Named | null): OwnedTopicPartitions[] | null =>
    owned === null ? null : Object.entries(owned).map(([name, partitions]) => ({ topicId: topics.id(name), partitions }));
  const nameOf = (id: string): string => topics.settings().topicById(id)!.name;
  return {
    topics,
    group,
    hb(memberId, memberEpoch, owned, extra = {}) {
      const r = group.heartbeat({
        memberId,
        memberEpoch,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: memberEpoch === 0 ? REBALANCE_MS : -1,
        subscribedTopicNames: memberEpoch === 0 ? ['t'] : null,
        subscribedTopicRegex: null,
        serverAssignor: null,
        ownedTopicPartitions: toWire(owned),
        clientId: 'client',
        clientHost: '/127.0.0.1',
        ...extra,
      });
      assertSingleOwner(group, nameOf);
      return r;
    },
    named(r) {
      if (r.assignment === null) return null;
      const out: Named = {};
      for (const t of r.assignment.topicPartitions) out[nameOf(t.topicId)] = t.partitions;
      return out;
    },
  };
}

/** No partition is held (assigned or still being revoked) by two members at once. */
function assertSingleOwner(group: ConsumerGroup, nameOf: (id: string) => string): void {
  const holder = new Map<string, string>();
  for (const m of group.members.values()) {
    for (const p of [m.assigned, m.pendingRevocation]) {
      for (const [t, ps] of p) {
        for (const x of ps) {
          const key = `${nameOf(t)}-${x}`;
          assert.ok(!holder.has(key), `${key} is held by ${holder.get(key)} and ${m.memberId}`);
          holder.set(key, m.memberId);
        }
      }
    }
  }
}

function ok(r: HeartbeatResult): HeartbeatResult {
  assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? undefined);
  return r;
}

/** Two members "a" and "b" reconciled on topic t (4 partitions): a has 0-1, b has 2-3, epoch 2. */
function twoStableMembers(): Harness {
  const h = harness((t) => t.add('t', 4));
  ok(h.hb('a', 0, {}));
  ok(h.hb('b', 0, {}));
  ok(h.hb('a', 1, { t: [0, 1, 2, 3] }));
  ok(h.hb('a', 1, { t: [0, 1] }));
  ok(h.hb('b', 2, {}));
  assert.equal(h.group.state, 'Stable');
  return h;
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
afterEach(() => mock.timers.reset());

describe('ConsumerGroup: joining and epochs', () => {
  test('the first member joins at epoch 1 with every partition; the group is Stable', () => {
    const h = harness((t) => t.add('t', 3));
    assert.equal(h.group.state, 'Empty');
    const r = ok(h.hb('', 0, {}));
    assert.ok(r.memberId !== null && r.memberId.length > 0, 'the coordinator makes a member id');
    assert.equal(r.memberEpoch, 1);
    assert.equal(r.heartbeatIntervalMs, HEARTBEAT_MS);
    assert.deepEqual(h.named(r), { t: [0, 1, 2] });
    assert.equal(h.group.groupEpoch, 1);
    assert.equal(h.group.assignmentEpoch, 1);
    assert.equal(h.group.state, 'Stable');
  });

  test('a heartbeat with nothing new changes no epoch and carries no assignment', () => {
    const h = twoStableMembers();
    const r = ok(h.hb('a', 2, null));
    assert.equal(r.memberEpoch, 2);
    assert.equal(r.assignment, null);
    assert.equal(h.group.groupEpoch, 2);
  });

  test('the group epoch moves on a join, a subscription change, a new topic and more partitions', () => {
    const h = harness((t) => {
      t.add('t', 2);
      t.add('u', 2);
    });
    ok(h.hb('a', 0, {}));
    assert.equal(h.group.groupEpoch, 1);
    ok(h.hb('a', 1, null, { subscribedTopicNames: ['t', 'u'] }));
    assert.equal(h.group.groupEpoch, 2, 'subscription change');
    const r = ok(h.hb('a', 2, null, { subscribedTopicNames: ['u', 't', 't'] }));
    assert.equal(h.group.groupEpoch, 2, 'the same set in another order is no change');
    assert.equal(r.memberEpoch, 2);
    ok(h.hb('a', 2, null, { subscribedTopicNames: ['t', 'u', 'v'] }));
    assert.equal(h.group.groupEpoch, 3, 'subscribing to a missing topic');
    h.topics.add('v', 1);
    const created = ok(h.hb('a', 3, null));
    assert.equal(h.group.groupEpoch, 4, 'the missing topic was created');
    assert.deepEqual(h.named(created), { t: [0, 1], u: [0, 1], v: [0] });
    h.topics.grow('t', 3);
    const grown = ok(h.hb('a', 4, null));
    assert.equal(grown.memberEpoch, 5, 'partitions were added');
    assert.deepEqual(h.named(grown)?.t, [0, 1, 2]);
  });

  test("the server assignor is the members' most common choice, else the first enabled", () => {
    const h = harness((t) => t.add('t', 2));
    ok(h.hb('a', 0, {}));
    assert.equal(h.group.assignorName(), 'uniform');
    ok(h.hb('b', 0, {}, { serverAssignor: 'range' }));
    assert.equal(h.group.assignorName(), 'range');
  });
});

describe('ConsumerGroup: reconciliation', () => {
  // One table: each step is a heartbeat and what it must answer. Topic t has 4 partitions.
  const steps: Array<{
    what: string;
    member: string;
    epoch: number;
    owned: Named | null;
    epochAfter: number;
    assigned: Named;
    state: string;
  }> = [
    {
      what: 'a joins alone and gets everything',
      member: 'a',
      epoch: 0,
      owned: {},
      epochAfter: 1,
      assigned: { t: [0, 1, 2, 3] },
      state: 'STABLE',
    },
    {
      what: "b joins: its partitions are still a's, so it gets none yet",
      member: 'b',
      epoch: 0,
      owned: {},
      epochAfter: 2,
      assigned: {},
      state: 'UNRELEASED_PARTITIONS',
    },
    {
      what: 'a is asked to revoke 2-3 and keeps its epoch',
      member: 'a',
      epoch: 1,
      owned: { t: [0, 1, 2, 3] },
      epochAfter: 1,
      assigned: { t: [0, 1] },
      state: 'UNREVOKED_PARTITIONS',
    },
    {
      what: 'b still waits: a has not released 2-3',
      member: 'b',
      epoch: 2,
      owned: {},
      epochAfter: 2,
      assigned: {},
      state: 'UNRELEASED_PARTITIONS',
    },
    {
      what: 'a still reports 2-3: nothing moves',
      member: 'a',
      epoch: 1,
      owned: { t: [0, 1, 2, 3] },
      epochAfter: 1,
      assigned: { t: [0, 1] },
      state: 'UNREVOKED_PARTITIONS',
    },
    {
      what: 'a reports 2-3 released and moves to epoch 2',
      member: 'a',
      epoch: 1,
      owned: { t: [0, 1] },
      epochAfter: 2,
      assigned: { t: [0, 1] },
      state: 'STABLE',
    },
    { what: 'b now gets 2-3', member: 'b', epoch: 2, owned: {}, epochAfter: 2, assigned: { t: [2, 3] }, state: 'STABLE' },
  ];

  test('revoke before assign: a partition goes to its new owner only once released', () => {
    const h = harness((t) => t.add('t', 4));
    for (const s of steps) {
      const r = ok(h.hb(s.member, s.epoch, s.owned));
      assert.equal(r.memberEpoch, s.epochAfter, s.what);
      assert.deepEqual(h.named(r), s.assigned, s.what);
      assert.equal(h.group.members.get(s.member)!.state, s.state, s.what);
    }
    assert.equal(h.group.state, 'Stable');
  });

  test('the group is Reconciling while a member is behind the target epoch', () => {
    const h = harness((t) => t.add('t', 4));
    for (const s of steps.slice(0, 3)) ok(h.hb(s.member, s.epoch, s.owned));
    assert.equal(h.group.state, 'Reconciling');
  });

  test('a revocation heartbeat without owned partitions is not a release', () => {
    const h = harness((t) => t.add('t', 4));
    for (const s of steps.slice(0, 3)) ok(h.hb(s.member, s.epoch, s.owned));
    const r = ok(h.hb('a', 1, null));
    assert.equal(r.memberEpoch, 1);
    assert.equal(h.group.members.get('a')!.state, 'UNREVOKED_PARTITIONS');
  });

  test('a member that does not revoke within its rebalance timeout is fenced and its partitions freed', () => {
    const h = harness((t) => t.add('t', 4));
    for (const s of steps.slice(0, 3)) ok(h.hb(s.member, s.epoch, s.owned));
    mock.timers.tick(REBALANCE_MS - 1);
    ok(h.hb('a', 1, { t: [0, 1, 2, 3] }));
    ok(h.hb('b', 2, {}));
    assert.ok(h.group.members.has('a'), 'not before the rebalance timeout');
    mock.timers.tick(1);
    assert.ok(!h.group.members.has('a'));
    assert.equal(h.group.groupEpoch, 3);
    const r = ok(h.hb('b', 2, {}));
    assert.equal(r.memberEpoch, 3);
    assert.deepEqual(h.named(r), { t: [0, 1, 2, 3] });
    assert.equal(h.hb('a', 1, null).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a revocation done in time stops the rebalance timer', () => {
    const h = harness((t) => t.add('t', 4));
    for (const s of steps.slice(0, 3)) ok(h.hb(s.member, s.epoch, s.owned));
    ok(h.hb('a', 1, { t: [0, 1] }));
    mock.timers.tick(REBALANCE_MS * 2);
    assert.ok(h.group.members.has('a'));
  });

  test('a member that leaves gives its partitions to the others after one bump', () => {
    const h = twoStableMembers();
    const r = h.group.leave('a', null, -1);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.memberEpoch, -1);
    assert.ok(!h.group.members.has('a'));
    assert.equal(h.group.groupEpoch, 3);
    assert.equal(h.group.state, 'Assigning');
    const b = ok(h.hb('b', 2, null));
    assert.equal(b.memberEpoch, 3);
    assert.deepEqual(h.named(b), { t: [0, 1, 2, 3] });
    assert.equal(h.group.leave('a', null, -1).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('the last member leaving empties the group', () => {
    const h = harness((t) => t.add('t', 1));
    ok(h.hb('a', 0, {}));
    h.group.leave('a', null, -1);
    assert.equal(h.group.state, 'Empty');
    assert.ok(h.group.isEmpty);
  });

  test('unsubscribing from a topic revokes its partitions first', () => {
    const h = harness((t) => {
      t.add('t', 1);
      t.add('u', 1);
    });
    ok(h.hb('a', 0, {}, { subscribedTopicNames: ['t', 'u'] }));
    const r = ok(h.hb('a', 1, { t: [0], u: [0] }, { subscribedTopicNames: ['t'] }));
    assert.equal(r.memberEpoch, 1, 'revocation first, at the current epoch');
    assert.deepEqual(h.named(r), { t: [0] });
    const done = ok(h.hb('a', 1, { t: [0] }));
    assert.equal(done.memberEpoch, 2);
  });
});

describe('ConsumerGroup: fencing', () => {
  // "a" is at epoch 2 with t 0-1, its previous epoch 1.
  const cases: Array<{ what: string; epoch: number; owned: Named | null; error: number; epochAfter?: number }> = [
    { what: 'its current epoch', epoch: 2, owned: null, error: ErrorCode.NONE, epochAfter: 2 },
    { what: 'a greater epoch', epoch: 3, owned: null, error: ErrorCode.FENCED_MEMBER_EPOCH },
    {
      what: 'the previous epoch, owning only what it has (lost response)',
      epoch: 1,
      owned: { t: [0, 1] },
      error: ErrorCode.NONE,
      epochAfter: 2,
    },
    {
      what: 'the previous epoch, owning a partition it no longer has',
      epoch: 1,
      owned: { t: [0, 1, 2] },
      error: ErrorCode.FENCED_MEMBER_EPOCH,
    },
    { what: 'the previous epoch without owned partitions', epoch: 1, owned: null, error: ErrorCode.FENCED_MEMBER_EPOCH },
    { what: 'an older epoch than the previous one', epoch: 0, owned: {}, error: ErrorCode.FENCED_MEMBER_EPOCH },
  ];
  for (const c of cases) {
    test(`a heartbeat with ${c.what}: ${c.error === ErrorCode.NONE ? 'accepted' : 'FENCED_MEMBER_EPOCH'}`, () => {
      const h = twoStableMembers();
      const r = h.hb('a', c.epoch, c.owned);
      assert.equal(r.errorCode, c.error, r.errorMessage ?? undefined);
      if (c.epochAfter !== undefined) assert.equal(r.memberEpoch, c.epochAfter);
      else assert.ok(h.group.members.has('a'), 'a fenced heartbeat does not remove the member');
    });
  }

  test('an unknown member id is UNKNOWN_MEMBER_ID, unless it joins', () => {
    const h = twoStableMembers();
    assert.equal(h.hb('c', 1, null).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.ok(!h.group.members.has('c'));
    ok(h.hb('c', 0, {}));
  });

  test('OffsetCommit and OffsetFetch check the member epoch', () => {
    const h = twoStableMembers();
    const commit: Array<[string, number, number, number]> = [
      ['a', 2, 9, ErrorCode.NONE],
      ['a', 1, 9, ErrorCode.STALE_MEMBER_EPOCH],
      ['a', 2, 8, ErrorCode.UNSUPPORTED_VERSION],
      ['x', 2, 9, ErrorCode.UNKNOWN_MEMBER_ID],
      ['', -1, 9, ErrorCode.UNKNOWN_MEMBER_ID],
    ];
    for (const [member, epoch, version, error] of commit) {
      assert.equal(h.group.validateCommit(member, epoch, version), error, `commit ${member}@${epoch} v${version}`);
    }
    assert.equal(h.group.validateFetch('a', 2), ErrorCode.NONE);
    assert.equal(h.group.validateFetch('a', 3), ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal(h.group.validateFetch(null, -1), ErrorCode.NONE);
    assert.equal(h.group.validateFetch('x', 1), ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('ConsumerGroup: session timeout', () => {
  test('a member that stops heartbeating is removed after the session timeout, counted from its last heartbeat', () => {
    const h = twoStableMembers();
    mock.timers.tick(SESSION_MS - 1);
    ok(h.hb('a', 2, null));
    mock.timers.tick(1);
    assert.ok(!h.group.members.has('b'), 'b expired');
    assert.ok(h.group.members.has('a'), 'a heartbeat in time');
    assert.equal(h.group.groupEpoch, 3);
    assert.equal(h.group.state, 'Assigning');
    const r = ok(h.hb('a', 2, null));
    assert.equal(r.memberEpoch, 3);
    assert.deepEqual(h.named(r), { t: [0, 1, 2, 3] });
    mock.timers.tick(SESSION_MS);
    assert.ok(h.group.isEmpty);
  });

  test('shutdown stops every timer', () => {
    const h = twoStableMembers();
    h.group.shutdown();
    mock.timers.tick(SESSION_MS * 2);
    assert.equal(h.group.members.size, 2);
  });
});

describe('ConsumerGroup: static members', () => {
  const join = (h: Harness, memberId: string, instanceId: string): HeartbeatResult => h.hb(memberId, 0, {}, { instanceId });

  function staticPair(): Harness {
    const h = harness((t) => t.add('t', 4));
    ok(join(h, 'a1', 'ia'));
    ok(join(h, 'b', 'ib'));
    ok(h.hb('a1', 1, { t: [0, 1, 2, 3] }, { instanceId: 'ia' }));
    ok(h.hb('a1', 1, { t: [0, 1] }, { instanceId: 'ia' }));
    ok(h.hb('b', 2, {}, { instanceId: 'ib' }));
    assert.equal(h.group.state, 'Stable');
    return h;
  }

  test('a static member that leaves with epoch -2 and comes back takes its partitions over without a rebalance', () => {
    const h = staticPair();
    const left = h.group.leave('a1', 'ia', -2);
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.equal(h.group.groupEpoch, 2, 'leaving for now is no rebalance');
    assert.equal(h.group.members.get('a1')!.memberEpoch, -2);
    const back = ok(join(h, 'a2', 'ia'));
    assert.equal(back.memberId, 'a2');
    assert.equal(back.memberEpoch, 2);
    assert.deepEqual(h.named(back), { t: [0, 1] });
    assert.equal(h.group.groupEpoch, 2, 'coming back is no rebalance either');
    assert.ok(!h.group.members.has('a1'));
    assert.equal(h.group.staticMembers.get('ia'), 'a2');
    assert.equal(h.group.state, 'Stable');
  });

  test('the replaced member id is fenced', () => {
    const h = staticPair();
    h.group.leave('a1', 'ia', -2);
    ok(join(h, 'a2', 'ia'));
    assert.equal(h.hb('a1', 2, null, { instanceId: 'ia' }).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(h.group.leave('a1', 'ia', -1).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  test('joining with an instance id still held by an active member is UNRELEASED_INSTANCE_ID', () => {
    const h = staticPair();
    const r = join(h, 'a2', 'ia');
    assert.equal(r.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    assert.ok(h.group.members.has('a1'));
    assert.ok(!h.group.members.has('a2'));
  });

  test('an unknown instance id is UNKNOWN_MEMBER_ID', () => {
    const h = staticPair();
    assert.equal(h.hb('z', 2, null, { instanceId: 'iz' }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.group.leave('z', 'iz', -2).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a static member that does not come back within the session timeout is removed', () => {
    const h = staticPair();
    h.group.leave('a1', 'ia', -2);
    mock.timers.tick(SESSION_MS - 1);
    ok(h.hb('b', 2, null, { instanceId: 'ib' }));
    assert.ok(h.group.members.has('a1'));
    mock.timers.tick(1);
    assert.ok(!h.group.members.has('a1'));
    assert.equal(h.group.staticMembers.has('ia'), false);
    assert.equal(h.group.groupEpoch, 3);
    const b = ok(h.hb('b', 2, null, { instanceId: 'ib' }));
    assert.deepEqual(h.named(b), { t: [0, 1, 2, 3] });
  });

  test('a static member leaving with -1 is fenced for good and rebalances', () => {
    const h = staticPair();
    h.group.leave('a1', 'ia', -1);
    assert.ok(!h.group.members.has('a1'));
    assert.equal(h.group.groupEpoch, 3);
    const back = ok(join(h, 'a2', 'ia'));
    assert.equal(h.group.groupEpoch, 4, 'a new member: a rebalance');
    assert.equal(back.memberEpoch, 4);
  });
});

describe('ConsumerGroup: regex subscriptions', () => {
  function topics(t: Topics): void {
    t.add('orders-eu', 2);
    t.add('orders-us', 1);
    t.add('payments', 1);
    t.add('__consumer_offsets', 3, true);
  }
  const cases: Array<{ regex: string; assigned: Named }> = [
    { regex: 'orders-.*', assigned: { 'orders-eu': [0, 1], 'orders-us': [0] } },
    { regex: 'orders', assigned: {} },
    { regex: 'payments|orders-us', assigned: { 'orders-us': [0], payments: [0] } },
    // Kafka resolves regexes against every topic name, internal topics included.
    { regex: '__consumer_offsets', assigned: { __consumer_offsets: [0, 1, 2] } },
    { regex: '__.*', assigned: { __consumer_offsets: [0, 1, 2] } },
    { regex: '.*', assigned: { 'orders-eu': [0, 1], 'orders-us': [0], payments: [0], __consumer_offsets: [0, 1, 2] } },
  ];
  for (const c of cases) {
    test(`/${c.regex}/ subscribes to ${Object.keys(c.assigned).join(', ') || 'nothing'}`, () => {
      const h = harness(topics);
      const r = ok(h.hb('a', 0, {}, { subscribedTopicNames: null, subscribedTopicRegex: c.regex }));
      assert.deepEqual(h.named(r), c.assigned);
      assert.deepEqual([...h.group.subscribedTopicNames()].sort(), Object.keys(c.assigned).sort());
    });
  }

  test('a topic created later that matches the regex is assigned on the next heartbeat', () => {
    const h = harness(topics);
    ok(h.hb('a', 0, {}, { subscribedTopicNames: null, subscribedTopicRegex: 'orders-.*' }));
    h.topics.add('orders-ap', 1);
    h.topics.add('refunds', 1);
    const r = ok(h.hb('a', 1, null));
    assert.equal(r.memberEpoch, 2);
    assert.deepEqual(h.named(r), { 'orders-eu': [0, 1], 'orders-us': [0], 'orders-ap': [0] });
  });

  test('names and a regex add up', () => {
    const h = harness(topics);
    const r = ok(h.hb('a', 0, {}, { subscribedTopicNames: ['payments'], subscribedTopicRegex: 'orders-u.' }));
    assert.deepEqual(h.named(r), { payments: [0], 'orders-us': [0] });
  });

  test('a refused regex is INVALID_REGULAR_EXPRESSION and changes nothing', () => {
    const h = harness(topics);
    const r = h.hb('a', 0, {}, { subscribedTopicNames: null, subscribedTopicRegex: '(a+)+' });
    assert.equal(r.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    assert.match(r.errorMessage!, /\(a\+\)\+/);
    assert.ok(h.group.isEmpty);
    assert.equal(h.group.groupEpoch, 0);
  });

  test('changing the regex moves the subscription; an empty regex drops it', () => {
    const h = harness(topics);
    ok(h.hb('a', 0, {}, { subscribedTopicNames: null, subscribedTopicRegex: 'payments' }));
    const moved = ok(h.hb('a', 1, { payments: [0] }, { subscribedTopicRegex: 'orders-us' }));
    assert.equal(moved.memberEpoch, 1, 'payments must be revoked first');
    assert.deepEqual(h.named(moved), {});
    const done = ok(h.hb('a', 1, {}));
    assert.deepEqual(h.named(done), { 'orders-us': [0] });
    ok(h.hb('a', 2, { 'orders-us': [0] }, { subscribedTopicRegex: '' }));
    assert.equal(h.group.members.get('a')!.subscribedTopicRegex, null);
    assert.equal(h.group.groupEpoch, 3);
  });
});
