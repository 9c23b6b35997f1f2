/**
 * Storage vocabulary: distinct types for numbers that are easily confused. An offset (a record's
 * place in a partition's log) and a file position (a byte in a segment file) are both plain
 * numbers at run time; the brands make the compiler refuse one where the other is meant, as
 * Redpanda's distinct offset types do. A brand costs nothing at run time: `asOffset` and
 * `asFilePosition` only tell the compiler what a number is, where it enters the storage layer.
 */

/** A record offset in a partition's log (base offsets, the log end offset, read bounds). */
export type Offset = number & { readonly __brand: 'Offset' };

/** A byte position in a segment file (`.log`), counted from the file's start. */
export type FilePosition = number & { readonly __brand: 'FilePosition' };

export function asOffset(n: number): Offset {
  return n as Offset;
}

export function asFilePosition(n: number): FilePosition {
  return n as FilePosition;
}
