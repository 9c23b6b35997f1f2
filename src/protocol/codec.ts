/**
 * Encoders and decoders derived from the declarative API descriptions in `messages/`.
 *
 * For each (API, version, direction) the field list is compiled once into a closure tree, so the
 * per-message work is a walk over precomputed steps with no version checks left. Decoders never
 * throw on bad input: they mark the Reader bad, and the caller checks `reader.bad` once at the end.
 *
 * Types: the compiled closures see messages as plain records keyed by field name; the public
 * surface (`ApiCodec<S>`, `VersionCodec<S>`, `StructCodec<Fs>`) gives them the types computed from
 * the description (schema.ts), and this file is the one place where the two meet.
 *
 * Strict encoding (tests): with `FRANZ_STRICT_ENCODE=1` in the environment, or after
 * `setStrictEncoding(true)`, encoding a struct that carries a key its description does not have
 * throws, so a misspelled field cannot silently go out as its default.
 */
import {
  type ApiSpec,
  type Body,
  type Decoded,
  type DecodedRequest,
  type DecodedResponse,
  type Field,
  type Primitive,
  type RequestBody,
  type ResponseBody,
  inVersions,
} from './schema.js';
import { EMPTY_BUFFER, Reader, Writer, ZERO_UUID, type RecordsRef } from './primitives.js';

/** A message as the compiled closures see it: fields by camelCase name. */
type Message = Record<string, unknown>;

let strictEncoding = process.env.FRANZ_STRICT_ENCODE === '1';

/** Makes every encoder refuse keys its description does not have (on in the test suite). */
export function setStrictEncoding(on: boolean): void {
  strictEncoding = on;
}

/** The error strict encoding throws for a key the description does not have. */
export class UnknownFieldError extends Error {
  readonly code = 'FRANZ_UNKNOWN_FIELD';
  constructor(
    readonly field: string,
    known: readonly string[],
  ) {
    super(`unknown field "${field}" (the description has: ${known.join(', ')})`);
    this.name = 'UnknownFieldError';
  }
}

type Decode = (r: Reader) => unknown;
type Encode = (w: Writer, v: unknown) => void;

interface FieldPlan {
  name: string;
  present: boolean;
  tagged: boolean;
  tag: number;
  decode: Decode;
  encode: Encode;
  defaultValue: () => unknown;
  isDefault: (v: unknown) => boolean;
}

interface StructPlan {
  decode: (r: Reader) => Message;
  encode: (w: Writer, v: Message) => void;
  defaults: () => Message;
}

function primitiveMinBytes(t: Primitive, compact: boolean): number {
  switch (t) {
    case 'bool':
    case 'int8':
      return 1;
    case 'int16':
    case 'uint16':
      return 2;
    case 'int32':
    case 'uint32':
      return 4;
    case 'int64':
    case 'float64':
      return 8;
    case 'uuid':
      return 16;
    default:
      return compact ? 1 : 2;
  }
}

/**
 * A primitive's decoder. A null (length -1) in a string, bytes or records field that is not
 * nullable in the version read marks the request malformed, as Kafka's generated readers refuse
 * it ("non-nullable field was serialized as null"): handlers never see a null their types exclude.
 */
function primitiveDecoder(t: Primitive, flexible: boolean, nullable: boolean): Decode {
  switch (t) {
    case 'bool':
      return (r) => r.bool();
    case 'int8':
      return (r) => r.int8();
    case 'int16':
      return (r) => r.int16();
    case 'uint16':
      return (r) => r.uint16();
    case 'int32':
      return (r) => r.int32();
    case 'uint32':
      return (r) => r.uint32();
    case 'int64':
      return (r) => r.int64();
    case 'float64':
      return (r) => r.float64();
    case 'uuid':
      return (r) => r.uuid();
    case 'string':
      return nullable
        ? (r) => r.string(flexible)
        : (r) => {
            const v = r.string(flexible);
            if (v !== null) return v;
            r.fail();
            return '';
          };
    case 'bytes':
    case 'records':
      return nullable
        ? (r) => r.bytes(flexible)
        : (r) => {
            const v = r.bytes(flexible);
            if (v !== null) return v;
            r.fail();
            return EMPTY_BUFFER;
          };
  }
}

