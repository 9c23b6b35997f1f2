/**
 * Structure-aware mutations of a traced frame: counts and lengths set to -1, 0, huge or off by
 * one; strings, bytes and arrays nulled; varints made overlong (past 5 bytes) or cut; tagged fields
 * with unknown tags, huge sizes and duplicates; integers set to their edge values; record batches
 * edited field by field with the CRC fixed up (so the edit reaches the checks past the CRC); the
 * header's API version shifted; and plain truncation, byte flips, insertions and splices.
 *
 * Each mutation is an edit of a byte range of the original frame; a frame gets one to three edits,
 * applied from the last to the first so that the offsets of the earlier ones stay right.
 */
import { refCrc32c } from '../test/helpers/batches.js';
import { type Seed, type Span, looksLikeBatches, uvarintWidth } from './fuzz-corpus.js';
import type { Rng } from './rng.js';

interface Edit {
  readonly at: number;
  readonly end: number;
  readonly bytes: Buffer;
}

export interface Mutant {
  readonly frame: Buffer;
  /** What was done, for the report: "count@14=-1 strlen@30=null ...". */
  readonly how: string;
}

function uvarint(v: number): Buffer {
  const out: number[] = [];
  let u = v;
  while (u >= 0x80) {
    out.push((u % 128) | 0x80);
    u = Math.floor(u / 128);
  }
  out.push(u);
  return Buffer.from(out);
}

/** `v` in `width` bytes with continuation bits: more than 5 (or 10) is overlong and must be refused. */
function overlongUvarint(v: number, width: number): Buffer {
  const b = uvarint(v);
  if (b.length >= width) return b;
  const out = Buffer.alloc(width);
  b.copy(out);
  for (let i = 0; i < width - 1; i++) out[i] = out[i]! | 0x80;
  out[width - 1] = out[width - 1]! & 0x7f;
  return out;
}

/** `v` as a big-endian integer of `width` bytes, wrapped into range (value + 1 of the maximum wraps). */
function int(width: 1 | 2 | 4, v: number): Buffer {
  const b = Buffer.alloc(width);
  if (width === 1) b.writeInt8((v << 24) >> 24, 0);
  else if (width === 2) b.writeInt16BE((v << 16) >> 16, 0);
  else b.writeInt32BE(v | 0, 0);
  return b;
}

const EDGE: Record<number, readonly number[]> = {
  1: [-128, -1, 0, 1, 127],
  2: [-32768, -2, -1, 0, 1, 32767],
  4: [-2147483648, -2, -1, 0, 1, 2147483647],
};
const EDGE64 = ['8000000000000000', 'ffffffffffffffff', '0000000000000000', '7fffffffffffffff', '0020000000000000', '001fffffffffffff'];

/** A new length prefix for a string/bytes/array span: null, empty, huge, off by one, as uvarint or int. */
function lengthEdit(rng: Rng, s: Span): { bytes: Buffer; how: string; shape: 'null' | 'empty' | 'other' } {
  const width = (s.prefixEnd - s.at) as 1 | 2 | 4;
  if (s.compact) {
    // Compact lengths are N+1 (0 is null).
    const n = s.value + 1;
    const choice = rng.weighted<string>([
      [2, 'null'],
      [2, 'empty'],
      [2, '+1'],
      [2, '-1'],
      [2, 'huge'],
      [2, 'overlong'],
      [1, 'padded'],
      [1, 'random'],
    ]);
    const bytes =
      choice === 'null'
        ? uvarint(0)
        : choice === 'empty'
          ? uvarint(1)
          : choice === '+1'
            ? uvarint(n + 1)
            : choice === '-1'
              ? uvarint(Math.max(0, n - 1))
              : choice === 'huge'
                ? rng.chance(0.5)
                  ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])
                  : uvarint(0x7fffffff)
                : choice === 'overlong'
                  ? overlongUvarint(n, rng.range(6, 11))
                  : choice === 'padded'
                    ? overlongUvarint(n, Math.min(5, uvarint(n).length + 1))
                    : uvarint(rng.u32());
    return { bytes, how: choice, shape: choice === 'null' ? 'null' : choice === 'empty' ? 'empty' : 'other' };
  }
  const max = width === 2 ? 32767 : 2147483647;
  const v = rng.pick([-1, -1, 0, 0, -2, s.value + 1, s.value - 1, max, -max - 1]);
  return { bytes: int(width, v), how: String(v), shape: v === -1 ? 'null' : v === 0 ? 'empty' : 'other' };
}

