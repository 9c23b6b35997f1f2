/**
 * Shared helpers for `npm run bench`: a text progress bar on stderr, bounded child processes,
 * per-process CPU and peak-RSS readings from /proc, and small formatting helpers.
 *
 * Every wait here is bounded in time; every child process is killed by its own pid.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, seen from dist/bench/ (compiled) or bench/ (source). */
export const REPO_ROOT = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'bench')) ? join(here, '..', '..') : join(here, '..');
})();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Progress bar

/**
 * A progress bar in weight units. On a TTY it redraws one line (`\r`); otherwise it prints one
 * line per step so that logs stay readable.
 */
export class Progress {
  private done = 0;
  private label = '';
  private readonly started = Date.now();
  private readonly tty = process.stderr.isTTY === true;
  private timer: NodeJS.Timeout | null = null;

  constructor(private total: number) {
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    }
  }

  /** Adds to the total (when a later part learns its size). */
  grow(units: number): void {
    this.total += units;
  }

  /** Starts a step: shows its label. */
  step(label: string): void {
    this.label = label;
    if (this.tty) this.draw();
    else process.stderr.write(`[bench ${this.percent()}% ${this.elapsed()}] ${label}\n`);
  }

  /** Marks `units` of work as done. */
  advance(units: number): void {
    this.done = Math.min(this.total, this.done + units);
    if (this.tty) this.draw();
  }

  /** Prints a line above the bar. */
  note(line: string): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(line + '\n');
    if (this.tty) this.draw();
  }

  finish(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.done = this.total;
    if (this.tty) {
      this.draw();
      process.stderr.write('\n');
    } else {
      process.stderr.write(`[bench 100% ${this.elapsed()}] done\n`);
    }
  }

  private percent(): number {
    return this.total > 0 ? Math.floor((100 * this.done) / this.total) : 0;
  }

  private elapsed(): string {
    const s = Math.round((Date.now() - this.started) / 1000);
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }

  private draw(): void {
    const width = 30;
    const filled = this.total > 0 ? Math.round((width * this.done) / this.total) : 0;
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const cols = process.stderr.columns ?? 100;
    const line = `[${bar}] ${String(this.percent()).padStart(3)}% ${this.elapsed()} ${this.label}`;
    process.stderr.write('\r\x1b[2K' + line.slice(0, Math.max(20, cols - 1)));
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Bytes the child wrote to stdout (counted even when the text is not kept). */
  stdoutBytes: number;
  ms: number;
  timedOut: boolean;
  /** User + system CPU seconds of the command and its children (only with `measureCpu`). */
  cpuSeconds?: number;
  /** The command's thread that used the most CPU (only with `measureCpu`; see ThreadWatch). */
  busiestThread?: ThreadCpu;
}

export interface ThreadCpu {
  /** The thread's name (comm), e.g. rdk:broker1 or kafka-producer-network-thread. */
  name: string;
  cpuSeconds: number;
}

/**
 * Samples the CPU time of every thread of the command running under a `measureCpu` bash wrapper,
 * every SAMPLE_MS, keeping each thread's last reading. A client whose busiest thread is busy for
 * nearly its whole run is bound by that thread, whatever the broker does; the total alone cannot
 * show that for a client with several threads. Readings end up to SAMPLE_MS before a thread
 * exits, so the busiest figure errs low (in the broker's favour when it is read as a bound).
 * A sample of a JVM's 19 threads took 0.23 ms (by hand), so watching costs about half a percent
 * of a core, the same with either broker.
 */
class ThreadWatch {
  static readonly SAMPLE_MS = 50;
  private readonly threads = new Map<string, ThreadCpu>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly wrapperPid: number) {
    this.timer = setInterval(() => this.sample(), ThreadWatch.SAMPLE_MS);
  }

  private sample(): void {
    // The command and whatever it started in turn (a client may run under a launcher script).
    const pending = this.childrenOf(this.wrapperPid);
    for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
      let tids: string[];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue; // Exited since the listing.
      }
      for (const tid of tids) {
        try {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          this.threads.set(`${pid}/${tid}`, { name, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLK_TCK });
        } catch {
          // The thread exited between the listing and the read.
        }
        pending.push(...this.childrenOf(Number(pid), Number(tid)));
      }
    }
  }

  /** Child processes started by one thread (the main one unless given) of a process. */
  private childrenOf(pid: number, tid = pid): number[] {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter((x) => x !== '')
        .map(Number);
    } catch {
      return [];
    }
  }

  stop(): ThreadCpu | undefined {
    clearInterval(this.timer);
    let best: ThreadCpu | undefined;
    for (const t of this.threads.values()) if (best === undefined || t.cpuSeconds > best.cpuSeconds) best = t;
    return best;
  }
}

