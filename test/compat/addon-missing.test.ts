/**
 * Without its native addon franz must not fall back to a slow path or crash with a stack trace: it
 * exits 1 with one line saying how to build the addon. The test runs a copy of the built tree
 * (dist/, package.json, node_modules linked) whose native/ directory is empty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/run.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('a missing addon: exit 1 and one line saying how to build it', async () => {
  const copy = mkdtempSync(join(tmpdir(), 'franz-no-addon-'));
  try {
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    cpSync(join(ROOT, 'dist', 'src'), join(copy, 'dist', 'src'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    mkdirSync(join(copy, 'native'));
    const r = await run(
      process.execPath,
      [join(copy, 'dist', 'src', 'cli', 'bin.cjs'), 'start', '--listen', '127.0.0.1:0', '--data-dir', join(copy, 'data')],
      {
        cwd: copy,
      },
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '', 'no ready line');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^franz: the native addon is not built \(.*franz\..*\.node missing\): run "npm run build:native"$/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
