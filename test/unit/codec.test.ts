/**
 * Codecs derived from the API descriptions: round trips of random messages for every API and
 * version described, exact re-encoding, and hostile input (random bytes, mutations, lying lengths)
 * that must never throw nor allocate beyond the frame.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApiCodec } from '../../src/protocol/codec.js';
import type { Message } from '../helpers/raw.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { specs } from '../../src/protocol/messages/index.js';
import { inVersions, type ApiSpec, type Field } from '../../src/protocol/schema.js';
import { readRequestHeader } from '../../src/protocol/header.js';

/** A small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(type: string, field: Field, version: number, r: () => number, depth: number): unknown {
  const nullable = inVersions(field.nullableVersions, version);
  if (nullable && r() < 0.2) return null;
  if (type.startsWith('[]')) {
    const n = depth > 3 ? 0 : Math.floor(r() * 3);
    const elem = type.slice(2);
    return Array.from({ length: n }, () =>
      elem === ''
        ? randomStruct(field.fields ?? [], version, r, depth + 1)
        : randomValue(elem, { ...field, nullableVersions: undefined }, version, r, depth + 1),
    );
  }
  switch (type) {
    case 'struct':
      return randomStruct(field.fields ?? [], version, r, depth + 1);
    case 'bool':
      return r() < 0.5;
    case 'int8':
      return Math.floor(r() * 256) - 128;
    case 'int16':
      return Math.floor(r() * 65536) - 32768;
    case 'uint16':
      return Math.floor(r() * 65536);
    case 'int32':
      return Math.floor(r() * 2 ** 32) - 2 ** 31;
    case 'uint32':
      return Math.floor(r() * 2 ** 32);
    case 'int64':
      return Math.floor((r() - 0.5) * 2 ** 52);
    case 'float64':
      return r() * 1e6;
    case 'string':
      return 'str-' + Math.floor(r() * 1e6).toString(36) + (r() < 0.3 ? 'é✓' : '');
    case 'uuid':
      return Buffer.from(Array.from({ length: 16 }, () => Math.floor(r() * 256))).toString('hex');
    case 'bytes':
    case 'records':
      return Buffer.from(Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * 256)));
    default:
      throw new Error(`type ${type}`);
  }
}

function randomStruct(fields: readonly Field[], version: number, r: () => number, depth = 0): Message {
  const m: Message = {};
  for (const f of fields) {
    const present = inVersions(f.versions, version) || inVersions(f.taggedVersions, version);
    if (present) m[f.name] = randomValue(f.type, f, version, r, depth);
  }
  return m;
}

/** Drops the fields a version does not carry, for comparison. */
function project(fields: readonly Field[], m: Message, version: number, flexible: boolean): Message {
  const out: Message = {};
  for (const f of fields) {
    const tagged = flexible && inVersions(f.taggedVersions, version);
    if (!inVersions(f.versions, version) && !tagged) continue;
    if (tagged && !flexible) continue;
    let v = m[f.name];
    if (f.type === '[]' && Array.isArray(v)) v = v.map((e: Message) => project(f.fields ?? [], e, version, flexible));
    else if (f.type === 'struct' && v != null) v = project(f.fields ?? [], v as Message, version, flexible);
    else if (Buffer.isBuffer(v)) v = v.toString('hex');
    out[f.name] = v;
  }
  return out;
}

const r = rng(1234);

describe('round trips for every API and version', () => {
  for (const spec of specs) {
    test(`${spec.name} (key ${spec.apiKey}) v${spec.validVersions[0]}-${spec.validVersions[1]}`, () => {
      const codec = new ApiCodec<ApiSpec>(spec);
      for (let v = spec.validVersions[0]; v <= spec.validVersions[1]; v++) {
        const vc = codec.at(v);
        for (const [fields, enc, dec] of [
          [spec.request, vc.encodeRequest, vc.decodeRequest],
          [spec.response, vc.encodeResponse, vc.decodeResponse],
        ] as const) {
          for (let i = 0; i < 8; i++) {
            const msg = randomStruct(fields, v, r);
            const w = new Writer(64);
            enc(w, msg);
            const bytes = w.toBuffer();
            const reader = new Reader(bytes);
            const back = dec(reader);
            assert.equal(reader.bad, false, `${spec.name} v${v} decode flagged bad`);
            assert.equal(reader.pos, bytes.length, `${spec.name} v${v} left bytes unread`);
            assert.deepEqual(project(fields, back, v, vc.flexible), project(fields, msg, v, vc.flexible), `${spec.name} v${v}`);
            const again = new Writer(64);
            enc(again, back);
            assert.ok(again.toBuffer().equals(bytes), `${spec.name} v${v} re-encodes to the same bytes`);
          }
        }
      }
    });
  }
});