export interface RunOptions extends SpawnOptions {
  timeoutMs: number;
  /** Keep at most this many characters of stdout (default 1 MiB); the byte count stays exact. */
  keepStdout?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /**
   * Report the command's CPU time (`cpuSeconds`): it runs under a bash that prints its
   * children's user and system time (`times`) on stderr once the command exits, since Node
   * offers no rusage of a child. The two lines are taken off `stderr`.
   */
  measureCpu?: boolean;
}

const KEEP_STDERR = 256 * 1024;

/** `times` prints the shell's own line, then its children's: "0m11.690s 0m0.780s". */
const TIMES_TAIL = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/;

/** Process groups of running measured commands, killed if the bench itself exits early. */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/**
 * Runs a command to completion, killing it after `timeoutMs` (by its own pid, or with
 * `measureCpu` its whole process group: the bash wrapper and the command under it).
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const keep = opts.keepStdout ?? 1024 * 1024;
  const t0 = process.hrtime.bigint();
  const measured = opts.measureCpu === true;
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      const [file, argv] = measured ? ['bash', ['-c', '"$@"; s=$?; times >&2; exit $s', 'bench-client', cmd, ...args]] : [cmd, args];
      child = spawn(file, argv, {
        ...opts,
        detached: measured,
        stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      reject(e);
      return;
    }
    const pgid = measured ? child.pid : undefined;
    if (pgid !== undefined) liveGroups.add(pgid);
    const watch = pgid !== undefined ? new ThreadWatch(pgid) : undefined;
    const kill = (): void => {
      if (pgid === undefined) {
        child.kill('SIGKILL');
        return;
      }
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    let stdout = '';
    let stderr = '';
    // The end of stderr, kept whole for the `times` lines even when `stderr` is full.
    let stderrTail = '';
    let stdoutBytes = 0;
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => {
      stdoutBytes += d.length;
      if (stdout.length < keep) stdout += d.toString('utf8', 0, Math.min(d.length, keep - stdout.length));
    });
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      if (stderr.length < KEEP_STDERR) stderr += text;
      if (measured) stderrTail = (stderrTail + text).slice(-512);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      watch?.stop();
      if (pgid !== undefined) liveGroups.delete(pgid);
      reject(e);
    });
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      const busiestThread = watch?.stop();
      if (pgid !== undefined) liveGroups.delete(pgid);
      let cpuSeconds: number | undefined;
      const m = measured ? TIMES_TAIL.exec(stderrTail) : null;
      if (m !== null) {
        cpuSeconds = Number(m[5]) * 60 + Number(m[6]) + Number(m[7]) * 60 + Number(m[8]);
        const at = stderr.lastIndexOf(m[0]);
        if (at >= 0) stderr = stderr.slice(0, at);
      }
      resolve({ code, signal, stdout, stderr, stdoutBytes, ms, timedOut, cpuSeconds, busiestThread });
    });
  });
}

/** A short, single-line tail of a tool's output for error messages. */
export function tail(text: string, chars = 400): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > chars ? '...' + t.slice(t.length - chars) : t;
}

// ---------------------------------------------------------------------------------------------
// Page cache

/**
 * Writes `bytes` of zeros to a scratch file in `dir` and deletes it, so the next broker writes
 * into page-cache memory that has been used before. On this kind of virtual machine the first
 * write to a never-touched guest page costs several times a reused one (dd of 2 GiB in 16 KiB
 * writes: 0.27 GB/s the first time, 1-1.5 GB/s right after), which made whichever broker ran
 * first in a session pay for the other's warm memory. Where the guest hands free memory back to
 * the host (virtio-balloon free page reporting, `pageReportingActive`) it does so within seconds
 * of the deletion, and its pages cost a first touch again: e2e skips this there (a 256 MiB probe
 * right after an 8 GiB scratch write cost 1.6 CPU s/GiB, as on memory never touched).
 */
