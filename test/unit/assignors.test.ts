/**
 * Unit tests of the KIP-848 server-side assignors (src/group/assignors.ts): what every assignment
 * must satisfy (each subscribed partition exactly once, only to a subscriber), the balance each
 * assignor promises, the uniform assignor's stickiness, range's layout, determinism, and that
 * racks change nothing. Random specs come from a seeded generator, so a failure is reproducible.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AssignmentSpec,
  type AssignorMember,
  type GroupAssignment,
  rangeAssignor,
  SERVER_ASSIGNORS,
  type ServerAssignor,
  uniformAssignor,
} from '../../src/group/assignors.js';

const ASSIGNORS: ServerAssignor[] = [uniformAssignor, rangeAssignor];

function member(memberId: string, subscribedTopicIds: string[], over: Partial<AssignorMember> = {}): AssignorMember {
  return { memberId, instanceId: null, rackId: null, subscribedTopicIds, ...over };
}

function spec(members: AssignorMember[], topics: Record<string, number>): AssignmentSpec {
  return { members, topics: new Map(Object.entries(topics)) };
}

/** Partitions each member got, as "topic-partition" strings. */
function flat(a: GroupAssignment, memberId: string): string[] {
  const out: string[] = [];
  for (const [t, ps] of a.get(memberId) ?? new Map<string, number[]>()) for (const p of ps) out.push(`${t}-${p}`);
  return out.sort();
}

function counts(a: GroupAssignment, members: readonly AssignorMember[]): number[] {
  return members.map((m) => flat(a, m.memberId).length);
}

/** Every partition of a subscribed topic goes to exactly one of its subscribers; nothing else is assigned. */
function assertComplete(s: AssignmentSpec, a: GroupAssignment): void {
  assert.deepEqual(new Set(a.keys()), new Set(s.members.map((m) => m.memberId)), 'every member appears');
  const owner = new Map<string, string>();
  for (const m of s.members) {
    for (const [t, ps] of a.get(m.memberId)!) {
      assert.ok(m.subscribedTopicIds.includes(t), `${m.memberId} got ${t} without subscribing to it`);
      assert.deepEqual(
        ps,
        [...ps].sort((x, y) => x - y),
        'partitions are sorted',
      );
      for (const p of ps) {
        const key = `${t}-${p}`;
        assert.ok(p >= 0 && p < s.topics.get(t)!, `${key} does not exist`);
        assert.ok(!owner.has(key), `${key} is assigned to ${owner.get(key)} and ${m.memberId}`);
        owner.set(key, m.memberId);
      }
    }
  }
  for (const [t, n] of s.topics) {
    const subscribed = s.members.some((m) => m.subscribedTopicIds.includes(t));
    for (let p = 0; p < n; p++) assert.equal(owner.has(`${t}-${p}`), subscribed, `${t}-${p}`);
  }
}

/** Uniform's balance: no member could take a partition from one with two or more more partitions. */
function assertUniformBalance(s: AssignmentSpec, a: GroupAssignment): void {
  for (const heavy of s.members) {
    for (const light of s.members) {
      const h = flat(a, heavy.memberId);
      const l = flat(a, light.memberId);
      if (h.length < l.length + 2) continue;
      const movable = [...a.get(heavy.memberId)!.keys()].filter((t) => light.subscribedTopicIds.includes(t));
      assert.deepEqual(movable, [], `${light.memberId} (${l.length}) could take from ${heavy.memberId} (${h.length})`);
    }
  }
}

/** A small seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random spec: 1-8 members, 1-5 topics of 0-12 partitions, homogeneous or not, some with a current target. */
function randomSpec(seed: number, previous?: GroupAssignment): AssignmentSpec {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const topics: Record<string, number> = {};
  const nTopics = 1 + int(5);
  for (let i = 0; i < nTopics; i++) topics[`t${i}`] = int(13);
  const names = Object.keys(topics);
  const homogeneous = rnd() < 0.5;
  const members: AssignorMember[] = [];
  const nMembers = 1 + int(8);
  for (let i = 0; i < nMembers; i++) {
    const subs = homogeneous ? names : names.filter(() => rnd() < 0.6);
    const id = `m${int(1000)}-${i}`;
    members.push(member(id, subs, { instanceId: rnd() < 0.3 ? `i${int(100)}` : null, rackId: rnd() < 0.5 ? `rack${int(3)}` : null }));
  }
  if (previous !== undefined) {
    // Current targets drawn from an earlier assignment, given to arbitrary members (some overlapping).
    const olds = [...previous.values()];
    for (const m of members) if (olds.length > 0 && rnd() < 0.7) m.current = olds[int(olds.length)];
  }
  return spec(members, topics);
}

