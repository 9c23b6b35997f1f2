/**
 * Golden request frames captured from real clients (kafkajs, kcat/librdkafka, the Java client) by
 * test/tools/capture-golden.ts: each must decode cleanly with every byte consumed, and re-encode to
 * exactly the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codecForKey } from '../../src/protocol/codecs.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { readRequestHeader, skipHeaderTags, writeRequestHeader } from '../../src/protocol/header.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'golden');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('golden frames exist for kafkajs, kcat and the Java client', () => {
  assert.deepEqual(files.sort(), ['java.json', 'kafkajs.json', 'kcat.json']);
});

for (const file of files) {
  const { client, frames } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    client: string;
    frames: Array<{ apiKey: number; apiVersion: number; hex: string }>;
  };
  test(`${client}: ${frames.length} captured requests decode and re-encode byte for byte`, () => {
    assert.ok(frames.length > 0);
    for (const f of frames) {
      const bytes = Buffer.from(f.hex, 'hex');
      const r = new Reader(bytes);
      const header = readRequestHeader(r);
      assert.equal(header.apiKey, f.apiKey);
      const codec = codecForKey(f.apiKey)!.at(f.apiVersion);
      if (codec.flexible) skipHeaderTags(r);
      const body = codec.decodeRequest(r);
      const what = `${client} api ${f.apiKey} v${f.apiVersion}`;
      assert.equal(r.bad, false, `${what} decodes`);
      assert.equal(r.pos, bytes.length, `${what} consumes every byte`);
      const w = new Writer();
      writeRequestHeader(w, header, codec.flexible);
      codec.encodeRequest(w, body);
      assert.equal(w.toBuffer().toString('hex'), f.hex, `${what} re-encodes identically`);
    }
  });
}
