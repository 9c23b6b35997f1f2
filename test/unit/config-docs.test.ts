/**
 * README's config list tells honoured keys from accepted-and-ignored ones; this keeps it true to
 * the key tables in src/config.ts (a key marked `ignored` there is listed as ignored here, and
 * every other key as honoured), and its compatibility table true to the handler registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BROKER_KEY_NAMES, TOPIC_KEY_NAMES, ignoredKeys } from '../../src/config.js';
import { createRegistry } from '../../src/handlers/index.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');

/** The backticked names in README between two phrases. */
function namesBetween(from: string, to: string): Set<string> {
  const a = README.indexOf(from);
  const b = README.indexOf(to, a);
  assert.ok(a >= 0 && b > a, `README has "${from}" ... "${to}"`);
  return new Set([...README.slice(a, b).matchAll(/`([a-z][a-z0-9.]*)`/g)].map((m) => m[1]!));
}

const honouredBroker = namesBetween('Honoured broker keys:', 'Values are checked');
const honouredTopic = namesBetween('Honoured topic configs:', 'Accepted and ignored');
const ignored = namesBetween('Accepted and ignored', '- Listeners:');
const marked = ignoredKeys();

test('every broker key is listed as honoured or as ignored, as the key table says', () => {
  const ignoredBroker = new Set(marked.broker.map(([k]) => k));
  for (const k of BROKER_KEY_NAMES) {
    if (ignoredBroker.has(k)) {
      assert.ok(ignored.has(k), `${k} is ignored but README does not say so`);
      assert.ok(!honouredBroker.has(k), `${k} is ignored but README lists it as honoured`);
    } else {
      assert.ok(honouredBroker.has(k), `${k} is honoured but missing from README's list`);
    }
  }
});

test('every topic config is listed as honoured or as ignored, as the key table says', () => {
  const ignoredTopic = new Set(marked.topic.map(([k]) => k));
  for (const k of TOPIC_KEY_NAMES) {
    if (ignoredTopic.has(k)) {
      assert.ok(ignored.has(k), `${k} is ignored but README does not say so`);
      assert.ok(!honouredTopic.has(k), `${k} is ignored but README lists it as honoured`);
    } else {
      assert.ok(honouredTopic.has(k), `${k} is honoured but missing from README's list`);
    }
  }
  assert.ok(ignoredTopic.size > 0 && marked.broker.length > 0);
});

test('README names no key franz does not know', () => {
  const known = new Set<string>([...BROKER_KEY_NAMES, ...TOPIC_KEY_NAMES]);
  for (const k of [...honouredBroker, ...honouredTopic, ...ignored]) assert.ok(known.has(k), `README lists unknown key ${k}`);
});

test("README's compatibility table lists every API franz serves, with the versions ApiVersions advertises", () => {
  const table = README.slice(README.indexOf('| API (key) | versions | notes |'));
  const rows = new Map([...table.matchAll(/^\| [A-Za-z]+ \((\d+)\) \| ([^|]+) \|/gm)].map((m) => [Number(m[1]), m[2]!.trim()] as const));
  for (const a of createRegistry().apiVersions()) {
    const want = a.minVersion === a.maxVersion ? String(a.minVersion) : `${a.minVersion}-${a.maxVersion}`;
    const row = rows.get(a.apiKey);
    assert.ok(row !== undefined, `API ${a.apiKey} is served but not in README's table`);
    assert.ok(row === want || row.includes(`(advertised ${want})`), `API ${a.apiKey}: README says ${row}, ApiVersions advertises ${want}`);
  }
  assert.equal(rows.size, createRegistry().apiVersions().length, 'README lists no API franz does not serve');
});
