/**
 * A consumer-group member in a child process (the Java client's FranzCheck `group` mode,
 * test/python/group_member.py), driven through the JSON lines it prints: {"owned": [partitions]}
 * after each assignment change and one object with an "offset" per record. Closing its stdin makes
 * it commit, leave the group and exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';

export interface MemberRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

export interface MemberProcess {
  child: ChildProcess;
  /** Partitions it owns now, sorted. */
  owned: number[];
  /** How many assignment changes it has printed. */
  ownedChanges: number;
  records: MemberRecord[];
  /** Every line it printed, parsed. */
  lines: Array<Record<string, unknown>>;
  /**
   * Resolves once `pred` holds (checked whenever any member prints a line or exits); rejects if
   * this process exits first or after `timeoutMs`.
   */
  until(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Closes its stdin and waits for a clean exit. */
  stop(): Promise<void>;
}

/** Every member started, so a suite's after hook can kill what a failed test left running. */
export const memberProcesses = new Set<MemberProcess>();

/** Shared by all members: a condition often spans several (e.g. a split between two). */
const waiters: Array<() => void> = [];
function wake(): void {
  for (const w of waiters.splice(0)) w();
}

export function startMemberProcess(cmd: string, args: string[]): MemberProcess {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const m: MemberProcess = {
    child,
    owned: [],
    ownedChanges: 0,
    records: [],
    lines: [],
    async until(pred, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${cmd} member exited (${child.exitCode ?? child.signalCode}) before ${what}: ${stderr.slice(-2000)}`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}; it owns [${m.owned}]`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    async stop() {
      const exited = child.exitCode !== null ? Promise.resolve([child.exitCode]) : once(child, 'exit');
      child.stdin!.end();
      const [code] = await exited;
      assert.equal(code, 0, stderr.slice(-2000));
    },
  };
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const o = JSON.parse(l) as { owned?: number[]; offset?: number; error?: string };
    m.lines.push(o);
    if (o.owned !== undefined) {
      m.owned = [...o.owned].sort((a, b) => a - b);
      m.ownedChanges++;
    } else if (o.offset !== undefined) m.records.push(o as MemberRecord);
    else if (o.error !== undefined) stderr += `\n${o.error}`;
    wake();
  });
  child.once('exit', () => {
    memberProcesses.delete(m);
    wake();
  });
  memberProcesses.add(m);
  return m;
}

/** True when both own something and together own 0..n-1 exactly once. */
export function splitBetween(a: MemberProcess, b: MemberProcess, n: number): boolean {
  if (a.owned.length === 0 || b.owned.length === 0) return false;
  const all = [...a.owned, ...b.owned].sort((x, y) => x - y);
  return all.length === n && all.every((p, i) => p === i);
}