describe('assignors: every subscribed partition exactly once, only to subscribers', () => {
  for (const assignor of ASSIGNORS) {
    test(`${assignor.name}: 300 random specs`, () => {
      for (let seed = 1; seed <= 300; seed++) {
        const first = assignor.assign(randomSpec(seed));
        const s = randomSpec(seed + 10_000, first);
        const a = assignor.assign(s);
        try {
          assertComplete(s, a);
          if (assignor === uniformAssignor) assertUniformBalance(s, a);
        } catch (e) {
          throw new Error(`seed ${seed}: ${(e as Error).message}`);
        }
      }
    });

    test(`${assignor.name}: no members, no topics, topics nobody subscribes to`, () => {
      assert.deepEqual(assignor.assign(spec([], { t: 3 })), new Map());
      const s = spec([member('a', ['t', 'missing']), member('b', [])], { t: 2, u: 5 });
      const a = assignor.assign(s);
      assertComplete(s, a);
      assert.deepEqual(flat(a, 'a'), ['t-0', 't-1']);
      assert.deepEqual(flat(a, 'b'), []);
    });
  }

  test('SERVER_ASSIGNORS names both', () => {
    assert.deepEqual([...SERVER_ASSIGNORS.keys()].sort(), ['range', 'uniform']);
    assert.equal(SERVER_ASSIGNORS.get('uniform'), uniformAssignor);
  });
});

describe('uniform: balance', () => {
  const cases: Array<{ members: number; topics: Record<string, number>; expected: number[] }> = [
    { members: 3, topics: { t: 7 }, expected: [3, 2, 2] },
    { members: 4, topics: { t: 2 }, expected: [1, 1, 0, 0] },
    { members: 2, topics: { t: 3, u: 3 }, expected: [3, 3] },
    { members: 5, topics: { t: 10, u: 1, v: 4 }, expected: [3, 3, 3, 3, 3] },
  ];
  for (const c of cases) {
    test(`${c.members} members with the same subscriptions, ${JSON.stringify(c.topics)}: counts ${c.expected.join('/')}`, () => {
      const members = Array.from({ length: c.members }, (_, i) => member(`m${i}`, Object.keys(c.topics)));
      const s = spec(members, c.topics);
      const a = uniformAssignor.assign(s);
      assertComplete(s, a);
      assert.deepEqual(
        counts(a, members).sort((x, y) => y - x),
        c.expected,
      );
    });
  }

  test('different subscriptions: a member alone on a topic gets it, the shared topic evens the counts', () => {
    const members = [member('a', ['t', 'u']), member('b', ['t'])];
    const s = spec(members, { t: 6, u: 4 });
    const a = uniformAssignor.assign(s);
    assertComplete(s, a);
    assert.equal(flat(a, 'a').filter((x) => x.startsWith('u-')).length, 4);
    assert.deepEqual(counts(a, members), [5, 5]);
  });
});

describe('uniform: stickiness', () => {
  const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  function withCurrent(a: GroupAssignment, members: AssignorMember[]): AssignorMember[] {
    return members.map((m) => ({ ...m, current: a.get(m.memberId) }));
  }

  function moved(before: GroupAssignment, after: GroupAssignment, memberIds: string[]): number {
    let n = 0;
    for (const id of memberIds) {
      const kept = new Set(flat(after, id));
      n += flat(before, id).filter((x) => !kept.has(x)).length;
    }
    return n;
  }

  const cases: Array<{ what: string; from: number; to: number; partitions: number; moves: number }> = [
    { what: 'a third member joins 2 members with 6 partitions', from: 2, to: 3, partitions: 6, moves: 2 },
    { what: 'a fifth member joins 4 members with 20 partitions', from: 4, to: 5, partitions: 20, moves: 4 },
    { what: 'a member leaves 3 members with 9 partitions', from: 3, to: 2, partitions: 9, moves: 0 },
    { what: 'two members leave 5 members with 10 partitions', from: 5, to: 3, partitions: 10, moves: 0 },
  ];
  for (const c of cases) {
    test(`${c.what}: ${c.moves} partitions change hands, the rest stay`, () => {
      const before = uniformAssignor.assign(
        spec(
          ids('m', c.from).map((id) => member(id, ['t'])),
          { t: c.partitions },
        ),
      );
      const members = withCurrent(
        before,
        ids('m', c.to).map((id) => member(id, ['t'])),
      );
      const s = spec(members, { t: c.partitions });
      const after = uniformAssignor.assign(s);
      assertComplete(s, after);
      const stayed = ids('m', Math.min(c.from, c.to));
      assert.equal(moved(before, after, stayed), c.moves);
      // Members that stay only lose partitions, never gain foreign ones, when the group grows.
      if (c.to > c.from)
        for (const id of stayed) for (const x of flat(after, id)) assert.ok(flat(before, id).includes(x), `${id} got ${x}`);
    });
  }

  test('members that keep more get the larger quotas', () => {
    // 7 partitions, 3 members: quotas 3/2/2. a kept 4 and b kept 3; a keeps 3 of its own, b 2.
    const members = [
      member('a', ['t'], { current: new Map([['t', [0, 1, 2, 3]]]) }),
      member('b', ['t'], { current: new Map([['t', [4, 5, 6]]]) }),
      member('c', ['t']),
    ];
    const a = uniformAssignor.assign(spec(members, { t: 7 }));
    assert.equal(flat(a, 'a').length, 3);
    assert.ok(flat(a, 'a').every((x) => ['t-0', 't-1', 't-2', 't-3'].includes(x)));
    assert.equal(flat(a, 'b').length, 2);
    assert.ok(flat(a, 'b').every((x) => ['t-4', 't-5', 't-6'].includes(x)));
    assert.equal(flat(a, 'c').length, 2);
  });

  test('a current target is kept only where it is still valid', () => {
    const members = [
      // u is no longer subscribed, t-9 no longer exists, t-1 is claimed by both: the first keeps it.
      member('a', ['t'], {
        current: new Map([
          ['t', [1, 9]],
          ['u', [0]],
        ]),
      }),
      member('b', ['t', 'u'], { current: new Map([['t', [1, 2]]]) }),
    ];
    const s = spec(members, { t: 3, u: 1 });
    const a = uniformAssignor.assign(s);
    assertComplete(s, a);
    assert.ok(flat(a, 'a').includes('t-1'));
    assert.ok(flat(a, 'b').includes('t-2'));
    assert.ok(flat(a, 'b').includes('u-0'));
  });

  test('re-running on its own output changes nothing', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const s = randomSpec(seed);
      const first = uniformAssignor.assign(s);
      const again = uniformAssignor.assign(spec(withCurrent(first, [...s.members]), Object.fromEntries(s.topics)));
      assert.deepEqual(again, first, `seed ${seed}`);
    }
  });
});

