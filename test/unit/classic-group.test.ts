/**
 * Unit tests of the classic-protocol group (src/group/classic-group.ts), driven through its
 * GroupSettings port: persist() is a promise the test resolves, timers are mocked, and no broker
 * or network is involved.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import {
  ClassicGroup,
  type ClassicState,
  type GroupSettings,
  type JoinRequest,
  type JoinResult,
  type SyncRequest,
  type SyncResult,
} from '../../src/group/classic-group.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;
const INITIAL_DELAY_MS = 3_000;

/** Lets queued microtasks and promise callbacks run (setImmediate is not mocked). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A request's outcome, observable without awaiting it. */
interface Tracked<T> {
  done: boolean;
  value: T | undefined;
  promise: Promise<T>;
}

function track<T>(r: Promise<T> | T): Tracked<T> {
  const t: Tracked<T> = { done: false, value: undefined, promise: Promise.resolve(r) };
  void t.promise.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

interface Harness {
  group: ClassicGroup;
  /** States the group went through, in order. */
  states: ClassicState[];
  /** One entry per persist() call; resolve it with an error code. */
  persists: Array<(errorCode: number) => void>;
  /** Whether persist() resolves by itself with NONE (default) or waits for the test. */
  autoPersist: boolean;
}

function harness(over: Partial<Pick<GroupSettings, 'initialRebalanceDelayMs' | 'maxSize'>> = {}): Harness {
  const h: Harness = { group: undefined!, states: [], persists: [], autoPersist: true };
  const settings: GroupSettings = {
    initialRebalanceDelayMs: 0,
    maxSize: 100,
    persist: () =>
      new Promise<number>((resolve) => {
        h.persists.push(resolve);
        if (h.autoPersist) resolve(ErrorCode.NONE);
      }),
    onStateChange: (g) => h.states.push(g.state),
    ...over,
  };
  h.group = new ClassicGroup('g', settings);
  return h;
}

const RANGE = { name: 'range', metadata: Buffer.from('range-md') };
const COOP = { name: 'cooperative-sticky', metadata: Buffer.from('coop-md') };

function joinReq(over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [RANGE],
    requireKnownMemberId: false,
    supportsSkipAssignment: false,
    ...over,
  };
}

function syncReq(memberId: string, generationId: number, over: Partial<SyncRequest> = {}): SyncRequest {
  return { memberId, groupInstanceId: null, generationId, protocolType: 'consumer', protocolName: 'range', assignments: [], ...over };
}

const assignmentsFor = (ids: string[]): SyncRequest['assignments'] =>
  ids.map((id) => ({ memberId: id, assignment: Buffer.from(`for ${id}`) }));

/**
 * A Stable group: `n` members joined during the initial delay (so in one generation, 1), the
 * first is the leader, and everyone synced. Member i has instance id `i<i>` when `static`.
 */
