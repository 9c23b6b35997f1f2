/**
 * The declarative description of a Kafka API, written by us from the facts in Kafka's message
 * definitions (field names, types, version ranges, tags). Codecs are derived from these descriptions
 * by `codec.ts`; nothing here does I/O.
 *
 * Conventions:
 * - Field names are the camelCase form of Kafka's PascalCase names (`TopicName` -> `topicName`).
 * - `versions`, `nullableVersions`, `taggedVersions` use Kafka's notation: "0+", "3-7", "5", "none".
 * - An array of structs is `type: '[]'` with `fields`; an array of primitives is `'[]int32'` etc.;
 *   a single nested struct is `type: 'struct'` with `fields`. Kafka's named common structs are inlined.
 * - `int64` values are JavaScript numbers (exact up to 2^53, which offsets and timestamps never pass).
 * - `records` is a nullable byte blob holding record batches; decoded as a view into the frame.
 *
 * Each description is declared `as const satisfies ApiSpec`, so its literal field names and types
 * survive, and the message types below are computed from it: a handler receives a
 * `DecodedRequest<typeof spec>` and returns a `ResponseBody<typeof spec>`; the client builds a
 * `RequestBody` and reads a `DecodedResponse`. A misspelled or missing field is a compile error.
 */
import type { RecordsRef } from './primitives.js';

export type Versions = string;

export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

export type FieldType = Primitive | 'struct' | '[]' | `[]${Primitive}`;

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly versions: Versions;
  readonly nullableVersions?: Versions;
  readonly taggedVersions?: Versions;
  readonly tag?: number;
  /** Value used when the field is absent in a version; defaults per type otherwise (0, '', false, []). */
  readonly default?: number | boolean | string | null;
  /** Sub-fields of a struct or of an array of structs. */
  readonly fields?: readonly Field[];
}

export interface ApiSpec {
  readonly apiKey: number;
  readonly name: string;
  /** The versions this description covers (those of Kafka 4.x's definition). */
  readonly validVersions: readonly [number, number];
  /** First flexible version (compact encodings and tagged fields), or null if none is flexible. */
  readonly flexibleVersions: number | null;
  readonly request: readonly Field[];
  readonly response: readonly Field[];
}

/** Parses Kafka's version notation into an inclusive range; "none" is an empty range. */
export function parseVersions(v: Versions): [number, number] {
  if (v === 'none') return [1, 0];
  if (v.endsWith('+')) return [Number(v.slice(0, -1)), 0x7fff];
  const dash = v.indexOf('-');
  if (dash < 0) return [Number(v), Number(v)];
  return [Number(v.slice(0, dash)), Number(v.slice(dash + 1))];
}

export function inVersions(v: Versions | undefined, version: number): boolean {
  if (v === undefined) return false;
  const [lo, hi] = parseVersions(v);
  return version >= lo && version <= hi;
}

// ---------------------------------------------------------------------------------------------
// Message types computed from a description.
//
// Decoded messages carry every field: the decoder fills a field absent from the version read with
// its default. Bodies to encode need only the required fields: those without a `default`, not
// tagged, and present in every version in which their struct appears (their `versions` is "N+"
// with N at most the struct's first version: the lowest valid version at the top level); the
// encoder writes defaults for the rest.
// ---------------------------------------------------------------------------------------------

/** A tuple of N unknowns (N below a few dozen: API versions). */
type Tuple<N extends number, T extends unknown[] = []> = T['length'] extends N ? T : Tuple<N, [...T, unknown]>;
/** A <= B for small non-negative integer literals. */
type AtMost<A extends number, B extends number> = Tuple<B> extends [...Tuple<A>, ...unknown[]] ? true : false;

type Nullable<F extends Field> = F extends { readonly nullableVersions: infer V } ? (V extends 'none' ? never : null) : never;

/** A field's primitive value as decoded (bytes and records are views into the frame). */
type DecodedPrimitive<P extends string> = P extends 'bool'
  ? boolean
  : P extends 'string' | 'uuid'
    ? string
    : P extends 'bytes' | 'records'
      ? Buffer
      : number;

/** A field's primitive value as the encoder takes it (records may name file regions). */
type PrimitiveInput<P extends string> = P extends 'bool'
  ? boolean
  : P extends 'string' | 'uuid'
    ? string
    : P extends 'bytes'
      ? Uint8Array
      : P extends 'records'
        ? Uint8Array | RecordsRef
        : number;

type SubFields<F extends Field> = F extends { readonly fields: infer S extends readonly Field[] } ? S : readonly [];

type DecodedValue<F extends Field> = F['type'] extends 'struct'
  ? Decoded<SubFields<F>> | Nullable<F>
  : F['type'] extends '[]'
    ? Decoded<SubFields<F>>[] | Nullable<F>
    : F['type'] extends `[]${infer P}`
      ? DecodedPrimitive<P>[] | Nullable<F>
      : DecodedPrimitive<F['type']> | Nullable<F>;

/** The first version of a `versions` range ("3+", "3-7", "3"). */
type FirstVersion<V> = V extends `${infer N extends number}+`
  ? N
  : V extends `${infer N extends number}-${string}`
    ? N
    : V extends `${infer N extends number}`
      ? N
      : 0;

/** The lowest version in which a struct's fields appear: its own first version, or the enclosing one. */
type InnerMin<F extends Field, Min extends number> =
  AtMost<FirstVersion<F['versions']>, Min> extends true ? Min : FirstVersion<F['versions']>;

type InputValue<F extends Field, Min extends number> = F['type'] extends 'struct'
  ? Body<SubFields<F>, InnerMin<F, Min>> | Nullable<F>
  : F['type'] extends '[]'
    ? ReadonlyArray<Body<SubFields<F>, InnerMin<F, Min>>> | Nullable<F>
    : F['type'] extends `[]${infer P}`
      ? ReadonlyArray<PrimitiveInput<P>> | Nullable<F>
      : PrimitiveInput<F['type']> | Nullable<F>;

type Required<F extends Field, Min extends number> = F extends { readonly default: unknown }
  ? false
  : F extends { readonly taggedVersions: string }
    ? false
    : F['versions'] extends `${infer N extends number}+`
      ? AtMost<N, Min>
      : false;

/** A field list not known field by field (`readonly Field[]` rather than a literal tuple). */
type Wide<Fs extends readonly Field[]> = number extends Fs['length'] ? true : false;

/** Every field of a struct, as decoded. */
export type Decoded<Fs extends readonly Field[]> =
  Wide<Fs> extends true ? Record<string, unknown> : { -readonly [F in Fs[number] as F['name']]: DecodedValue<F> };

/** A struct to encode: the required fields, and any others. */
export type Body<Fs extends readonly Field[], Min extends number = 0> =
  Wide<Fs> extends true
    ? Record<string, unknown>
    : {
        [F in Fs[number] as Required<F, Min> extends true ? F['name'] : never]: InputValue<F, Min>;
      } & {
        [F in Fs[number] as Required<F, Min> extends true ? never : F['name']]?: InputValue<F, Min>;
      };

type MinVersion<S extends ApiSpec> = S['validVersions'][0];

export type DecodedRequest<S extends ApiSpec> = Decoded<S['request']>;
export type DecodedResponse<S extends ApiSpec> = Decoded<S['response']>;
export type RequestBody<S extends ApiSpec> = Body<S['request'], MinVersion<S>>;
export type ResponseBody<S extends ApiSpec> = Body<S['response'], MinVersion<S>>;

/** The element type of an array type (handy for the structs nested in a message). */
export type Elem<A> = A extends ReadonlyArray<infer E> ? E : never;
