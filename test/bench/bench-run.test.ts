/**
 * The bench's child-process runner with `measureCpu` (bench/util.ts): the client's CPU comes from
 * bash's `times` printed after it exits, the two `times` lines are taken off stderr, the exit code
 * passes through, and a timeout kills the whole process group (the bash and what runs under it).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { run } from '../../bench/util.js';

/** True while a process with this pid exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('bench run() with measureCpu', () => {
  test('reports the CPU the command used and leaves its exit code and stderr as they were', async () => {
    // A busy loop in a child of the measured command: its time counts too.
    const r = await run('bash', ['-c', 'bash -c "i=0; while [ \\$i -lt 150000 ]; do i=\\$((i+1)); done"; echo done >&2; exit 3'], {
      measureCpu: true,
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 3);
    assert.equal(r.stderr, 'done\n');
    assert.ok(r.cpuSeconds !== undefined && r.cpuSeconds > 0.05, `cpuSeconds ${r.cpuSeconds}`);
    assert.ok(r.cpuSeconds <= (r.ms / 1000) * 2 + 0.05, `cpu ${r.cpuSeconds} s in ${r.ms} ms on two cores`);
    // The busy loop runs in a grandchild of the wrapper: its thread is found and is the busiest.
    // Sampling every 50 ms misses at most the last 50 ms of it.
    const t = r.busiestThread;
    assert.ok(t !== undefined, 'no busiest thread');
    assert.equal(t.name, 'bash');
    assert.ok(t.cpuSeconds >= r.cpuSeconds - 0.1 && t.cpuSeconds <= r.cpuSeconds, `busiest ${t.cpuSeconds} s of ${r.cpuSeconds} s`);
  });

  test('the busiest thread of a client with several threads is the one that worked', async () => {
    // A Node worker thread spins for 300 ms while the main thread waits on it: the worker must come
    // out busiest with about 300 ms, not the process's total (start-up, GC and compiler threads).
    const script =
      "const { Worker } = require('node:worker_threads'); " +
      "new Worker('const end = Date.now() + 300; while (Date.now() < end);', { eval: true }).on('exit', () => {});";
    const r = await run(process.execPath, ['-e', script], { measureCpu: true, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const t = r.busiestThread;
    assert.ok(t !== undefined && r.cpuSeconds !== undefined);
    assert.ok(t.cpuSeconds >= 0.2 && t.cpuSeconds <= 0.35, `busiest ${t.name} ${t.cpuSeconds} s of ${r.cpuSeconds} s`);
  });

  test('without measureCpu nothing is wrapped and no CPU is reported', async () => {
    const r = await run('bash', ['-c', 'echo out; echo err >&2'], { timeoutMs: 10_000 });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.cpuSeconds, undefined);
    assert.equal(r.busiestThread, undefined);
  });

  test('a timeout kills the command and its children, not only the bash around it', async () => {
    const r = await run('bash', ['-c', 'sleep 90 & echo $!; wait'], { measureCpu: true, timeoutMs: 500 });
    assert.equal(r.timedOut, true);
    // The sleep holds the stdout pipe: run() resolves only once it is gone too.
    assert.ok(r.ms < 30_000, `run() took ${r.ms} ms`);
    const sleeper = Number(r.stdout.trim());
    assert.ok(sleeper > 0, `pid of the sleep: ${JSON.stringify(r.stdout)}`);
    // SIGKILL to the group has been sent before run() resolves; the kernel may need a moment to
    // reap the orphan, so poll its state (bounded) instead of sleeping a fixed time.
    const deadline = Date.now() + 5_000;
    while (running(sleeper) && Date.now() < deadline) await new Promise((res) => setImmediate(res));
    assert.equal(running(sleeper), false, `sleep ${sleeper} still running`);
  });
});