async function stableGroup(n: number, opts: { static?: boolean; sessionTimeoutMs?: number } = {}): Promise<Harness & { ids: string[] }> {
  const h = harness({ initialRebalanceDelayMs: INITIAL_DELAY_MS });
  const joins = [];
  for (let i = 0; i < n; i++) {
    joins.push(
      track(
        h.group.join(
          joinReq({
            clientId: `c${i}`,
            groupInstanceId: opts.static ? `i${i}` : null,
            sessionTimeoutMs: opts.sessionTimeoutMs ?? SESSION_MS,
          }),
        ),
      ),
    );
  }
  mock.timers.tick(INITIAL_DELAY_MS);
  const results = await Promise.all(joins.map((j) => j.promise));
  const ids = results.map((r) => r.memberId);
  for (const r of results) assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(results[0]!.leader, ids[0]);
  const syncs = ids.map((id, i) =>
    track(h.group.sync(syncReq(id, 1, { groupInstanceId: opts.static ? `i${i}` : null, assignments: i === 0 ? assignmentsFor(ids) : [] }))),
  );
  await Promise.all(syncs.map((s) => s.promise));
  assert.equal(h.group.state, 'Stable');
  return { ...h, ids };
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
afterEach(() => mock.timers.reset());

describe('ClassicGroup: joining', () => {
  test('the first member: Empty -> PreparingRebalance -> CompletingRebalance, generation 1, it leads', async () => {
    const h = harness();
    const r = await h.group.join(joinReq({ clientId: 'app' }));
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.match(r.memberId, /^app-[0-9a-f-]{36}$/);
    assert.equal(r.generationId, 1);
    assert.equal(r.leader, r.memberId);
    assert.equal(r.protocolType, 'consumer');
    assert.equal(r.protocolName, 'range');
    assert.deepEqual(r.members, [{ memberId: r.memberId, groupInstanceId: null, metadata: RANGE.metadata }]);
    assert.deepEqual(h.states, ['PreparingRebalance', 'CompletingRebalance']);
  });

  test('MEMBER_ID_REQUIRED (JoinGroup v4+): the member gets an id first and joins with it', async () => {
    const h = harness();
    const first = await h.group.join(joinReq({ requireKnownMemberId: true }));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^client-/);
    assert.ok(h.group.isEmpty, 'no member before it joins with its id');
    assert.equal(h.group.state, 'Empty');
    const second = await h.group.join(joinReq({ memberId: first.memberId, requireKnownMemberId: true }));
    assert.equal(second.errorCode, ErrorCode.NONE);
    assert.equal(second.memberId, first.memberId);
    assert.equal(second.generationId, 1);
  });

  test('a static member never gets MEMBER_ID_REQUIRED', async () => {
    const h = harness();
    const r = await h.group.join(joinReq({ requireKnownMemberId: true, groupInstanceId: 'i0' }));
    assert.equal(r.errorCode, ErrorCode.NONE);
  });

  test('a pending member id can leave before joining', async () => {
    const h = harness();
    const first = await h.group.join(joinReq({ requireKnownMemberId: true }));
    assert.equal(h.group.leave(first.memberId, null), ErrorCode.NONE);
    assert.equal(h.group.leave(first.memberId, null), ErrorCode.UNKNOWN_MEMBER_ID);
    const again = await h.group.join(joinReq({ memberId: first.memberId }));
    assert.equal(again.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  const refused: Array<{ what: string; req: Partial<JoinRequest>; error: number }> = [
    { what: 'an unknown member id', req: { memberId: 'nobody' }, error: ErrorCode.UNKNOWN_MEMBER_ID },
    { what: 'another protocol type', req: { protocolType: 'connect' }, error: ErrorCode.INCONSISTENT_GROUP_PROTOCOL },
    { what: 'no protocol in common', req: { protocols: [COOP] }, error: ErrorCode.INCONSISTENT_GROUP_PROTOCOL },
    { what: 'no protocols at all', req: { protocols: [] }, error: ErrorCode.INCONSISTENT_GROUP_PROTOCOL },
  ];
  for (const c of refused) {
    test(`a join with ${c.what} is refused`, async () => {
      const h = await stableGroup(1);
      const r = await h.group.join(joinReq(c.req));
      assert.equal(r.errorCode, c.error);
      assert.equal(h.group.state, 'Stable');
      assert.equal(h.group.members.size, 1);
    });
  }

  test('GROUP_MAX_SIZE_REACHED past group.max.size', async () => {
    const h = harness({ maxSize: 1 });
    await h.group.join(joinReq());
    const r = await h.group.join(joinReq());
    assert.equal(r.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    assert.equal(h.group.members.size, 1);
  });

  test('the protocol chosen is the one most members prefer among those all support', async () => {
    const h = harness({ initialRebalanceDelayMs: INITIAL_DELAY_MS });
    const joins = [
      track(h.group.join(joinReq({ protocols: [RANGE, COOP] }))),
      track(h.group.join(joinReq({ protocols: [COOP, RANGE] }))),
      track(h.group.join(joinReq({ protocols: [COOP, RANGE] }))),
    ];
    mock.timers.tick(INITIAL_DELAY_MS);
    const results = await Promise.all(joins.map((j) => j.promise));
    for (const r of results) assert.equal(r.protocolName, 'cooperative-sticky');
    assert.deepEqual(
      results[0]!.members.map((m) => m.metadata),
      [COOP.metadata, COOP.metadata, COOP.metadata],
    );
  });

  test('a dead group answers COORDINATOR_NOT_AVAILABLE', async () => {
    const h = harness();
    h.group.kill();
    assert.equal(h.group.state, 'Dead');
    const r = await h.group.join(joinReq());
    assert.equal(r.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('ClassicGroup: the join barrier and generations', () => {
  test('a new member rebalances the group; the join completes when every member has rejoined', async () => {
    const h = await stableGroup(2);
    const [a, b] = h.ids as [string, string];
    const c = track(h.group.join(joinReq({ clientId: 'c' })));
    await settle();
    assert.equal(h.group.state, 'PreparingRebalance');
    assert.equal(h.group.heartbeat(a, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const ra = track(h.group.join(joinReq({ memberId: a })));
    await settle();
    assert.ok(!c.done && !ra.done, 'b has not rejoined yet');
    const rb = track(h.group.join(joinReq({ memberId: b })));
    await settle();
    assert.ok(c.done && ra.done && rb.done);
    for (const r of [c.value!, ra.value!, rb.value!]) {
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.generationId, 2);
      assert.equal(r.leader, a, 'the leader stays the leader');
    }
    assert.equal(ra.value!.members.length, 3, 'the leader gets the member list');
    assert.deepEqual(rb.value!.members, []);
    assert.deepEqual(c.value!.members, []);
    assert.equal(h.group.state, 'CompletingRebalance');
    assert.equal(h.group.generationId, 2);
  });

  test('members that do not rejoin within the rebalance timeout are removed', async () => {
    const h = await stableGroup(2, { sessionTimeoutMs: 60_000 });
    const [a, b] = h.ids as [string, string];
    const c = track(h.group.join(joinReq({ clientId: 'c', sessionTimeoutMs: 60_000 })));
    const ra = track(h.group.join(joinReq({ memberId: a, sessionTimeoutMs: 60_000 })));
    mock.timers.tick(REBALANCE_MS - 1);
    await settle();
    assert.ok(!c.done && !ra.done);
    mock.timers.tick(1);
    await settle();
    assert.ok(c.done && ra.done);
    assert.equal(ra.value!.generationId, 2);
    assert.deepEqual(ra.value!.members.map((m) => m.memberId).sort(), [a, c.value!.memberId].sort());
    assert.ok(!h.group.members.has(b));
    assert.equal(h.group.heartbeat(b, null, 2), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a member that neither rejoins nor heartbeats expires by its session, which completes the join early', async () => {
    const h = await stableGroup(2);
    const [a, b] = h.ids as [string, string];
    const ra = track(h.group.join(joinReq({ memberId: a })));
    await settle();
    assert.equal(h.group.state, 'PreparingRebalance');
    mock.timers.tick(SESSION_MS - 1);
    await settle();
    assert.ok(!ra.done);
    mock.timers.tick(1);
    await settle();
    assert.ok(ra.done, 'b expired; everyone left has rejoined');
    assert.ok(!h.group.members.has(b));
    assert.ok(h.group.members.has(a), 'a parked JoinGroup keeps its member alive past the session timeout');
    assert.equal(ra.value!.generationId, 2);
  });

  test('the first rebalance waits group.initial.rebalance.delay.ms for more members', async () => {
    const h = harness({ initialRebalanceDelayMs: INITIAL_DELAY_MS });
    const a = track(h.group.join(joinReq()));
    mock.timers.tick(1_000);
    const b = track(h.group.join(joinReq()));
    await settle();
    assert.ok(!a.done && !b.done);
    mock.timers.tick(INITIAL_DELAY_MS * 2);
    await settle();
    assert.ok(a.done && b.done);
    assert.equal(a.value!.generationId, 1);
    assert.equal(b.value!.generationId, 1);
    assert.equal(a.value!.members.length, 2);
  });

  test('a lone first member waits exactly the initial delay', async () => {
    const h = harness({ initialRebalanceDelayMs: INITIAL_DELAY_MS });
    const a = track(h.group.join(joinReq()));
    mock.timers.tick(INITIAL_DELAY_MS - 1);
    await settle();
    assert.ok(!a.done);
    mock.timers.tick(1);
    await settle();
    assert.ok(a.done);
    assert.equal(a.value!.generationId, 1);
  });

  test('a follower rejoining with the same protocols in Stable gets the same generation, no rebalance', async () => {
    const h = await stableGroup(2);
    const r = h.group.join(joinReq({ memberId: h.ids[1]! }));
    assert.ok(!(r instanceof Promise), 'answered at once');
    assert.equal((r as JoinResult).generationId, 1);
    assert.equal((r as JoinResult).leader, h.ids[0]);
    assert.equal(h.group.state, 'Stable');
  });

  const rebalancing: Array<{ what: string; who: number; protocols: Array<typeof RANGE> }> = [
    { what: 'the leader rejoining with the same protocols', who: 0, protocols: [RANGE] },
    { what: 'a follower rejoining with new protocols', who: 1, protocols: [RANGE, COOP] },
  ];
  for (const c of rebalancing) {
    test(`${c.what} rebalances a Stable group`, async () => {
      const h = await stableGroup(2);
      const r = h.group.join(joinReq({ memberId: h.ids[c.who]!, protocols: c.protocols }));
      assert.ok(r instanceof Promise);
      assert.equal(h.group.state, 'PreparingRebalance');
    });
  }

  test('a member that lost its JoinGroup response in CompletingRebalance gets it again', async () => {
    const h = harness();
    const first = await h.group.join(joinReq());
    const again = h.group.join(joinReq({ memberId: first.memberId }));
    assert.ok(!(again instanceof Promise));
    assert.deepEqual(again, first);
    assert.equal(h.group.generationId, 1);
  });
});

describe('ClassicGroup: SyncGroup', () => {
  async function completing(): Promise<Harness & { a: string; b: string }> {
    const h = harness({ initialRebalanceDelayMs: INITIAL_DELAY_MS });
    const ja = track(h.group.join(joinReq()));
    const jb = track(h.group.join(joinReq()));
    mock.timers.tick(INITIAL_DELAY_MS);
    const [ra, rb] = await Promise.all([ja.promise, jb.promise]);
    assert.equal(h.group.state, 'CompletingRebalance');
    h.autoPersist = false;
    return { ...h, a: ra.memberId, b: rb.memberId };
  }

  test("every SyncGroup waits until the leader's assignments are stored, then gets its own", async () => {
    const h = await completing();
    const sb = track(h.group.sync(syncReq(h.b, 1)));
    await settle();
    assert.ok(!sb.done, 'the follower waits for the leader');
    assert.equal(h.persists.length, 0);
    const sa = track(h.group.sync(syncReq(h.a, 1, { assignments: assignmentsFor([h.a, h.b]) })));
    await settle();
    assert.equal(h.persists.length, 1, "the leader's SyncGroup stores the group");
    assert.ok(!sa.done && !sb.done, 'nobody is answered before the store completes');
    assert.equal(h.group.state, 'CompletingRebalance');
    h.persists[0]!(ErrorCode.NONE);
    await settle();
    assert.ok(sa.done && sb.done);
    assert.deepEqual(sa.value, {
      errorCode: ErrorCode.NONE,
      protocolType: 'consumer',
      protocolName: 'range',
      assignment: Buffer.from(`for ${h.a}`),
    });
    assert.deepEqual(sb.value!.assignment, Buffer.from(`for ${h.b}`));
    assert.equal(h.group.state, 'Stable');
    // A SyncGroup in Stable is answered at once with the member's assignment.
    const late = h.group.sync(syncReq(h.b, 1));
    assert.ok(!(late instanceof Promise));
    assert.deepEqual((late as SyncResult).assignment, Buffer.from(`for ${h.b}`));
  });

  test('a failed store answers the SyncGroups with its error and rebalances', async () => {
    const h = await completing();
    const sb = track(h.group.sync(syncReq(h.b, 1)));
    const sa = track(h.group.sync(syncReq(h.a, 1, { assignments: assignmentsFor([h.a, h.b]) })));
    h.persists[0]!(ErrorCode.NOT_COORDINATOR);
    await settle();
    assert.equal(sa.value!.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(sb.value!.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(h.group.state, 'PreparingRebalance');
  });

  test('a SyncGroup parked when a rebalance starts gets REBALANCE_IN_PROGRESS', async () => {
    const h = await completing();
    const sb = track(h.group.sync(syncReq(h.b, 1)));
    void h.group.join(joinReq({ clientId: 'newcomer' }));
    await settle();
    assert.equal(sb.value!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const sa = h.group.sync(syncReq(h.a, 1));
    assert.ok(!(sa instanceof Promise));
    assert.equal(sa.errorCode, ErrorCode.REBALANCE_IN_PROGRESS, 'a SyncGroup during a join phase');
  });

  test('a store that completes after the next rebalance began changes nothing', async () => {
    const h = await completing();
    const sa = track(h.group.sync(syncReq(h.a, 1, { assignments: assignmentsFor([h.a, h.b]) })));
    assert.equal(h.group.leave(h.b, null), ErrorCode.NONE);
    await settle();
    assert.equal(sa.value!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    h.persists[0]!(ErrorCode.NONE);
    await settle();
    assert.equal(h.group.state, 'PreparingRebalance');
  });

  const errors: Array<{ what: string; req: (a: string) => SyncRequest; error: number }> = [
    { what: 'an unknown member', req: () => syncReq('nobody', 1), error: ErrorCode.UNKNOWN_MEMBER_ID },
    { what: 'a stale generation', req: (a) => syncReq(a, 0), error: ErrorCode.ILLEGAL_GENERATION },
    { what: 'a future generation', req: (a) => syncReq(a, 2), error: ErrorCode.ILLEGAL_GENERATION },
    {
      what: 'another protocol name',
      req: (a) => syncReq(a, 1, { protocolName: 'roundrobin' }),
      error: ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    },
    { what: 'another protocol type', req: (a) => syncReq(a, 1, { protocolType: 'connect' }), error: ErrorCode.INCONSISTENT_GROUP_PROTOCOL },
  ];
  for (const c of errors) {
    test(`SyncGroup from ${c.what}: ${Object.entries(ErrorCode).find(([, v]) => v === c.error)![0]}`, async () => {
      const h = await stableGroup(1);
      const r = h.group.sync(c.req(h.ids[0]!));
      assert.ok(!(r instanceof Promise));
      assert.equal((r as SyncResult).errorCode, c.error);
    });
  }

  test('SyncGroup without protocol type and name (before v5) is not checked against them', async () => {
    const h = await stableGroup(1);
    const r = h.group.sync(syncReq(h.ids[0]!, 1, { protocolType: null, protocolName: null })) as SyncResult;
    assert.equal(r.errorCode, ErrorCode.NONE);
  });
});

describe('ClassicGroup: heartbeats, commits and session timeouts', () => {
  test('Heartbeat and OffsetCommit answers, by case', async () => {
    const h = await stableGroup(2, { static: true });
    const [a] = h.ids as [string, string];
    const cases: Array<[string, number, number]> = [
      [`hb ${a}`, h.group.heartbeat(a, 'i0', 1), ErrorCode.NONE],
      ['hb stale generation', h.group.heartbeat(a, 'i0', 0), ErrorCode.ILLEGAL_GENERATION],
      ['hb unknown member', h.group.heartbeat('nobody', null, 1), ErrorCode.UNKNOWN_MEMBER_ID],
      ['hb other member id for the instance', h.group.heartbeat('nobody', 'i0', 1), ErrorCode.FENCED_INSTANCE_ID],
      ['commit', h.group.validateCommit(a, 'i0', 1), ErrorCode.NONE],
      ['commit stale generation', h.group.validateCommit(a, 'i0', 3), ErrorCode.ILLEGAL_GENERATION],
      ['commit by a simple consumer to a group with members', h.group.validateCommit('', null, -1), ErrorCode.UNKNOWN_MEMBER_ID],
      ['commit other member id for the instance', h.group.validateCommit('nobody', 'i1', 1), ErrorCode.FENCED_INSTANCE_ID],
      [
        'sync other member id for the instance',
        (h.group.sync(syncReq('nobody', 1, { groupInstanceId: 'i1' })) as SyncResult).errorCode,
        ErrorCode.FENCED_INSTANCE_ID,
      ],
    ];
    for (const [what, got, want] of cases) assert.equal(got, want, what);
  });

  test('a simple consumer may commit to an empty group', () => {
    const h = harness();
    assert.equal(h.group.validateCommit('', null, -1), ErrorCode.NONE);
  });

  test('a member is removed after its session timeout, counted from its last heartbeat', async () => {
    const h = await stableGroup(2);
    const [a, b] = h.ids as [string, string];
    mock.timers.tick(SESSION_MS - 1);
    assert.equal(h.group.heartbeat(a, null, 1), ErrorCode.NONE);
    mock.timers.tick(1);
    assert.ok(!h.group.members.has(b), 'b expired');
    assert.ok(h.group.members.has(a));
    assert.equal(h.group.state, 'PreparingRebalance');
    assert.equal(h.group.heartbeat(a, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const ra = await h.group.join(joinReq({ memberId: a }));
    assert.equal(ra.generationId, 2);
    assert.equal(ra.members.length, 1);
  });

  test('an OffsetCommit keeps the member alive like a heartbeat', async () => {
    const h = await stableGroup(1);
    const [a] = h.ids as [string];
    mock.timers.tick(SESSION_MS - 1);
    assert.equal(h.group.validateCommit(a, null, 1), ErrorCode.NONE);
    mock.timers.tick(SESSION_MS - 1);
    assert.ok(h.group.members.has(a));
    mock.timers.tick(1);
    assert.ok(!h.group.members.has(a));
  });

  test('shutdown stops every timer', async () => {
    const h = await stableGroup(2);
    h.group.shutdown();
    mock.timers.tick(SESSION_MS * 10);
    assert.equal(h.group.members.size, 2);
  });
});

describe('ClassicGroup: LeaveGroup', () => {
  test('a member leaving rebalances the group and the others rejoin without it', async () => {
    const h = await stableGroup(2);
    const [a, b] = h.ids as [string, string];
    assert.equal(h.group.leave(a, null), ErrorCode.NONE);
    assert.equal(h.group.state, 'PreparingRebalance');
    assert.equal(h.group.heartbeat(b, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const rb = await h.group.join(joinReq({ memberId: b }));
    assert.equal(rb.generationId, 2);
    assert.equal(rb.leader, b, 'a new leader when the old one left');
    assert.deepEqual(
      rb.members.map((m) => m.memberId),
      [b],
    );
  });

  test('the last member leaving empties the group: generation bumped, group stored', async () => {
    const h = await stableGroup(1);
    const stored = h.persists.length;
    assert.equal(h.group.leave(h.ids[0]!, null), ErrorCode.NONE);
    mock.timers.tick(0);
    await settle();
    assert.equal(h.group.state, 'Empty');
    assert.equal(h.group.generationId, 2);
    assert.equal(h.group.leaderId, null);
    assert.equal(h.group.protocolName, null);
    assert.equal(h.persists.length, stored + 1);
  });

  const byInstance: Array<{ what: string; memberId: (ids: string[]) => string; instance: string; error: number }> = [
    { what: 'the instance id alone', memberId: () => '', instance: 'i0', error: ErrorCode.NONE },
    { what: 'the instance id and its member id', memberId: (ids) => ids[0]!, instance: 'i0', error: ErrorCode.NONE },
    { what: 'the instance id and another member id', memberId: (ids) => ids[1]!, instance: 'i0', error: ErrorCode.FENCED_INSTANCE_ID },
    { what: 'an unknown instance id', memberId: () => '', instance: 'i9', error: ErrorCode.UNKNOWN_MEMBER_ID },
  ];
  for (const c of byInstance) {
    test(`LeaveGroup with ${c.what}: ${c.error === ErrorCode.NONE ? 'the member leaves' : 'refused'}`, async () => {
      const h = await stableGroup(2, { static: true });
      assert.equal(h.group.leave(c.memberId(h.ids), c.instance), c.error);
      assert.equal(h.group.members.has(h.ids[0]!), c.error !== ErrorCode.NONE);
      assert.equal(h.group.state, c.error === ErrorCode.NONE ? 'PreparingRebalance' : 'Stable');
    });
  }

  test('an unknown member id is UNKNOWN_MEMBER_ID', async () => {
    const h = await stableGroup(1);
    assert.equal(h.group.leave('nobody', null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.group.state, 'Stable');
  });
});

describe('ClassicGroup: static members (KIP-345, KIP-814)', () => {
  test('a follower coming back with a new id keeps its assignment, without a rebalance; the old id is fenced', async () => {
    const h = await stableGroup(2, { static: true });
    const [a, b] = h.ids as [string, string];
    const stored = h.persists.length;
    const r = h.group.join(joinReq({ groupInstanceId: 'i1', clientId: 'c1' }));
    assert.ok(!(r instanceof Promise), 'answered at once');
    const res = r as JoinResult;
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.notEqual(res.memberId, b);
    assert.equal(res.generationId, 1);
    assert.equal(res.leader, a);
    assert.deepEqual(res.members, []);
    assert.equal(h.group.state, 'Stable');
    assert.equal(h.group.staticMembers.get('i1'), res.memberId);
    assert.equal(h.persists.length, stored + 1, 'the new member id is stored');
    const s = h.group.sync(syncReq(res.memberId, 1, { groupInstanceId: 'i1' })) as SyncResult;
    assert.deepEqual(s.assignment, Buffer.from(`for ${b}`));
    assert.equal(h.group.heartbeat(b, 'i1', 1), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((h.group.sync(syncReq(b, 1, { groupInstanceId: 'i1' })) as SyncResult).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await h.group.join(joinReq({ memberId: b, groupInstanceId: 'i1' }))).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  const leaders: Array<{ supportsSkipAssignment: boolean; skipAssignment: boolean; members: number }> = [
    // KIP-814 (JoinGroup v9+): told to skip the assignment, with the member list.
    { supportsSkipAssignment: true, skipAssignment: true, members: 2 },
    // Older: no members, so it has nothing to assign.
    { supportsSkipAssignment: false, skipAssignment: false, members: 0 },
  ];
  for (const c of leaders) {
    test(`the leader coming back (supportsSkipAssignment=${c.supportsSkipAssignment}) stays leader: skipAssignment=${c.skipAssignment}, ${c.members} members`, async () => {
      const h = await stableGroup(2, { static: true });
      const r = h.group.join(joinReq({ groupInstanceId: 'i0', supportsSkipAssignment: c.supportsSkipAssignment })) as JoinResult;
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.leader, r.memberId);
      assert.equal(h.group.leaderId, r.memberId);
      assert.equal(r.skipAssignment, c.skipAssignment);
      assert.equal(r.members.length, c.members);
      assert.equal(r.generationId, 1);
      assert.equal(h.group.state, 'Stable');
      const s = h.group.sync(syncReq(r.memberId, 1, { groupInstanceId: 'i0' })) as SyncResult;
      assert.deepEqual(s.assignment, Buffer.from(`for ${h.ids[0]}`));
    });
  }

  test('a static member coming back with other protocols rebalances', async () => {
    const h = await stableGroup(2, { static: true });
    const r = h.group.join(joinReq({ groupInstanceId: 'i1', protocols: [RANGE, COOP] }));
    assert.ok(r instanceof Promise);
    assert.equal(h.group.state, 'PreparingRebalance');
    assert.ok(!h.group.members.has(h.ids[1]!));
  });

  test('a static member replaced while its JoinGroup is parked: the old request is fenced, the new one joins', async () => {
    const h = await stableGroup(2, { static: true });
    const [a, b] = h.ids as [string, string];
    const old = track(h.group.join(joinReq({ memberId: b, groupInstanceId: 'i1', protocols: [RANGE, COOP] })));
    await settle();
    assert.equal(h.group.state, 'PreparingRebalance');
    const fresh = track(h.group.join(joinReq({ groupInstanceId: 'i1', protocols: [RANGE, COOP] })));
    await settle();
    assert.equal(old.value!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.ok(!fresh.done, 'the new incarnation waits for the barrier like any member');
    const ra = track(h.group.join(joinReq({ memberId: a, groupInstanceId: 'i0' })));
    await settle();
    assert.ok(fresh.done && ra.done);
    assert.equal(fresh.value!.generationId, 2);
    assert.deepEqual(ra.value!.members.map((m) => m.groupInstanceId).sort(), ['i0', 'i1']);
  });

  test('a static member that does not come back within its session is removed', async () => {
    const h = await stableGroup(2, { static: true });
    mock.timers.tick(SESSION_MS - 1);
    assert.equal(h.group.heartbeat(h.ids[0]!, 'i0', 1), ErrorCode.NONE);
    mock.timers.tick(1);
    assert.ok(!h.group.staticMembers.has('i1'));
    assert.equal(h.group.state, 'PreparingRebalance');
  });
});

describe('ClassicGroup: persistence', () => {
  test('toRecord and restore give back a Stable group whose members must heartbeat', async () => {
    const h = await stableGroup(2, { static: true });
    const rec = h.group.toRecord();
    assert.equal(rec.generation, 1);
    assert.equal(rec.leader, h.ids[0]);
    assert.equal(rec.protocol, 'range');
    assert.deepEqual(
      rec.members.map((m) => m.subscription),
      [RANGE.metadata, RANGE.metadata],
    );
    const restored = ClassicGroup.restore('g', rec, {
      initialRebalanceDelayMs: 0,
      maxSize: 100,
      persist: async () => 0,
      onStateChange: () => {},
    });
    assert.equal(restored.state, 'Stable');
    assert.equal(restored.generationId, 1);
    assert.equal(restored.staticMembers.get('i1'), h.ids[1]);
    const s = restored.sync(syncReq(h.ids[1]!, 1, { groupInstanceId: 'i1' })) as SyncResult;
    assert.deepEqual(s.assignment, Buffer.from(`for ${h.ids[1]}`));
    mock.timers.tick(SESSION_MS - 1);
    assert.equal(restored.heartbeat(h.ids[0]!, 'i0', 1), ErrorCode.NONE);
    mock.timers.tick(SESSION_MS - 1);
    assert.ok(restored.members.has(h.ids[0]!));
    assert.ok(!restored.members.has(h.ids[1]!), 'it did not heartbeat since its SyncGroup');
    restored.shutdown();
  });
});
