/**
 * JsonObjectSplitter (streamed REST produce): a body of JSON objects back to back, cut into chunks
 * anywhere (inside strings, between a backslash and what it escapes, between objects), gives back
 * exactly the objects' texts; stray text between objects and an object past the bound are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonObjectSplitter } from '../../src/http/rest-v3.js';

function randomObjects(seed: number, n: number): string[] {
  let x = seed;
  const rand = (k: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % k;
  };
  const pieces = ['a', '"', '\\', '\\\\', '{', '}', '[', ']', 'é', '😀', ' ', '\n', ':', ','];
  const text = () => Array.from({ length: rand(12) }, () => pieces[rand(pieces.length)]!).join('');
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      partition_id: i,
      value: { type: 'STRING', data: text() },
      headers: [{ name: text(), value: null }],
      nested: { a: [1, { b: text() }] },
    }),
  );
}

test('objects come back whole whatever the chunk boundaries', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const objects = randomObjects(seed, 30);
    // Bytes, cut anywhere: inside multi-byte characters too.
    const body = Buffer.from(objects.join(seed % 2 === 0 ? '\n' : ''));
    for (const size of [1, 2, 3, 7, 64, body.length]) {
      const s = new JsonObjectSplitter(1 << 20);
      const got: string[] = [];
      for (let at = 0; at < body.length; at += size) got.push(...s.push(body.subarray(at, at + size)));
      assert.deepEqual(got, objects, `seed ${seed}, chunks of ${size}`);
      assert.equal(s.unfinished, false);
    }
  }
});

test('a body cut inside an object is unfinished; stray text and an oversized object are refused', () => {
  const s = new JsonObjectSplitter(1 << 20);
  const b = (text: string) => Buffer.from(text);
  assert.deepEqual(s.push(b('{"a":"x\\"}')), []);
  assert.equal(s.unfinished, true);
  assert.deepEqual(s.push(b('"}')), ['{"a":"x\\"}"}']);
  assert.throws(() => new JsonObjectSplitter(100).push(b('{"a":1} nope')), /unexpected "n"/);
  assert.throws(() => new JsonObjectSplitter(100).push(b(`{"a":"${'x'.repeat(200)}`)), /larger than 100 bytes/);
});