describe('range: layout', () => {
  test('per topic, consecutive ranges in member order, the first P%N members one more', () => {
    const members = [member('c', ['t']), member('a', ['t']), member('b', ['t'])];
    const a = rangeAssignor.assign(spec(members, { t: 8 }));
    assert.deepEqual(a.get('a')!.get('t'), [0, 1, 2]);
    assert.deepEqual(a.get('b')!.get('t'), [3, 4, 5]);
    assert.deepEqual(a.get('c')!.get('t'), [6, 7]);
  });

  test('static members are ordered by instance id', () => {
    const members = [member('a', ['t'], { instanceId: 'z' }), member('b', ['t'], { instanceId: 'y' })];
    const a = rangeAssignor.assign(spec(members, { t: 4 }));
    assert.deepEqual(a.get('b')!.get('t'), [0, 1]);
    assert.deepEqual(a.get('a')!.get('t'), [2, 3]);
  });

  test('co-partitioned topics: a member gets the same partition numbers of each', () => {
    const members = ['a', 'b', 'c'].map((id) => member(id, ['orders', 'payments']));
    const a = rangeAssignor.assign(spec(members, { orders: 5, payments: 5 }));
    for (const id of ['a', 'b', 'c']) assert.deepEqual(a.get(id)!.get('orders'), a.get(id)!.get('payments'), id);
  });

  test('a topic is split only among its subscribers', () => {
    const members = [member('a', ['t', 'u']), member('b', ['t'])];
    const s = spec(members, { t: 4, u: 3 });
    const a = rangeAssignor.assign(s);
    assertComplete(s, a);
    assert.deepEqual(a.get('a')!.get('u'), [0, 1, 2]);
    assert.deepEqual(a.get('a')!.get('t'), [0, 1]);
    assert.deepEqual(a.get('b')!.get('t'), [2, 3]);
  });

  test("balance per topic: a topic's shares differ by at most one", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const s = randomSpec(seed);
      const a = rangeAssignor.assign(s);
      for (const t of s.topics.keys()) {
        const shares = s.members.filter((m) => m.subscribedTopicIds.includes(t)).map((m) => a.get(m.memberId)!.get(t)?.length ?? 0);
        if (shares.length > 0) assert.ok(Math.max(...shares) - Math.min(...shares) <= 1, `seed ${seed} topic ${t}: ${shares}`);
      }
    }
  });
});

describe('assignors: determinism and racks', () => {
  for (const assignor of ASSIGNORS) {
    test(`${assignor.name}: the member order of the input does not matter`, () => {
      for (let seed = 1; seed <= 100; seed++) {
        const s = randomSpec(seed, assignor.assign(randomSpec(seed + 500)));
        const reversed = spec([...s.members].reverse(), Object.fromEntries([...s.topics].reverse()));
        assert.deepEqual(assignor.assign(reversed), assignor.assign(s), `seed ${seed}`);
      }
    });

    test(`${assignor.name}: racks change nothing (single node)`, () => {
      for (let seed = 1; seed <= 100; seed++) {
        const s = randomSpec(seed);
        const noRacks = spec(
          s.members.map((m) => ({ ...m, rackId: null })),
          Object.fromEntries(s.topics),
        );
        const otherRacks = spec(
          s.members.map((m, i) => ({ ...m, rackId: `r${i % 2}` })),
          Object.fromEntries(s.topics),
        );
        const a = assignor.assign(s);
        assert.deepEqual(assignor.assign(noRacks), a, `seed ${seed}`);
        assert.deepEqual(assignor.assign(otherRacks), a, `seed ${seed}`);
      }
    });
  }
});
