/**
 * The web console (`/` on the HTTP listener) in a real browser: Debian's Chromium, headless, driven
 * by playwright-core. A user creates a topic, produces a record from the page and sees it in the
 * record browser (JSON pretty-printed, headers, a kafkajs record's binary value as hex) and in the
 * live tail; watches a group's lag fall as a kafkajs consumer reads; deletes a topic. Screenshots
 * of each step go to artifacts/console/ (FRANZ_ARTIFACTS to move them).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { removeDir, tempDir, type RunningBroker } from '../helpers/broker.js';
import { startHttpBroker } from '../helpers/http.js';

const { Kafka, logLevel } = kafkajs;

const CHROMIUM = process.env.FRANZ_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.env.FRANZ_ARTIFACTS ?? 'artifacts', 'console');

const dataDir = tempDir('franz-console-');
let broker: RunningBroker;
let browser: Browser;
let page: Page;
let http = '';
let cluster = '';

before(async () => {
  ({ broker, http, cluster } = await startHttpBroker(dataDir, ['num.partitions=1', 'group.initial.rebalance.delay.ms=0']));
  // Root has no sandbox to drop into; the page is our own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  mkdirSync(ARTIFACTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await broker.stop();
  removeDir(dataDir);
});

const kafka = () => new Kafka({ clientId: 'console-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
const text = async (selector: string) => (await page.locator(selector).first().textContent()) ?? '';

describe('web console (headless Chromium)', () => {
  test('create a topic, produce a record, see it in the browser and the live tail', async () => {
    await page.goto(`${http}/`);
    await page.waitForURL(/#\/topics$/);
    await page.fill('#new-topic-name', 'web-orders');
    await page.fill('#new-topic-partitions', '2');
    await page.click('#create-topic');
    await page.waitForSelector('tr[data-topic="web-orders"]');
    await shot('1-topic-created');
    const made = (await (await fetch(`${http}/v3/clusters/${cluster}/topics/web-orders`)).json()) as { partitions_count: number };
    assert.equal(made.partitions_count, 2);

    // Creating it again: the broker's refusal is shown.
    await page.fill('#new-topic-name', 'web-orders');
    await page.click('#create-topic');
    await page.waitForFunction(() => /already exists/.test(document.body.textContent ?? ''));

    await page.click('tr[data-topic="web-orders"] a');
    await page.waitForSelector('#partitions tr[data-partition="1"]');
    await page.click('#tail-start');
    await page.waitForFunction(() => document.querySelector('#tail-status')?.textContent === 'live');

    await page.fill('#produce-partition', '0');
    await page.fill('#produce-key', 'order-1');
    await page.fill('#produce-value', '{"id":1,"total":9.5}');
    await page.fill('#produce-headers', 'source=console');
    await page.click('#produce-send');
    await page.waitForFunction(() => /offset 0/.test(document.querySelector('#produce-result')?.textContent ?? ''));

    // A Kafka client's record (binary value) reaches the same views.
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: 'web-orders', messages: [{ key: 'bin', value: Buffer.from([0xff, 0x00, 0x80]), partition: 0 }] });
    await producer.disconnect();

    await page.waitForSelector('#tail .tail-record[data-partition="0"][data-offset="1"]');
    const tail = await text('#tail .tail-record[data-offset="0"]');
    assert.match(tail, /order-1/);
    assert.match(tail, /"total": 9\.5/);
    assert.match(await text('#tail .tail-record[data-offset="1"]'), /ff 00 80/);
    await shot('2-live-tail');

    await page.selectOption('#browse-partition', '0');
    await page.fill('#browse-from', '0');
    await page.click('#browse-go');
    await page.waitForSelector('#records tr[data-offset="1"]');
    assert.equal(await text('#records tr[data-offset="0"] .key'), 'order-1');
    // Pretty-printed: the JSON value spans lines.
    assert.match(await text('#records tr[data-offset="0"] .value'), /\{\n\s+"id": 1,\n\s+"total": 9\.5\n\}/);
    assert.match(await text('#records tr[data-offset="0"] .headers'), /source: console/);
    assert.match(await text('#records tr[data-offset="1"] .value'), /^ff 00 80$/);
    await shot('3-browse');
    await page.click('#tail-stop');

    await page.reload();
    await page.waitForSelector('#partitions tr[data-partition="0"]');
    assert.equal(await text('#partitions tr[data-partition="0"] td:nth-child(4)'), '2', 'partition 0 ends at offset 2');
  });

  test("a group's lag falls as a kafkajs consumer reads; members and chart shown", async () => {
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: 'web-orders', messages: Array.from({ length: 300 }, (_, i) => ({ value: `m${i}`, partition: i % 2 })) });
    await producer.disconnect();
    const admin = kafka().admin();
    await admin.connect();
    await admin.setOffsets({
      groupId: 'web-group',
      topic: 'web-orders',
      partitions: [
        { partition: 0, offset: '0' },
        { partition: 1, offset: '0' },
      ],
    });
    await admin.disconnect();

    await page.goto(`${http}/#/groups`);
    await page.waitForSelector('tr[data-group="web-group"]');
    await page.click('tr[data-group="web-group"] a');
    await page.waitForFunction(() => document.querySelector('#group-lag-total')?.textContent === '302');
    await shot('4-group-lagging');

    const consumer = kafka().consumer({ groupId: 'web-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'web-orders' });
    let read = 0;
    await consumer.run({
      eachMessage: async () => {
        read++;
      },
    });
    try {
      await page.waitForFunction(() => document.querySelector('#group-lag-total')?.textContent === '0', undefined, { timeout: 60_000 });
      assert.ok(read >= 302, `the consumer read ${read}`);
      await page.waitForFunction(() => /console-test/.test(document.querySelector('#members')?.textContent ?? ''));
      await page.waitForFunction(() => document.querySelector('#group-state')?.textContent === 'STABLE');
      assert.match(await text('#members'), /web-orders/);
      assert.equal(await text('#lags tr[data-tp="web-orders/0"] .lag'), '0');
      // The chart drew the fall: its line has points, the highest labelled 302.
      const points = await page.locator('#lag-chart polyline').first().getAttribute('points');
      assert.ok((points ?? '').trim().split(/\s+/).length >= 2, `chart points: ${points}`);
      assert.match(await text('#lag-chart'), /302/);
      await shot('5-group-caught-up');
    } finally {
      await consumer.disconnect();
    }
  });

  test('brokers page; delete a topic from its page', async () => {
    await page.goto(`${http}/#/brokers`);
    await page.waitForSelector('text=' + cluster);
    assert.match((await page.locator('main').textContent()) ?? '', new RegExp(String(broker.port)));
    const created = await fetch(`${http}/v3/clusters/${cluster}/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic_name: 'web-temp', partitions_count: 1 }),
    });
    assert.equal(created.status, 201);
    await page.goto(`${http}/#/topics/web-temp`);
    await page.waitForSelector('#partitions tr[data-partition="0"]');
    page.once('dialog', (d) => void d.accept());
    await page.click('#delete-topic');
    await page.waitForURL(/#\/topics$/);
    await page.waitForSelector('tr[data-topic="web-orders"]');
    assert.equal(await page.locator('tr[data-topic="web-temp"]').count(), 0);
    assert.equal((await fetch(`${http}/v3/clusters/${cluster}/topics/web-temp`)).status, 404);
    await shot('6-topic-deleted');
  });
});