/** Edits of one span (and, for nulled or emptied strings and bytes, their data). */
function spanEdits(rng: Rng, seed: Seed, s: Span): { edits: Edit[]; how: string } | null {
  const frame = seed.frame;
  switch (s.kind) {
    case 'count':
    case 'strlen':
    case 'byteslen':
    case 'records': {
      if (s.kind === 'records' && rng.chance(0.6)) {
        const data = frame.subarray(s.prefixEnd, s.end);
        const m = mutateBatches(rng, data);
        const len = s.compact ? uvarint(m.bytes.length + 1) : int(4, m.bytes.length);
        return { edits: [{ at: s.at, end: s.end, bytes: Buffer.concat([len, m.bytes]) }], how: `records@${s.at}:${m.how}` };
      }
      const e = lengthEdit(rng, s);
      // Null or empty with the data removed keeps the rest of the frame aligned: the fields after
      // it decode, and the handler sees the null.
      if (s.kind !== 'count' && e.shape !== 'other' && rng.chance(0.7)) {
        return { edits: [{ at: s.at, end: s.end, bytes: e.bytes }], how: `${s.kind}@${s.at}=${e.how}(data dropped)` };
      }
      return { edits: [{ at: s.at, end: s.prefixEnd, bytes: e.bytes }], how: `${s.kind}@${s.at}=${e.how}` };
    }
    case 'tagcount': {
      const choice = rng.weighted<string>([
        [3, 'unknown-tag'],
        [2, 'plus1'],
        [1, 'huge'],
        [1, 'overlong'],
        [1, 'zero'],
      ]);
      if (choice === 'unknown-tag') {
        // Append a tag the description does not have, with a small, empty, or lying size.
        const end = tagSectionEnd(frame, s);
        if (end === null) return null;
        const tag = rng.pick([7, 99, 0x3fff, 0x7fffffff, s.value]);
        const size = rng.int(6);
        const lie = rng.weighted<string>([
          [6, 'ok'],
          [1, 'huge'],
          [1, 'long'],
        ]);
        const sizeBytes = lie === 'huge' ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]) : uvarint(lie === 'long' ? size + 100 : size);
        return {
          edits: [
            { at: end, end, bytes: Buffer.concat([uvarint(tag), sizeBytes, rng.bytes(size)]) },
            { at: s.at, end: s.prefixEnd, bytes: uvarint(s.value + 1) },
          ],
          how: `tagcount@${s.at}:+tag ${tag} size ${lie === 'ok' ? size : lie}`,
        };
      }
      const bytes =
        choice === 'plus1'
          ? uvarint(s.value + 1)
          : choice === 'huge'
            ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])
            : choice === 'overlong'
              ? overlongUvarint(s.value, rng.range(6, 11))
              : uvarint(0);
      return { edits: [{ at: s.at, end: s.prefixEnd, bytes }], how: `tagcount@${s.at}=${choice}` };
    }
    case 'tag': {
      const owner = s.owner === undefined ? undefined : seed.spans[s.owner];
      const size = seed.spans.find((x) => x.kind === 'tagsize' && x.at === s.prefixEnd);
      if (rng.chance(0.5) && owner !== undefined && size !== undefined) {
        // The same tag twice: Kafka refuses a duplicate; a decoder must at least not break.
        const entryEnd = size.prefixEnd + size.value;
        if (entryEnd > frame.length) return null;
        return {
          edits: [
            { at: entryEnd, end: entryEnd, bytes: Buffer.from(frame.subarray(s.at, entryEnd)) },
            { at: owner.at, end: owner.prefixEnd, bytes: uvarint(owner.value + 1) },
          ],
          how: `tag@${s.at}=duplicated`,
        };
      }
      const tag = rng.pick([s.value + 1, 99, 0x7fffffff, 0]);
      const bytes = rng.chance(0.2) ? overlongUvarint(tag, 6) : uvarint(tag);
      return { edits: [{ at: s.at, end: s.prefixEnd, bytes }], how: `tag@${s.at}=${tag}` };
    }
    case 'tagsize': {
      const choice = rng.pick(['plus1', 'minus1', 'huge', 'zero', 'overlong']);
      const bytes =
        choice === 'plus1'
          ? uvarint(s.value + 1)
          : choice === 'minus1'
            ? uvarint(Math.max(0, s.value - 1))
            : choice === 'huge'
              ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])
              : choice === 'zero'
                ? uvarint(0)
                : overlongUvarint(s.value, rng.range(6, 11));
      return { edits: [{ at: s.at, end: s.prefixEnd, bytes }], how: `tagsize@${s.at}=${choice}` };
    }
    case 'int8':
    case 'int16':
    case 'int32': {
      const width = (s.prefixEnd - s.at) as 1 | 2 | 4;
      const v = rng.chance(0.8) ? rng.pick(EDGE[width]!) : s.value + rng.pick([-1, 1]);
      const clamped = Math.max(EDGE[width]![0]!, Math.min(EDGE[width]![EDGE[width]!.length - 1]!, v));
      return { edits: [{ at: s.at, end: s.prefixEnd, bytes: int(width, clamped) }], how: `${s.kind}@${s.at}=${clamped}` };
    }
    case 'int64': {
      const hex = rng.pick(EDGE64);
      return { edits: [{ at: s.at, end: s.prefixEnd, bytes: Buffer.from(hex, 'hex') }], how: `int64@${s.at}=0x${hex}` };
    }
    case 'uuid':
      return {
        edits: [{ at: s.at, end: s.prefixEnd, bytes: rng.chance(0.5) ? Buffer.alloc(16) : rng.bytes(16) }],
        how: `uuid@${s.at}`,
      };
  }
}

