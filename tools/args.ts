/**
 * Command-line options of the hardening tools: `--name value` or `--name=value`, numbers checked.
 */
export class Args {
  private readonly values = new Map<string, string>();
  private readonly flags = new Set<string>();

  constructor(argv: readonly string[], booleans: readonly string[] = []) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0) this.values.set(name, a.slice(eq + 1));
      else if (booleans.includes(name)) this.flags.add(name);
      else {
        const v = argv[++i];
        if (v === undefined) throw new Error(`--${name} needs a value`);
        this.values.set(name, v);
      }
    }
  }

  has(name: string): boolean {
    return this.values.has(name) || this.flags.has(name);
  }

  flag(name: string): boolean {
    return this.flags.has(name) || this.values.get(name) === 'true';
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.values.get(name) ?? fallback;
  }

  number(name: string, fallback: number): number {
    const v = this.values.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, not "${v}"`);
    return n;
  }

  /** Every option given that is not in `known`, so that a misspelt option is an error, not a default. */
  unknown(known: readonly string[]): string[] {
    return [...this.values.keys(), ...this.flags].filter((k) => !known.includes(k));
  }
}

/** A default seed when none is given: printed, so the run can be repeated. */
export function randomSeed(): number {
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** Runs a tool's main when its file is the program, exiting with its code (2 on an uncaught error). */
export function runAsProgram(file: string, main: (argv: string[]) => Promise<number>): void {
  if (!process.argv[1]?.endsWith(file)) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(2);
    },
  );
}
