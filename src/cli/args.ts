/**
 * Argument helpers shared by the client commands: the common options every client command takes
 * (--brokers, --format) and parsers for option values.
 *
 * Parsers run while commander reads the command line and throw commander's InvalidArgumentError,
 * so a bad value is a usage error (exit code 2) reported before anything is sent to a broker.
 */
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';

export const DEFAULT_BROKERS = '127.0.0.1:9092';

/** What the common options come to. */
export interface Common {
  readonly brokers: readonly string[];
  /** --format json: one JSON object per line, for scripts. */
  readonly json: boolean;
}

function brokerList(value: string): string[] {
  const brokers = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (brokers.length === 0) throw new InvalidArgumentError('expected at least one HOST:PORT');
  return brokers;
}

/** A client command: `name` with the common options --brokers and --format. */
export function clientCommand(name: string) {
  return new Command(name)
    .addOption(
      new Option('--brokers <HOST:PORT,...>', 'bootstrap brokers')
        .env('FRANZ_BROKERS')
        .argParser(brokerList)
        .default([DEFAULT_BROKERS], DEFAULT_BROKERS),
    )
    .addOption(new Option('--format <format>', 'json: one JSON object per line, for scripts').choices(['text', 'json']).default('text'));
}

/** The common options of a client command, as `clientCommand` declares them. */
export function common(opts: { readonly brokers: readonly string[]; readonly format: 'text' | 'json' }): Common {
  return { brokers: opts.brokers, json: opts.format === 'json' };
}

/** A parser for an integer option value of at least `min`. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected an integer >= ${min}`);
    }
    return n;
  };
}

/** A parser for a repeatable option: every value, in order. */
export function repeatable<T>(parse: (value: string) => T): (value: string, previous: readonly T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** key=value (the key not empty; the value may be). */
export function keyValue(value: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value');
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/** A point in time: milliseconds since the epoch, or an ISO date. */
export function timestamp(value: string): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError('expected milliseconds since the epoch or an ISO date');
  return t;
}

/** A value that must not be empty. */
export function nonEmpty(value: string): string {
  if (value === '') throw new InvalidArgumentError('must not be empty');
  return value;
}
