/**
 * The fuzzer's seeds: valid frames, each traced into the spans a structure-aware mutation can aim
 * at (array counts, string and bytes lengths, varints, tagged-field sections, fixed-width integers,
 * record batches).
 *
 * Seeds come from the golden frames captured from real clients (test/golden/*.json) and from
 * frames encoded with franz's own codecs from random values over the API descriptions
 * (src/protocol/messages): every described API and version, requests and responses.
 *
 * Tracing needs no hook in the codec: a Reader subclass records where each primitive it is asked
 * for starts and ends, and the codec's decoder, run over a valid frame, asks for every one of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codecForKey } from '../src/protocol/codecs.js';
import {
  readRequestHeader,
  readResponseHeader,
  responseHeaderFlexible,
  skipHeaderTags,
  writeRequestHeader,
} from '../src/protocol/header.js';
import { specs } from '../src/protocol/messages/index.js';
import { Reader, Writer, ZERO_UUID } from '../src/protocol/primitives.js';
import { type ApiSpec, type Field, inVersions } from '../src/protocol/schema.js';
import { Compression, encodeRecordBatch, type RecordInput } from '../src/records/record-batch.js';
import type { Rng } from './rng.js';

export type Direction = 'request' | 'response';

export type SpanKind =
  | 'count' // an array's length (int32, or compact uvarint N+1)
  | 'strlen' // a string's length (int16, or compact uvarint N+1)
  | 'byteslen' // a bytes field's length (int32, or compact uvarint N+1)
  | 'records' // a bytes field that holds record batches
  | 'tagcount' // the number of tagged fields of a struct (uvarint)
  | 'tag' // a tagged field's tag (uvarint)
  | 'tagsize' // a tagged field's size (uvarint)
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uuid';

/**
 * One primitive of a frame. `at`..`prefixEnd` is the length, count or integer itself; for strings
 * and bytes `prefixEnd`..`end` is their data. `owner` is, for a tag or tag size, the index of its
 * section's `tagcount` span.
 */
export interface Span {
  readonly kind: SpanKind;
  readonly at: number;
  readonly prefixEnd: number;
  readonly end: number;
  readonly compact: boolean;
  readonly value: number;
  readonly owner?: number;
}

export interface Seed {
  /** Header and body, without the 4-byte size prefix. */
  readonly frame: Buffer;
  readonly apiKey: number;
  readonly version: number;
  readonly direction: Direction;
  /** Where it came from: "golden:kafkajs", "generated", "evolved". */
  readonly origin: string;
  readonly spans: readonly Span[];
}

/** Bytes a uvarint takes at `at` (at most 10 are looked at). */
export function uvarintWidth(buf: Buffer, at: number): number {
  let n = 0;
  while (at + n < buf.length && n < 10) {
    if ((buf[at + n]! & 0x80) === 0) return n + 1;
    n++;
  }
  return n;
}

/**
 * A Reader that records the spans the codec reads. Only the outermost primitive of a call is
 * recorded (a string's length is part of the string). Tagged-field contents are decoded by the
 * codec through a Reader of its own and so are not traced inside: the section's count, tags and
 * sizes are. The tag state follows Kafka's layout: a count, then (tag, size) pairs.
 */
class TracingReader extends Reader {
  readonly spans: Span[] = [];
  private depth = 0;
  /** uvarints still expected in the current tag section: tag, size, tag, size... */
  private tagReads = 0;
  private tagOwner = -1;

  private trace<T>(read: () => T, make: (at: number, v: T) => Span | null): T {
    const at = this.pos;
    const outer = this.depth === 0;
    this.depth++;
    try {
      const v = read();
      if (outer && !this.bad) {
        const s = make(at, v);
        if (s !== null) this.spans.push(s);
      }
      return v;
    } finally {
      this.depth--;
    }
  }

  private fixed(kind: SpanKind, width: number, read: () => number): number {
    return this.trace(read, (at, v) => ({ kind, at, prefixEnd: at + width, end: at + width, compact: false, value: v }));
  }