describe('hostile input', () => {
  test('random bytes never throw, for every API and version', () => {
    const rand = rng(99);
    for (const spec of specs) {
      const codec = new ApiCodec<ApiSpec>(spec);
      for (let v = spec.validVersions[0]; v <= spec.validVersions[1]; v++) {
        const vc = codec.at(v);
        for (let i = 0; i < 30; i++) {
          const len = Math.floor(rand() * 64);
          const buf = Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
          const reader = new Reader(buf);
          assert.doesNotThrow(() => vc.decodeRequest(reader));
          assert.ok(reader.pos <= buf.length);
        }
      }
    }
  });

  test('every single-byte mutation and truncation of valid requests decodes or is flagged bad', () => {
    const rand = rng(7);
    for (const spec of specs) {
      const codec = new ApiCodec<ApiSpec>(spec);
      const v = spec.validVersions[1];
      const vc = codec.at(v);
      const w = new Writer(64);
      vc.encodeRequest(w, randomStruct(spec.request, v, rand));
      const good = w.toBuffer();
      for (let at = 0; at < good.length; at++) {
        const bad = Buffer.from(good);
        bad[at] = bad[at]! ^ (1 + Math.floor(rand() * 255));
        assert.doesNotThrow(() => vc.decodeRequest(new Reader(bad)), `${spec.name} mutated at ${at}`);
        const cut = new Reader(good.subarray(0, at));
        assert.doesNotThrow(() => vc.decodeRequest(cut));
        assert.equal(cut.bad, true, `${spec.name} truncated at ${at} must be flagged`);
      }
    }
  });

  test('a huge array count is refused at once instead of looping or allocating', () => {
    // Metadata v0: topics is an int32-counted array of strings; claim two billion of them.
    const codec = new ApiCodec(specs.find((s) => s.apiKey === 3)!);
    const buf = Buffer.alloc(4 + 6);
    buf.writeInt32BE(0x7fffffff, 0);
    const reader = new Reader(buf);
    const started = process.hrtime.bigint();
    const m = codec.at(0).decodeRequest(reader);
    assert.equal(reader.bad, true);
    assert.deepEqual(m.topics, []);
    assert.ok(process.hrtime.bigint() - started < 50_000_000n);
  });

  test('a compact array count larger than the bytes left is refused', () => {
    const codec = new ApiCodec(specs.find((s) => s.apiKey === 3)!);
    const w = new Writer();
    w.uvarint(0x7ffffff0); // compact array length+1
    const reader = new Reader(w.toBuffer());
    codec.at(12).decodeRequest(reader);
    assert.equal(reader.bad, true);
  });

  test('strings and bytes with lying lengths are flagged, not read past the frame', () => {
    const w = new Writer();
    w.int16(1000);
    w.raw(Buffer.from('short'));
    const reader = new Reader(w.toBuffer());
    assert.equal(reader.string(false), null);
    assert.equal(reader.bad, true);
    const b = new Writer();
    b.int32(1 << 30);
    const r2 = new Reader(b.toBuffer());
    assert.equal(r2.bytes(false), null);
    assert.equal(r2.bad, true);
  });

  test('request headers with truncated client ids are flagged', () => {
    const buf = Buffer.from([0, 3, 0, 12, 0, 0, 0, 1, 0, 50, 65]);
    const reader = new Reader(buf);
    readRequestHeader(reader);
    assert.equal(reader.bad, true);
  });
});

describe('primitives', () => {
  test('varints, varlongs and int64 round trip at their edges', () => {
    const w = new Writer();
    const ints = [0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31)];
    // Zig-zag doubles a varlong, so values are exact up to 2^51 in magnitude (offsets and times stay far below).
    const longs = [0, -1, 2 ** 51, -(2 ** 51), 1_700_000_000_000];
    for (const i of ints) w.varint(i);
    for (const l of longs) w.varlong(l);
    for (const l of longs) w.int64(l);
    w.uvarint(2 ** 32 - 1);
    const r = new Reader(w.toBuffer());
    assert.deepEqual(
      ints.map(() => r.varint()),
      ints,
    );
    assert.deepEqual(
      longs.map(() => r.varlong()),
      longs,
    );
    assert.deepEqual(
      longs.map(() => r.int64()),
      longs,
    );
    assert.equal(r.uvarint(), 2 ** 32 - 1);
    assert.equal(r.bad, false);
  });

  test('a varint longer than five bytes is flagged', () => {
    const r = new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    r.uvarint();
    assert.equal(r.bad, true);
  });
});

describe('int64 past 2^53', () => {
  test('values beyond int64 go out as the nearest int64; Long.MAX_VALUE round-trips', () => {
    const w = new Writer(64);
    w.int64(2 ** 63); // what Long.MAX_VALUE reads as
    w.int64(2 ** 64);
    w.int64(-(2 ** 64));
    w.int64(Number.NaN);
    w.int64(-(2 ** 63));
    const b = w.toBuffer();
    assert.equal(b.readBigInt64BE(0), 9223372036854775807n);
    assert.equal(b.readBigInt64BE(8), 9223372036854775807n);
    assert.equal(b.readBigInt64BE(16), -9223372036854775808n);
    assert.equal(b.readBigInt64BE(24), 0n);
    assert.equal(b.readBigInt64BE(32), -9223372036854775808n);
    const r = new Reader(b);
    assert.equal(r.int64(), 2 ** 63);
    const again = new Writer(8);
    again.int64(r.int64());
    assert.equal(again.toBuffer().readBigInt64BE(0), 9223372036854775807n);
  });
});
