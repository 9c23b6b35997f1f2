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
 */

export type Versions = string;

export type Primitive =
  | 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64'
  | 'string' | 'bytes' | 'uuid' | 'records';

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