function primitiveEncoder(t: Primitive, flexible: boolean): Encode {
  switch (t) {
    case 'bool':
      return (w, v) => w.bool(Boolean(v));
    case 'int8':
      return (w, v) => w.int8(Number(v ?? 0));
    case 'int16':
      return (w, v) => w.int16(Number(v ?? 0));
    case 'uint16':
      return (w, v) => w.uint16(Number(v ?? 0));
    case 'int32':
      return (w, v) => w.int32(Number(v ?? 0));
    case 'uint32':
      return (w, v) => w.uint32(Number(v ?? 0));
    case 'int64':
      return (w, v) => w.int64(Number(v ?? 0));
    case 'float64':
      return (w, v) => w.float64(Number(v ?? 0));
    case 'uuid':
      return (w, v) => w.uuid(typeof v === 'string' ? v : ZERO_UUID);
    case 'string':
      return (w, v) => w.string(v == null ? null : String(v), flexible);
    case 'bytes':
      return (w, v) => w.bytes((v as Uint8Array | null) ?? null, flexible);
    case 'records':
      return (w, v) => w.records((v as RecordsRef | Uint8Array | null) ?? null, flexible);
  }
}

function typeDefault(f: Field, version: number): () => unknown {
  if (f.default !== undefined) {
    const d = f.default;
    if (typeof d === 'string' && f.type !== 'string') {
      if (d === 'null') return () => null;
      if (d === 'true' || d === 'false') return () => d === 'true';
      const n = Number(d);
      return () => n;
    }
    return () => d;
  }
  if (f.type.startsWith('[]')) return () => [];
  switch (f.type) {
    case 'bool':
      return () => false;
    case 'string':
      return () => '';
    case 'uuid':
      return () => ZERO_UUID;
    case 'bytes':
    case 'records':
      return () => (inVersions(f.nullableVersions, version) ? null : Buffer.alloc(0));
    case 'struct':
      return () => null;
    default:
      return () => 0;
  }
}

function compileField(f: Field, version: number, flexible: boolean): FieldPlan {
  const nullable = inVersions(f.nullableVersions, version);
  const tagged = flexible && inVersions(f.taggedVersions, version);
  // A tagged field may lie outside `versions` only by mistake; being tagged in a version means present.
  const present = inVersions(f.versions, version) || tagged;
  let decode: Decode;
  let encode: Encode;
  if (f.type === 'struct') {
    const sub = compileStruct(f.fields ?? [], version, flexible);
    decode = nullable ? (r) => (r.int8() < 0 ? null : sub.decode(r)) : sub.decode;
    encode = nullable
      ? (w, v) => {
          if (v == null) w.int8(-1);
          else {
            w.int8(1);
            sub.encode(w, v as Message);
          }
        }
      : (w, v) => sub.encode(w, (v as Message) ?? sub.defaults());
  } else if (f.type.startsWith('[]')) {
    const elem = f.type.slice(2) as Primitive | '';
    let decodeElem: Decode;
    let encodeElem: Encode;
    let minBytes: number;
    if (elem === '') {
      const sub = compileStruct(f.fields ?? [], version, flexible);
      decodeElem = sub.decode;
      encodeElem = (w, v) => sub.encode(w, v as Message);
      minBytes = 0;
    } else {
      // Elements of an array are never null in Kafka's schemas.
      decodeElem = primitiveDecoder(elem, flexible, false);
      encodeElem = primitiveEncoder(elem, flexible);
      minBytes = primitiveMinBytes(elem, flexible);
    }
    // An element takes at least one byte whatever its type, so counts above the bytes left are lies.
    const unit = Math.max(1, minBytes);
    decode = (r) => {
      const n = r.length(flexible, unit);
      if (n < 0) {
        if (nullable) return null;
        r.fail(); // a null array where the version forbids it: malformed
        return [];
      }
      const out: unknown[] = [];
      for (let i = 0; i < n && !r.bad; i++) out.push(decodeElem(r));
      return out;
    };
    encode = (w, v) => {
      if (v == null) {
        w.length(nullable ? -1 : 0, flexible);
        return;
      }
      const arr = v as unknown[];
      w.length(arr.length, flexible);
      for (const e of arr) encodeElem(w, e);
    };
  } else {
    decode = primitiveDecoder(f.type as Primitive, flexible, nullable);
    encode = primitiveEncoder(f.type as Primitive, flexible);
  }
  const defaultValue = typeDefault(f, version);
  const d = defaultValue();
  // A field left out of a body to encode goes out as its default (-1 where the description says so).
  const encodeGiven = encode;
  encode = (w, v) => encodeGiven(w, v === undefined ? defaultValue() : v);
  const isDefault = (v: unknown): boolean => {
    if (v === undefined || v === d) return true;
    if (Array.isArray(v) && Array.isArray(d)) return v.length === 0 && d.length === 0;
    return false;
  };
  return { name: f.name, present, tagged, tag: f.tag ?? -1, decode, encode, defaultValue, isDefault };
}