  override int8(): number {
    return this.fixed('int8', 1, () => super.int8());
  }
  override int16(): number {
    return this.fixed('int16', 2, () => super.int16());
  }
  override int32(): number {
    return this.fixed('int32', 4, () => super.int32());
  }
  override int64(): number {
    return this.fixed('int64', 8, () => super.int64());
  }
  override uuid(): string {
    return this.trace(
      () => super.uuid(),
      (at) => ({ kind: 'uuid', at, prefixEnd: at + 16, end: at + 16, compact: false, value: 0 }),
    );
  }

  /** A bare uvarint is only ever part of a tag section (lengths read theirs inside `length`). */
  override uvarint(): number {
    return this.trace(
      () => super.uvarint(),
      (at, v) => {
        const prefixEnd = this.pos;
        if (this.tagReads > 0) {
          const kind: SpanKind = this.tagReads % 2 === 0 ? 'tag' : 'tagsize';
          this.tagReads--;
          return { kind, at, prefixEnd, end: prefixEnd, compact: true, value: v, owner: this.tagOwner };
        }
        this.tagOwner = this.spans.length;
        this.tagReads = 2 * Math.min(v, 1 << 20);
        return { kind: 'tagcount', at, prefixEnd, end: prefixEnd, compact: true, value: v };
      },
    );
  }

  override length(compact: boolean, unitBytes: number): number {
    return this.trace(
      () => super.length(compact, unitBytes),
      (at, v) => ({ kind: 'count', at, prefixEnd: this.pos, end: this.pos, compact, value: v }),
    );
  }

  override string(compact: boolean): string | null {
    return this.trace(
      () => super.string(compact),
      (at, v) => {
        const prefixEnd = compact ? at + uvarintWidth(this.buf, at) : at + 2;
        return { kind: 'strlen', at, prefixEnd, end: this.pos, compact, value: v === null ? -1 : this.pos - prefixEnd };
      },
    );
  }

  override bytes(compact: boolean): Buffer | null {
    return this.trace(
      () => super.bytes(compact),
      (at, v) => {
        const prefixEnd = compact ? at + uvarintWidth(this.buf, at) : at + 4;
        const kind: SpanKind = v !== null && looksLikeBatches(v) ? 'records' : 'byteslen';
        return { kind, at, prefixEnd, end: this.pos, compact, value: v === null ? -1 : v.length };
      },
    );
  }
}

/** A v2 record batch at the start, whose length fits. */
export function looksLikeBatches(b: Buffer): boolean {
  if (b.length < 61 || b[16] !== 2) return false;
  const len = b.readInt32BE(8);
  return len >= 49 && len + 12 <= b.length;
}

/** Decodes a frame as the broker (requests) or the client (responses) would, recording spans. */
export function trace(frame: Buffer, direction: Direction, apiKey: number, version: number): Span[] | null {
  const codec = codecForKey(apiKey);
  if (codec === undefined || !codec.supports(version)) return null;
  const vc = codec.at(version);
  const r = new TracingReader(frame);
  if (direction === 'request') {
    readRequestHeader(r);
    if (vc.flexible) skipHeaderTags(r);
    vc.decodeRequest(r);
  } else {
    readResponseHeader(r, responseHeaderFlexible(apiKey, vc.flexible));
    vc.decodeResponse(r);
  }
  if (r.bad) return null;
  return r.spans;
}

export function makeSeed(frame: Buffer, direction: Direction, apiKey: number, version: number, origin: string): Seed | null {
  const spans = trace(frame, direction, apiKey, version);
  return spans === null ? null : { frame, apiKey, version, direction, origin, spans };
}

// ---------------------------------------------------------------------------------------------
// Golden frames

const here = dirname(fileURLToPath(import.meta.url));
/** test/golden, seen from dist/tools. */
export const GOLDEN_DIR = join(here, '..', '..', 'test', 'golden');

