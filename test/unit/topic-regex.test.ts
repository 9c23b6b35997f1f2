/**
 * Unit tests of the KIP-848 topic-regex checker (src/group/topic-regex.ts): full-match semantics,
 * the RE2 syntax franz accepts, and the shapes it refuses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTopicRegex, riskyRepetition } from '../../src/group/topic-regex.js';

describe('compileTopicRegex: accepted patterns match whole topic names', () => {
  const cases: Array<{ source: string; matches: string[]; rejects: string[] }> = [
    { source: 'orders-.*', matches: ['orders-eu', 'orders-'], rejects: ['orders', 'xorders-eu'] },
    // The alternation is wrapped before anchoring: `a|b` must not match "ab" (as ^a|b$ would).
    { source: 'a|b', matches: ['a', 'b'], rejects: ['ab', 'ba', ''] },
    { source: 'topic', matches: ['topic'], rejects: ['topic2', 'my-topic'] },
    { source: '__consumer_offsets', matches: ['__consumer_offsets'], rejects: ['__consumer_offsets2'] },
    // RE2's named group syntax.
    { source: '(?P<region>eu|us)-\\d+', matches: ['eu-1', 'us-42'], rejects: ['ap-1', 'eu-'] },
    // A quantified group without inner repetition or alternation is linear.
    { source: '(ab)+', matches: ['ab', 'abab'], rejects: ['aba', ''] },
    { source: '(a){2}', matches: ['aa'], rejects: ['a', 'aaa'] },
    { source: '(a|b)?c', matches: ['c', 'ac', 'bc'], rejects: ['abc'] },
    // Parentheses inside a character class or escaped are literals, not groups.
    { source: '[(]+', matches: ['(', '(('], rejects: [')'] },
    { source: '\\(a+\\)+', matches: ['(a)', '(aa))'], rejects: ['a'] },
    // A `]` first in a class is a literal, as in RE2 (JavaScript alone would read `[]` as a
    // class that matches nothing and `[^]` as one that matches anything).
    { source: '[]a]+', matches: [']a]', 'a'], rejects: ['b'] },
    { source: '[^]a]+x', matches: ['bbx'], rejects: [']x', 'ax', 'b]x'] },
    { source: '[\\](]+(x+)', matches: ['](x', '((xx'], rejects: ['x'] },
    // `(?P<` is rewritten only where it opens a group, not inside a class.
    { source: '[(?P<]+', matches: ['P<', '(?'], rejects: ['x'] },
  ];
  for (const c of cases) {
    test(`/${c.source}/ matches ${JSON.stringify(c.matches)} and not ${JSON.stringify(c.rejects)}`, () => {
      const re = compileTopicRegex(c.source);
      assert.ok(re instanceof RegExp, `refused: ${String(re)}`);
      for (const name of c.matches) assert.ok(re.test(name), `${name} should match`);
      for (const name of c.rejects) assert.ok(!re.test(name), `${name} should not match`);
    });
  }
});

describe('compileTopicRegex: refused patterns say why', () => {
  const cases: Array<{ source: string; reason: RegExp }> = [
    { source: '(a)\\1', reason: /backreferences/ },
    { source: '(?<n>a)\\k<n>', reason: /backreferences/ },
    { source: '(?=a)a', reason: /lookaround/ },
    { source: '(?!a)b', reason: /lookaround/ },
    { source: 'b(?<=a)', reason: /lookaround/ },
    { source: 'b(?<!a)', reason: /lookaround/ },
    { source: '(a+)+', reason: /repetition of a group .* offset 4/ },
    { source: '(a|aa)*', reason: /repetition of a group/ },
    { source: '(\\d{1,3})+x', reason: /repetition of a group/ },
    // The inner group repeats, so the outer quantified group repeats a repetition.
    { source: '((a)*)+', reason: /repetition of a group .* offset 6/ },
    { source: '(x(a|b))*', reason: /repetition of a group/ },
    { source: '(', reason: /./ },
    { source: '[a', reason: /./ },
    { source: 'a{2,1}', reason: /./ },
  ];
  for (const c of cases) {
    test(`/${c.source}/ is refused (${c.reason.source})`, () => {
      const r = compileTopicRegex(c.source);
      assert.equal(typeof r, 'string', `accepted: ${String(r)}`);
      assert.match(r as string, c.reason);
    });
  }
});

// Regression: `[^](a+)+]` is one character class to RE2 and to the checker (any character but
// `](a+)`), so the checker let it through. Compiled unchanged, JavaScript read `[^]` (anything)
// then `(a+)+` then `]`, and took seconds on a 28-character topic name.
test('a class opening with ] compiles to the one class the checker saw', () => {
  const re = compileTopicRegex('[^](a+)+]');
  assert.ok(re instanceof RegExp);
  assert.equal(re.test('b'), true);
  assert.equal(re.test('a'), false);
  // What the JavaScript reading would match:
  assert.equal(re.test('xa]'), false);
});

describe('riskyRepetition', () => {
  const cases: Array<[string, boolean]> = [
    ['abc', false],
    ['a+b*c{2}', false],
    ['(abc)*', false],
    ['(a*)', false],
    ['(a*)+', true],
    ['(a|b)+', true],
    ['(a|b){3}', true],
    ['[(a+)]+', false],
    ['\\(a+\\)*', false],
    ['((ab)c)+', false],
    ['((ab)+c)+', true],
  ];
  for (const [source, risky] of cases) {
    test(`${source}: ${risky ? 'risky' : 'safe'}`, () => {
      assert.equal(riskyRepetition(source) !== null, risky);
    });
  }
});