/** Where a tag section ends: after its count and every (tag, size, data) entry. Null if it overruns. */
function tagSectionEnd(frame: Buffer, count: Span): number | null {
  let at = count.prefixEnd;
  for (let i = 0; i < count.value; i++) {
    at += uvarintWidth(frame, at);
    const w = uvarintWidth(frame, at);
    let size = 0;
    for (let k = w - 1; k >= 0; k--) size = size * 128 + (frame[at + k]! & 0x7f);
    at += w + size;
    if (at > frame.length) return null;
  }
  return at;
}

/**
 * Edits of the record batches of a Produce: one header field (lengths, magic, codec bits, counts,
 * producer fields, timestamps), a record's varints, a cut, or trailing bytes; the CRC is fixed up
 * most of the time so that the edit gets past the CRC check.
 */
export function mutateBatches(rng: Rng, data: Buffer): { bytes: Buffer; how: string } {
  const b = Buffer.from(data);
  if (!looksLikeBatches(b)) return { bytes: rng.bytes(rng.int(70)), how: 'junk' };
  const size = 12 + b.readInt32BE(8);
  const what = rng.weighted<string>([
    [2, 'batchLength'],
    [1, 'magic'],
    [2, 'attributes'],
    [2, 'recordCount'],
    [1, 'lastOffsetDelta'],
    [1, 'producer'],
    [1, 'timestamps'],
    [3, 'record'],
    [1, 'cut'],
    [1, 'trailing'],
  ]);
  let how: string = what;
  let out = b;
  switch (what) {
    case 'batchLength': {
      const v = rng.pick([0, 48, 49, b.readInt32BE(8) + 1, b.readInt32BE(8) - 1, 0x7fffffff, -1]);
      b.writeInt32BE(v | 0, 8);
      how = `batchLength=${v}`;
      break;
    }
    case 'magic': {
      const v = rng.pick([0, 1, 3, -1]);
      b.writeInt8(v, 16);
      how = `magic=${v}`;
      break;
    }
    case 'attributes': {
      const v = rng.pick([5, 6, 7, 4, 0x08, 0x10, 0x20, 0x30, 0x7fff, -1]);
      b.writeInt16BE(v, 21);
      how = `attributes=${v}`;
      break;
    }
    case 'recordCount': {
      const count = b.readInt32BE(57);
      const v = rng.pick([-1, 0, count + 1, count - 1, 0x7fffffff, 1_000_000]);
      b.writeInt32BE(v | 0, 57);
      how = `recordCount=${v}`;
      break;
    }
    case 'lastOffsetDelta': {
      const v = rng.pick([-1, 0, 0x7fffffff, b.readInt32BE(23) + 1]);
      b.writeInt32BE(v | 0, 23);
      how = `lastOffsetDelta=${v}`;
      break;
    }
    case 'producer': {
      b.writeBigInt64BE(BigInt(rng.pick([-1, 0, 1, 2 ** 40])), 43);
      b.writeInt16BE(rng.pick([-1, 0, 1, 32767]), 51);
      b.writeInt32BE(rng.pick([-1, 0, 1, 2147483647]), 53);
      how = 'producer id/epoch/sequence';
      break;
    }
    case 'timestamps': {
      b.writeBigInt64BE(BigInt(rng.pick([-1, 0, 2 ** 50])), 27);
      b.writeBigInt64BE(rng.chance(0.5) ? -(2n ** 63n) : 2n ** 63n - 1n, 35);
      how = 'timestamps';
      break;
    }
    case 'record': {
      // A byte of the records section (uncompressed: a varint of the first record) set to an edge.
      if (size > 61 && size <= b.length) {
        const at = 61 + rng.int(Math.min(8, size - 61));
        b[at] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe]);
        how = `record byte +${at - 61}`;
      }
      break;
    }
    case 'cut':
      out = b.subarray(0, rng.int(b.length));
      how = `cut at ${out.length}`;
      break;
    case 'trailing':
      out = Buffer.concat([b, rng.bytes(rng.int(20))]);
      how = 'trailing bytes';
      break;
  }
  if (what !== 'cut' && what !== 'trailing' && what !== 'batchLength' && size <= out.length && rng.chance(0.85)) {
    out.writeUInt32BE(refCrc32c(out.subarray(21, size)), 17);
    how += ' (crc fixed)';
  }
  return { bytes: out, how };
}