/** Every captured request frame (header and body, no size prefix) that franz describes. */
export function goldenSeeds(dir = GOLDEN_DIR): Seed[] {
  const out: Seed[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const { client, frames } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      client: string;
      frames: Array<{ apiKey: number; apiVersion: number; hex: string }>;
    };
    for (const f of frames) {
      const s = makeSeed(Buffer.from(f.hex, 'hex'), 'request', f.apiKey, f.apiVersion, `golden:${client}`);
      if (s !== null) out.push(s);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random values over the descriptions

/** Topic names the generated frames use: few, so that produce, fetch, list-offsets and admin meet. */
export const FUZZ_TOPICS = ['fuzz-a', 'fuzz-b', 'fuzz-c'] as const;
const GROUPS = ['fuzz-g1', 'fuzz-g2', 'fuzz-g3'];
const CONFIG_KEYS = [
  'retention.ms',
  'retention.bytes',
  'cleanup.policy',
  'segment.bytes',
  'segment.ms',
  'max.message.bytes',
  'message.timestamp.type',
  'flush.messages',
  'compression.type',
  'no.such.key',
  '',
];
const CONFIG_VALUES = [
  '1',
  '0',
  '-1',
  '-2',
  '1048576',
  '604800000',
  'compact',
  'delete',
  'compact,delete',
  'LogAppendTime',
  'x',
  '',
  '9999999999999',
];
const ODD_STRINGS = ['', ' ', '.', '..', 'a/b', 'é☃', '\u0000', 'x'.repeat(250), 'fuzz-a'.repeat(3)];

const INT8 = [-128, -1, 0, 1, 2, 127];
const INT16 = [-32768, -2, -1, 0, 1, 2, 3, 255, 256, 32767];
const INT32 = [-2147483648, -2, -1, 0, 1, 2, 3, 127, 128, 255, 256, 65535, 65536, 2147483647];
const INT64 = [-(2 ** 63), -4294967296, -2, -1, 0, 1, 2, 4294967296, 2 ** 53 - 1, 2 ** 62];

export interface GenOptions {
  /**
   * For a live broker: keep values that make work or wait out of reach (partition counts, timeouts
   * and waits), so the run measures robustness rather than the time of legitimate big requests.
   */
  readonly live?: boolean;
}

function randomInt(rng: Rng, bits: 8 | 16 | 32): number {
  const table = bits === 8 ? INT8 : bits === 16 ? INT16 : INT32;
  if (rng.chance(0.5)) return rng.pick(table);
  if (rng.chance(0.6)) return rng.int(8);
  const span = 2 ** bits;
  return rng.int(span) - span / 2;
}

/** An int32 by field name: partitions, timeouts and counts that a real client would send, mostly. */
function int32For(rng: Rng, name: string, opts: GenOptions): number {
  const lower = name.toLowerCase();
  if (lower.includes('timeout') || lower === 'maxwaitms') {
    if (opts.live) return rng.pick([0, 1, 10, 100, 500, -1]);
    return rng.chance(0.7) ? rng.int(1000) : randomInt(rng, 32);
  }
  if (lower === 'numpartitions' || lower === 'count') {
    // A live broker makes every partition asked for (up to 100 000 per topic): keep that small.
    if (opts.live) return rng.pick([-1, 0, 1, 2, 3, 4, 2147483647, -2147483648]);
    return randomInt(rng, 32);
  }
  if (lower.includes('partition') || lower === 'index') return rng.chance(0.8) ? rng.int(4) : randomInt(rng, 32);
  if (lower.includes('bytes')) return rng.chance(0.7) ? rng.pick([0, 1, 1024, 1048576, 52428800]) : randomInt(rng, 32);
  return randomInt(rng, 32);
}

function randomString(rng: Rng, path: readonly string[]): string {
  const name = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  if (rng.chance(0.1)) return rng.pick(ODD_STRINGS);
  if (rng.chance(0.05)) return rng.bytes(rng.int(12)).toString('latin1');
  if (parent === 'configs' || name === 'configurationKeys') {
    if (name === 'value') return rng.pick(CONFIG_VALUES);
    return rng.pick(CONFIG_KEYS);
  }
  if (
    name === 'groupId' ||
    name === 'groups' ||
    name === 'groupIds' ||
    name === 'groupsNames' ||
    name === 'key' ||
    name === 'coordinatorKeys'
  ) {
    return rng.pick(GROUPS);
  }
  if (name === 'memberId') return rng.chance(0.5) ? '' : `m-${rng.int(4)}`;
  if (name === 'protocolType') return rng.pick(['consumer', '', 'connect']);
  if (name === 'protocolName' || (parent === 'protocols' && name === 'name'))
    return rng.pick(['range', 'roundrobin', 'cooperative-sticky']);
  if (name === 'serverAssignor') return rng.pick(['uniform', 'range', 'nope']);
  if (name === 'subscribedTopicRegex') return rng.pick(['fuzz-.*', '.*', '(', 'a{1000000}', '']);
  if (name.toLowerCase().includes('topic') || name === 'name' || name === 'resourceName' || name === 'topic') {
    return rng.chance(0.9) ? rng.pick(FUZZ_TOPICS) : `fuzz-${rng.int(1000)}`;
  }
  return rng.pick(['', 'x', 'fuzz', 'franz-fuzz', 'v1']);
}

/** One to three small records: keys, values and headers of random sizes, some null. */
function randomRecords(rng: Rng): RecordInput[] {
  return Array.from({ length: 1 + rng.int(3) }, () => ({
    key: rng.chance(0.3) ? null : rng.bytes(rng.int(8)),
    value: rng.chance(0.1) ? null : rng.bytes(rng.int(200)),
    headers: rng.chance(0.3) ? [{ key: 'h', value: rng.chance(0.5) ? null : rng.bytes(3) }] : [],
    timestamp: rng.chance(0.8) ? 1_700_000_000_000 + rng.int(1_000_000) : rng.pick([0, -1, 2 ** 40]),
  }));
}

/** A record batch (or two), as producers send them; compressed sometimes. */
export function randomBatches(rng: Rng): Buffer {
  const codec = rng.weighted<number>([
    [6, Compression.none],
    [1, Compression.gzip],
    [1, Compression.snappy],
    [1, Compression.lz4],
  ]);
  const one = (): Buffer =>
    encodeRecordBatch(randomRecords(rng), {
      compression: codec as 0 | 1 | 2 | 3,
      producerId: rng.chance(0.8) ? -1 : rng.int(4),
      producerEpoch: rng.chance(0.8) ? -1 : rng.int(3),
      baseSequence: rng.chance(0.8) ? -1 : rng.int(10),
      transactional: rng.chance(0.05),
      logAppendTime: rng.chance(0.05),
    });
  return rng.chance(0.85) ? one() : Buffer.concat([one(), one()]);
}

type Value = unknown;

function fieldValue(
  rng: Rng,
  f: Field,
  version: number,
  flexible: boolean,
  path: readonly string[],
  depth: number,
  opts: GenOptions,
): Value {
  const nullable = inVersions(f.nullableVersions, version);
  if (nullable && rng.chance(0.15)) return null;
  const here = [...path, f.name];
  if (f.type === 'struct') return structValue(rng, f.fields ?? [], version, flexible, here, depth + 1, opts);
  if (f.type.startsWith('[]')) {
    const n =
      depth > 4
        ? 0
        : rng.weighted([
            [2, 0],
            [5, 1],
            [2, 2],
            [1, 3],
          ]);
    const elem = f.type.slice(2);
    return Array.from({ length: n }, () =>
      elem === ''
        ? structValue(rng, f.fields ?? [], version, flexible, here, depth + 1, opts)
        : primitiveValue(rng, elem, f.name, here, opts),
    );
  }
  return primitiveValue(rng, f.type, f.name, here, opts);
}

function primitiveValue(rng: Rng, type: string, name: string, path: readonly string[], opts: GenOptions): Value {
  switch (type) {
    case 'bool':
      return rng.chance(0.5);
    case 'int8':
      return name === 'resourceType' && rng.chance(0.7) ? rng.pick([2, 4]) : randomInt(rng, 8);
    case 'int16':
      if (name === 'acks') return rng.pick([-1, 1, 0, -1, 1, 2, -2]);
      return randomInt(rng, 16);
    case 'uint16':
      return rng.int(65536);
    case 'int32':
      return int32For(rng, name, opts);
    case 'uint32':
      return rng.u32();
    case 'int64':
      if (name === 'timestamp' && rng.chance(0.5)) return rng.pick([-1, -2, -3, -4, 0, 1_700_000_000_000 + rng.int(1_000_000)]);
      if (name.toLowerCase().includes('offset') && rng.chance(0.6)) return rng.int(20);
      return rng.chance(0.5) ? rng.pick(INT64) : rng.int(1_000_000);
    case 'float64':
      return rng.pick([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e300]);
    case 'uuid':
      return rng.chance(0.5) ? ZERO_UUID : rng.bytes(16).toString('hex');
    case 'string':
      return randomString(rng, path);
    case 'bytes':
      return rng.bytes(rng.int(24));
    case 'records':
      return rng.chance(0.9) ? randomBatches(rng) : rng.bytes(rng.int(80));
    default:
      throw new Error(`no generator for ${type}`);
  }
}

function structValue(
  rng: Rng,
  fields: readonly Field[],
  version: number,
  flexible: boolean,
  path: readonly string[],
  depth: number,
  opts: GenOptions,
): Record<string, Value> {
  const m: Record<string, Value> = {};
  for (const f of fields) {
    const tagged = flexible && inVersions(f.taggedVersions, version);
    const present = inVersions(f.versions, version) || tagged;
    if (!present) continue;
    if (tagged && rng.chance(0.5)) continue; // left at its default: not on the wire
    m[f.name] = fieldValue(rng, f, version, flexible, path, depth, opts);
  }
  return m;
}

/** A random request or response body of `spec` at `version`, as the codec takes it. */
export function randomBody(rng: Rng, spec: ApiSpec, version: number, direction: Direction, opts: GenOptions = {}): Record<string, Value> {
  const flexible = spec.flexibleVersions !== null && version >= spec.flexibleVersions;
  return structValue(rng, direction === 'request' ? spec.request : spec.response, version, flexible, [], 0, opts);
}

/** Encodes a body with its header (request header v1/v2, response header v0/v1), no size prefix. */
export function encodeFrame(
  direction: Direction,
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
  correlationId: number,
): Buffer {
  const vc = codecForKey(apiKey)!.at(version);
  const w = new Writer(256);
  if (direction === 'request') {
    writeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: 'franz-fuzz' }, vc.flexible);
    vc.encodeRequest(w, body as never);
  } else {
    w.int32(correlationId);
    if (responseHeaderFlexible(apiKey, vc.flexible)) w.uvarint(0);
    vc.encodeResponse(w, body as never);
  }
  return Buffer.from(w.toBuffer());
}

