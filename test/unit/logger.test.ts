import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitedLog } from '../../src/logger.js';

test('RateLimitedLog lets through its limit per window, then says how many it held back', () => {
  const lines: Array<[string, object | undefined]> = [];
  const log = { debug() {}, info() {}, error() {}, warn: (msg: string, extra?: object) => lines.push([msg, extra]) };
  const limited = new RateLimitedLog(3, 1000);
  for (let i = 0; i < 10; i++) limited.warn(log, 'closing connection', { i }, 5000 + i);
  assert.equal(lines.length, 3);
  assert.deepEqual(
    lines.map(([, e]) => e),
    [{ i: 0 }, { i: 1 }, { i: 2 }],
  );
  limited.warn(log, 'closing connection', { i: 10 }, 6000);
  assert.deepEqual(lines[3], ['log lines suppressed', { suppressed: 7, like: 'closing connection', windowMs: 1000 }]);
  assert.deepEqual(lines[4], ['closing connection', { i: 10 }]);
  limited.warn(log, 'closing connection', { i: 11 }, 7500);
  assert.equal(lines.length, 6, 'no summary line for a window that held nothing back');
});
