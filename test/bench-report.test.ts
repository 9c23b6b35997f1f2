/**
 * The bench report's CPU model (bench/report.ts cpuModel): the ratio two cores shared by client
 * and broker predict from each side's CPU per GiB, and its ceiling for a broker costing nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { cpuModel, toMarkdown, type BenchResults } from '../bench/report.js';
import type { BrokerMeasure, E2eRow } from '../bench/e2e.js';

function side(mibPerSec: number, broker: number, client: number): BrokerMeasure {
  return { ok: true, mibPerSec, recordsPerSec: mibPerSec * 1024, cpuSecPerGiB: broker, clientCpuSecPerGiB: client };
}

function row(over: Partial<E2eRow>): E2eRow {
  return {
    id: 'produce-1k', title: 'Produce 1 KiB records, 8 partitions', kind: 'produce', client: 'ProducerPerformance',
    partitions: 8, recordSize: 1024, compression: 'none', durable: false, records: 1000,
    franz: side(150, 3, 12), kafka: side(100, 9, 13), ratio: 1.5, ratioOf: 'records/s', ...over,
  };
}

describe('bench report CPU model', () => {
  test('model is (C_kafka + B_kafka) / (C_franz + B_franz), ceiling drops the franz broker', () => {
    const m = cpuModel(row({}));
    assert.ok(m !== null);
    assert.equal(m.model, (13 + 9) / (12 + 3));
    assert.equal(m.ceiling, (13 + 9) / 12);
  });

  test('no model where it does not hold or a side has no CPU figure', () => {
    assert.equal(cpuModel(row({ partitions: 1000 })), null);
    assert.equal(cpuModel(row({ durable: true })), null);
    assert.equal(cpuModel(row({ kind: 'latency' })), null);
    assert.equal(cpuModel(row({ kafka: { ok: false, error: 'sent 9 of 10' } })), null);
    assert.equal(cpuModel(row({ franz: { ok: true, mibPerSec: 1, cpuSecPerGiB: 2 } })), null);
  });

  test('the Markdown lists modelled rows only, with their values', () => {
    const res: BenchResults = {
      date: '2026-12-04T00:00:00.000Z', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], targets: [],
      e2e: [row({}), row({ id: 'produce-1k-p1000', title: 'Produce 1 KiB records, 1 000 partitions', partitions: 1000 })],
    };
    const md = toMarkdown(res);
    assert.ok(md.includes('### CPU model'));
    const from = md.slice(md.indexOf('### CPU model'));
    const end = from.indexOf('\n## ');
    const section = end < 0 ? from : from.slice(0, end);
    assert.match(section, /\| Produce 1 KiB records, 8 partitions \| ProducerPerformance \| \*\*1\.50x\*\* \| 1\.47x \| 1\.83x \|/);
    assert.ok(!section.includes('1 000 partitions'));
  });

  test("the client's side lists each watched row with its busiest thread and cores, all partitions", () => {
    const f = { ...side(150, 3, 12), clientThread: 'kafka-producer-network-thread | producer-1', clientThreadBusy: 0.974, clientCores: 1.41 };
    const k = { ...side(100, 9, 13), clientThreadBusy: 0.75, clientCores: 1.02 };
    const res: BenchResults = {
      date: '2026-12-04T00:00:00.000Z', quick: false, durationSec: 1, machine: {}, settings: [], micro: [], targets: [],
      e2e: [row({ franz: f, kafka: k }), row({ id: 'produce-1k-p1000', title: 'Produce 1 KiB records, 1 000 partitions', partitions: 1000 })],
    };
    const md = toMarkdown(res);
    const from = md.slice(md.indexOf("### The client's side"));
    const section = from.slice(0, from.indexOf('\n## ') < 0 ? undefined : from.indexOf('\n## '));
    assert.match(section, /\| Produce 1 KiB records, 8 partitions \| ProducerPerformance \| \*\*1\.50x\*\* \| kafka-producer-network-thread \\\| producer-1 \| 97 \/ 75 \| 1\.41 \/ 1\.02 \|/);
    // A row with no thread readings is left out.
    assert.ok(!section.includes('1 000 partitions'));
  });
});