function compileStruct(fields: readonly Field[], version: number, flexible: boolean): StructPlan {
  const plans = fields.map((f) => compileField(f, version, flexible));
  const regular = plans.filter((p) => p.present && !p.tagged);
  const tagged = plans.filter((p) => p.present && p.tagged).sort((a, b) => a.tag - b.tag);
  const absent = plans.filter((p) => !p.present);
  const byTag = new Map(tagged.map((p) => [p.tag, p]));

  const defaults = (): Message => {
    const m: Message = {};
    for (const p of plans) m[p.name] = p.defaultValue();
    return m;
  };

  const decode = (r: Reader): Message => {
    const m: Message = {};
    for (const p of regular) m[p.name] = p.decode(r);
    for (const p of absent) m[p.name] = p.defaultValue();
    for (const p of tagged) m[p.name] = p.defaultValue();
    if (flexible) {
      const count = r.uvarint();
      for (let i = 0; i < count && !r.bad; i++) {
        const tag = r.uvarint();
        const size = r.uvarint();
        const p = byTag.get(tag);
        if (p === undefined || size > r.remaining) {
          r.skip(size);
          continue;
        }
        const end = r.pos + size;
        const sub = new Reader(r.buf, r.pos, end);
        m[p.name] = p.decode(sub);
        if (sub.bad) r.fail();
        r.pos = end;
      }
    }
    return m;
  };

  const names = new Set(plans.map((p) => p.name));
  const checkKeys = (m: Message): void => {
    for (const k of Object.keys(m)) if (!names.has(k)) throw new UnknownFieldError(k, [...names]);
  };

  const encode = (w: Writer, m: Message): void => {
    if (strictEncoding) checkKeys(m);
    for (const p of regular) p.encode(w, m[p.name]);
    if (!flexible) return;
    let count = 0;
    for (const p of tagged) if (!p.isDefault(m[p.name])) count++;
    w.uvarint(count);
    if (count === 0) return;
    for (const p of tagged) {
      const v = m[p.name];
      if (p.isDefault(v)) continue;
      const inner = new Writer(64);
      p.encode(inner, v);
      const bytes = inner.toBuffer();
      w.uvarint(p.tag);
      w.uvarint(bytes.length);
      w.raw(bytes);
    }
  };

  return { decode, encode, defaults };
}

export interface VersionCodec<S extends ApiSpec = ApiSpec> {
  readonly version: number;
  readonly flexible: boolean;
  decodeRequest(r: Reader): DecodedRequest<S>;
  encodeRequest(w: Writer, m: RequestBody<S>): void;
  decodeResponse(r: Reader): DecodedResponse<S>;
  encodeResponse(w: Writer, m: ResponseBody<S>): void;
}

/** Compiled codecs for every version of one API, built lazily on first use. */
export class ApiCodec<S extends ApiSpec = ApiSpec> {
  private readonly versions = new Map<number, VersionCodec<S>>();

  constructor(readonly spec: S) {}

  supports(version: number): boolean {
    return version >= this.spec.validVersions[0] && version <= this.spec.validVersions[1];
  }

  isFlexible(version: number): boolean {
    return this.spec.flexibleVersions !== null && version >= this.spec.flexibleVersions;
  }

  at(version: number): VersionCodec<S> {
    let c = this.versions.get(version);
    if (c === undefined) {
      if (!this.supports(version)) throw new RangeError(`${this.spec.name} v${version} is not described`);
      const flexible = this.isFlexible(version);
      const req = compileStruct(this.spec.request, version, flexible);
      const res = compileStruct(this.spec.response, version, flexible);
      // The closures build and read exactly the fields of the description, which is what the
      // computed types say; this is where the untyped records take those types.
      c = {
        version,
        flexible,
        decodeRequest: req.decode as (r: Reader) => DecodedRequest<S>,
        encodeRequest: req.encode as (w: Writer, m: RequestBody<S>) => void,
        decodeResponse: res.decode as (r: Reader) => DecodedResponse<S>,
        encodeResponse: res.encode as (w: Writer, m: ResponseBody<S>) => void,
      };
      this.versions.set(version, c);
    }
    return c;
  }
}

/** A codec for a bare field list (no API around it), e.g. the records of internal topics. */
export interface StructCodec<Fs extends readonly Field[]> {
  decode(r: Reader): Decoded<Fs>;
  encode(w: Writer, m: Body<Fs>): void;
}

export function structCodec<const Fs extends readonly Field[]>(fields: Fs, version: number, flexible: boolean): StructCodec<Fs> {
  const s = compileStruct(fields, version, flexible);
  return {
    decode: s.decode as (r: Reader) => Decoded<Fs>,
    encode: s.encode as (w: Writer, m: Body<Fs>) => void,
  };
}
