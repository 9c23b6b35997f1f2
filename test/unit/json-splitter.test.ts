/**
 * JsonObjectSplitter (streamed REST produce): a body of JSON objects, one per line, back to back,
 * or pretty-printed over several lines, cut into chunks anywhere (inside strings, inside multi-byte
 * characters, between a backslash and what it escapes, between objects), gives back exactly the
 * objects' texts, with their values where it parsed them; stray text between objects and an
 * object past the bound are refused after the objects before them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type JsonObjectText, JsonObjectSplitter } from '../../src/http/rest-v3.js';

function randomObjects(seed: number, n: number): unknown[] {
  let x = seed;
  const rand = (k: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % k;
  };
  const pieces = ['a', '"', '\\', '\\\\', '{', '}', '[', ']', 'é', '😀', ' ', '\n', ':', ','];
  const text = () => Array.from({ length: rand(12) }, () => pieces[rand(pieces.length)]!).join('');
  return Array.from({ length: n }, (_, i) => ({
    partition_id: i,
    value: { type: 'STRING', data: text() },
    headers: [{ name: text(), value: null }],
    nested: { a: [1, { b: text() }] },
  }));
}

function split(body: Buffer, size: number, max = 1 << 20): JsonObjectText[] {
  const s = new JsonObjectSplitter(max);
  const got: JsonObjectText[] = [];
  for (let at = 0; at < body.length; at += size) got.push(...s.push(body.subarray(at, at + size)));
  assert.equal(s.unfinished, false);
  return got;
}

test('objects come back whole whatever the layout and the chunk boundaries', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const objects = randomObjects(seed, 30);
    const layouts: Array<[string, string[]]> = [
      ['one per line', objects.map((o) => `${JSON.stringify(o)}\n`)],
      ['back to back', objects.map((o) => JSON.stringify(o))],
      ['pretty-printed', objects.map((o) => `${JSON.stringify(o, null, 2)}\r\n`)],
      ['mixed', objects.map((o, i) => (i % 3 === 0 ? JSON.stringify(o) : `${JSON.stringify(o)}  \n`))],
    ];
    for (const [layout, texts] of layouts) {
      // Bytes, cut anywhere: inside multi-byte characters too.
      const body = Buffer.from(texts.join(''));
      for (const size of [1, 2, 3, 7, 64, 1000, body.length]) {
        const got = split(body, size);
        assert.deepEqual(
          got.map((o) => JSON.parse(o.text)),
          objects,
          `seed ${seed}, ${layout}, chunks of ${size}`,
        );
        for (const o of got) if (o.parsed) assert.deepEqual(o.value, JSON.parse(o.text));
      }
    }
  }
});

test('whole lines are parsed where they are one object; other objects are scanned out', () => {
  const body = Buffer.from('{"a":1}\n{"b":2}{"c":3}\n{"d":\n4}\n{"e":5}');
  const got = split(body, body.length);
  assert.deepEqual(
    got.map((o) => [o.text, o.parsed]),
    [
      ['{"a":1}', true],
      ['{"b":2}', false],
      ['{"c":3}', false],
      ['{"d":\n4}', false],
      ['{"e":5}', false],
    ],
  );
});

test('a body cut inside an object is unfinished; stray text and an oversized object are refused', () => {
  const s = new JsonObjectSplitter(1 << 20);
  const b = (text: string) => Buffer.from(text);
  assert.deepEqual(s.push(b('{"a":"x\\"}')), []);
  assert.equal(s.unfinished, true);
  assert.deepEqual(
    s.push(b('"}')).map((o) => o.text),
    ['{"a":"x\\"}"}'],
  );
  // A fault: the objects before it come back, the fault is kept, nothing after it is read.
  const stray = new JsonObjectSplitter(100);
  assert.deepEqual(
    stray.push(b('{"a":1} nope {"b":2}')).map((o) => o.text),
    ['{"a":1}'],
  );
  assert.match(stray.failure?.message ?? '', /unexpected "n"/);
  assert.equal(stray.failure?.status, 400);
  assert.deepEqual(stray.push(b('{"c":3}\n')), []);
  const big = new JsonObjectSplitter(100);
  assert.deepEqual(big.push(b(`{"a":"${'x'.repeat(200)}`)), []);
  assert.equal(big.failure?.status, 413);
  assert.match(big.failure?.message ?? '', /larger than 100 bytes/);
});