function applyEdits(frame: Buffer, edits: Edit[]): Buffer {
  const sorted = [...edits].sort((a, b) => b.at - a.at);
  let out = frame;
  let floor = Number.POSITIVE_INFINITY;
  for (const e of sorted) {
    if (e.end > floor) continue; // overlaps an edit already applied
    out = Buffer.concat([out.subarray(0, e.at), e.bytes, out.subarray(e.end)]);
    floor = e.at;
  }
  return out;
}

/** Byte-level damage, not aware of the structure: the baseline every fuzzer has. */
function blindMutation(rng: Rng, frame: Buffer, other: Seed | undefined): Mutant {
  const f = Buffer.from(frame);
  const what = rng.weighted<string>([
    [3, 'truncate'],
    [3, 'flip'],
    [1, 'insert'],
    [1, 'delete'],
    [1, 'duplicate'],
    [1, 'splice'],
  ]);
  switch (what) {
    case 'truncate': {
      const at = rng.int(f.length);
      return { frame: f.subarray(0, at), how: `truncate at ${at}` };
    }
    case 'flip': {
      const n = 1 + rng.int(4);
      const where: number[] = [];
      for (let i = 0; i < n && f.length > 0; i++) {
        const at = rng.int(f.length);
        f[at] = rng.chance(0.5) ? f[at]! ^ (1 << rng.int(8)) : rng.int(256);
        where.push(at);
      }
      return { frame: f, how: `flip ${where.join(',')}` };
    }
    case 'insert': {
      const at = rng.int(f.length + 1);
      return { frame: Buffer.concat([f.subarray(0, at), rng.bytes(1 + rng.int(8)), f.subarray(at)]), how: `insert at ${at}` };
    }
    case 'delete': {
      const at = rng.int(f.length);
      const n = 1 + rng.int(8);
      return { frame: Buffer.concat([f.subarray(0, at), f.subarray(at + n)]), how: `delete ${n} at ${at}` };
    }
    case 'duplicate': {
      const at = rng.int(f.length);
      const n = 1 + rng.int(16);
      return { frame: Buffer.concat([f.subarray(0, at + n), f.subarray(at, at + n), f.subarray(at + n)]), how: `duplicate ${n} at ${at}` };
    }
    default: {
      // This frame's head on another frame of the same API's tail.
      if (other === undefined || other.frame.length < 10) return { frame: f, how: 'unchanged' };
      const a = 8 + rng.int(Math.max(1, f.length - 8));
      const b = 8 + rng.int(Math.max(1, other.frame.length - 8));
      return { frame: Buffer.concat([f.subarray(0, a), other.frame.subarray(b)]), how: `splice ${a}+${other.origin}@${b}` };
    }
  }
}

