/**
 * A null where Kafka's schema forbids one (a string, bytes or array field whose nullableVersions
 * leave out the version read) makes the request malformed in the protocol layer, for every such
 * field of every API and version franz serves: the decoder flags it, so no handler ever sees it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../src/handlers/index.js';
import { structCodec } from '../../src/protocol/codec.js';
import { codecForKey } from '../../src/protocol/codecs.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { inVersions, type Field } from '../../src/protocol/schema.js';
import type { Message } from '../helpers/raw.js';

/** A request with every field present and non-null, and one element in every array. */
function sample(fields: readonly Field[], version: number): Message {
  const m: Message = {};
  for (const f of fields) {
    if (!inVersions(f.versions, version) && !inVersions(f.taggedVersions, version)) continue;
    if (f.type === '[]') m[f.name] = [sample(f.fields ?? [], version)];
    else if (f.type === 'struct') m[f.name] = sample(f.fields ?? [], version);
    else if (f.type === '[]string') m[f.name] = ['s'];
    else if (f.type.startsWith('[]')) m[f.name] = [1];
    else if (f.type === 'string') m[f.name] = 'name';
    else if (f.type === 'bytes' || f.type === 'records') m[f.name] = Buffer.from([1, 2, 3]);
    else if (f.type === 'bool') m[f.name] = true;
    else if (f.type === 'uuid') m[f.name] = '0123456789abcdef0123456789abcdef';
    else m[f.name] = 1;
  }
  return m;
}

interface Target {
  /** Field names from the top, through the first element of each array. */
  path: string[];
  field: Field;
}

/** Every string, bytes, records or array field present and not nullable in `version`, at any depth. */
function nonNullable(fields: readonly Field[], version: number, prefix: string[] = []): Target[] {
  const out: Target[] = [];
  for (const f of fields) {
    if (!inVersions(f.versions, version) && !inVersions(f.taggedVersions, version)) continue;
    const path = [...prefix, f.name];
    const nullableType = f.type === 'string' || f.type === 'bytes' || f.type === 'records' || f.type.startsWith('[]');
    if (nullableType && !inVersions(f.nullableVersions, version)) out.push({ path, field: f });
    if ((f.type === '[]' || f.type === 'struct') && f.fields !== undefined) out.push(...nonNullable(f.fields, version, path));
  }
  return out;
}

/** The field list with `target` made nullable, so an encoder compiled from it writes the null. */
function withNullable(fields: readonly Field[], target: Field): Field[] {
  return fields.map((f) => {
    if (f === target) return { ...f, nullableVersions: '0+' };
    if (f.fields !== undefined) return { ...f, fields: withNullable(f.fields, target) };
    return f;
  });
}

function setAt(m: Message, path: readonly string[], value: unknown): void {
  let at: Message = m;
  for (const name of path.slice(0, -1)) at = Array.isArray(at[name]) ? at[name][0] : at[name];
  at[path.at(-1)!] = value;
}

test('a null in every non-nullable field of every served API and version is a malformed request', () => {
  const registry = createRegistry();
  let checked = 0;
  for (const { apiKey, minVersion, maxVersion } of registry.apiVersions()) {
    const route = registry.get(apiKey)!;
    const codec = codecForKey(apiKey)!;
    const lowest = Math.max(minVersion, route.handler.versions[0]);
    for (let version = lowest; version <= maxVersion; version++) {
      const vc = codec.at(version);
      const fields = codec.spec.request;
      // The same request without the null decodes cleanly: the null alone makes the difference.
      const good = new Writer(64);
      vc.encodeRequest(good, sample(fields, version));
      const goodReader = new Reader(good.toBuffer());
      vc.decodeRequest(goodReader);
      assert.equal(goodReader.bad, false, `${codec.spec.name} v${version}: the sample decodes`);
      for (const target of nonNullable(fields, version)) {
        const body = sample(fields, version);
        setAt(body, target.path, null);
        const w = new Writer(64);
        structCodec(withNullable(fields, target.field), version, vc.flexible).encode(w, body);
        const r = new Reader(w.toBuffer());
        vc.decodeRequest(r);
        assert.equal(r.bad, true, `${codec.spec.name} v${version}: null ${target.path.join('.')} is malformed`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 400, `only ${checked} fields checked`);
});

test('a null where the field is nullable still decodes', () => {
  const codec = codecForKey(3)!; // Metadata: topics is nullable from v1, and a topic's name from v10
  const vc = codec.at(12);
  const w = new Writer(64);
  vc.encodeRequest(w, { topics: [{ topicId: '0123456789abcdef0123456789abcdef', name: null }], allowAutoTopicCreation: false });
  const r = new Reader(w.toBuffer());
  const m = vc.decodeRequest(r);
  assert.equal(r.bad, false);
  assert.equal((m.topics as Message[])[0]!.name, null);
  const all = new Writer(64);
  vc.encodeRequest(all, { topics: null });
  const ra = new Reader(all.toBuffer());
  assert.equal(vc.decodeRequest(ra).topics, null);
  assert.equal(ra.bad, false);
});