/** The version ranges to generate for: every described version, or the ranges a broker serves. */
export type VersionRanges = ReadonlyMap<number, readonly [number, number]>;

export function describedRanges(): VersionRanges {
  return new Map(specs.map((s) => [s.apiKey, s.validVersions] as const));
}

/**
 * `perVersion` random frames of every API and version in `ranges` (requests, and responses when
 * asked), each traced. Frames the codec cannot encode from a random value are skipped (counted).
 */
export function generatedSeeds(
  rng: Rng,
  ranges: VersionRanges,
  perVersion: number,
  directions: readonly Direction[] = ['request'],
  opts: GenOptions = {},
): { seeds: Seed[]; skipped: number } {
  const seeds: Seed[] = [];
  let skipped = 0;
  for (const spec of specs) {
    const range = ranges.get(spec.apiKey);
    if (range === undefined) continue;
    for (let v = Math.max(range[0], spec.validVersions[0]); v <= Math.min(range[1], spec.validVersions[1]); v++) {
      for (const direction of directions) {
        for (let i = 0; i < perVersion; i++) {
          const s = generateSeed(rng, spec, v, direction, opts);
          if (s === null) skipped++;
          else seeds.push(s);
        }
      }
    }
  }
  return { seeds, skipped };
}

export function generateSeed(rng: Rng, spec: ApiSpec, version: number, direction: Direction, opts: GenOptions = {}): Seed | null {
  let frame: Buffer;
  try {
    frame = encodeFrame(direction, spec.apiKey, version, randomBody(rng, spec, version, direction, opts), 1 + rng.int(1 << 30));
  } catch {
    return null;
  }
  return makeSeed(frame, direction, spec.apiKey, version, 'generated');
}

/** Reads the API key and version of a request frame, or null when its header is cut. */
export function requestApi(frame: Buffer): { apiKey: number; version: number } | null {
  if (frame.length < 4) return null;
  return { apiKey: frame.readInt16BE(0), version: frame.readInt16BE(2) };
}