/** Header edits: another version of the same API (its bytes read by a neighbour's layout), or API. */
function headerMutation(rng: Rng, seed: Seed, versions: readonly [number, number] | undefined): Mutant {
  const f = Buffer.from(seed.frame);
  if (seed.direction === 'response' || f.length < 4) return { frame: f, how: 'unchanged' };
  const [lo, hi] = versions ?? [seed.version - 1, seed.version + 1];
  const v = rng.chance(0.7) ? seed.version + rng.pick([-1, 1]) : rng.range(lo - 1, hi + 1);
  f.writeInt16BE(Math.max(-32768, Math.min(32767, v)), 2);
  return { frame: f, how: `version ${seed.version}->${v}` };
}

/**
 * One mutant of `seed`: mostly one to three structure-aware edits, sometimes blind damage on top
 * or instead, sometimes a header edit. `other` is a second seed of the same API, for splices.
 */
export function mutate(rng: Rng, seed: Seed, other?: Seed, versions?: readonly [number, number]): Mutant {
  const roll = rng.float();
  if (roll < 0.08) return headerMutation(rng, seed, versions);
  if (roll < 0.25 || seed.spans.length === 0) return blindMutation(rng, seed.frame, other);
  const edits: Edit[] = [];
  const hows: string[] = [];
  const n = rng.weighted([
    [6, 1],
    [3, 2],
    [1, 3],
  ]);
  // Aim at the body mostly: the header's spans are the first four or so of every seed.
  for (let i = 0; i < n; i++) {
    const s = pickSpan(rng, seed.spans);
    const e = spanEdits(rng, seed, s);
    if (e === null) continue;
    edits.push(...e.edits);
    hows.push(e.how);
  }
  let frame = applyEdits(seed.frame, edits);
  let how = hows.join(' ');
  if (rng.chance(0.1)) {
    const m = blindMutation(rng, frame, other);
    frame = m.frame;
    how += ` then ${m.how}`;
  }
  return { frame, how };
}

const KIND_WEIGHT: Record<string, number> = {
  count: 4,
  strlen: 3,
  byteslen: 3,
  records: 5,
  tagcount: 3,
  tag: 2,
  tagsize: 2,
  int8: 1,
  int16: 1,
  int32: 1,
  int64: 1,
  uuid: 0.5,
};

function pickSpan(rng: Rng, spans: readonly Span[]): Span {
  // A few tries at weighted rejection: cheap, and spans of rarer kinds still come up.
  for (let i = 0; i < 4; i++) {
    const s = rng.pick(spans);
    if (rng.float() * 5 < KIND_WEIGHT[s.kind]!) return s;
  }
  return rng.pick(spans);
}