export function touchPageCache(dir: string, bytes: number): void {
  const path = join(dir, `page-cache-${process.pid}.tmp`);
  const chunk = Buffer.alloc(1 << 20);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}

/** Bytes the page-cache probe writes: enough to span many 2 MiB blocks, quick even on cold memory. */
const PROBE_BYTES = 256 * 2 ** 20;

/**
 * The machine's cost of growing the page cache at this moment: this process's CPU seconds (user
 * + system) per GiB to write PROBE_BYTES to a new file in 16 KiB writes (the size of a Java
 * producer's batch), which is then deleted. The same code varies by 6-8x with the state of the
 * guest's memory (docs/perf/machine-noise.md), and every produce row pays this cost per byte on both brokers.
 */
export function pageCacheWriteCost(dir: string): number {
  const path = join(dir, `page-cache-probe-${process.pid}.tmp`);
  const chunk = Buffer.alloc(16 * 1024, 1);
  const fd = openSync(path, 'w');
  const before = process.cpuUsage();
  try {
    for (let done = 0; done < PROBE_BYTES; done += chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6 / (PROBE_BYTES / 2 ** 30);
}

const PAGE_REPORTING = '/sys/module/page_reporting/parameters';

/**
 * Free page reporting (virtio-balloon): the guest tells the host which free pages it may take
 * back; touching such a page again costs a fault on the host. Null where the kernel has none.
 */
export function pageReporting(): { order: number; reportedKiB: number | null } | null {
  const read = (name: string): number | null => {
    try {
      return Number(readFileSync(join(PAGE_REPORTING, name), 'utf8').trim());
    } catch {
      return null;
    }
  };
  const order = read('page_reporting_order');
  // reported_kib is not in every kernel's module; the order is.
  return order === null ? null : { order, reportedKiB: read('reported_kib') };
}

/**
 * Whether free page reporting can report anything: the buddy allocator's largest blocks are of
 * order 10 on x86-64 and arm64 with 4 KiB pages, so an order above that (this machine boots with
 * 11) reports nothing.
 */
export function pageReportingActive(): boolean {
  const r = pageReporting();
  return r !== null && r.order <= 10;
}

// ---------------------------------------------------------------------------------------------
// /proc readings

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64 and arm64

/** User + system CPU seconds of a process (all its threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it are space-separated.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Peak resident set size (VmHWM) in bytes. */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Current resident set size (VmRSS) in bytes. */
export function currentRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * Resets the process's peak RSS to its current RSS (writing 5 to /proc/<pid>/clear_refs, Linux
 * >= 4.0), so that each row reports its own peak. Returns false where that is not allowed.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Open file descriptors of a process. */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function fmt(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** Deterministic pseudo-random numbers (mulberry32), so inputs are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Record-like text: JSON events with a handful of fields, as real topics carry. Compresses
 * roughly like application data does (not like random bytes, not like one repeated record).
 */
export function recordText(rand: () => number, size: number): string {
  const words = [
    'alpha',
    'bravo',
    'charlie',
    'delta',
    'echo',
    'foxtrot',
    'golf',
    'hotel',
    'india',
    'juliet',
    'kilo',
    'lima',
    'mike',
    'november',
    'oscar',
    'papa',
    'quebec',
    'romeo',
    'sierra',
    'tango',
  ];
  const pick = (): string => words[Math.floor(rand() * words.length)]!;
  let s =
    `{"id":${Math.floor(rand() * 1e12)},"ts":${1_700_000_000_000 + Math.floor(rand() * 1e9)},` +
    `"user":"${pick()}-${Math.floor(rand() * 100000)}","event":"${pick()}","tags":[`;
  while (s.length < size - 40) {
    s += `"${pick()}${Math.floor(rand() * 1000)}",`;
    if (rand() < 0.2) s += `"${Math.floor(rand() * 2 ** 32).toString(36)}",`;
  }
  s += `"end"],"v":"`;
  while (s.length < size - 2) s += String.fromCharCode(97 + Math.floor(rand() * 26));
  s = (s + '"}').slice(0, size);
  // Keep it valid-looking even when cut: the last char closes the object.
  return s.length === size ? s.slice(0, size - 1) + '}' : s.padEnd(size, ' ');
}
