/**
 * The bench's WebSocket audience for franz's HTTP listener (the `http` session): N subscribers to a
 * feed topic's stream (`from=latest`), kept busy by one record POSTed to the topic over REST v3
 * every 1000/rate ms, so each subscriber receives `rate` records a second. Prints `{"ready":true}`
 * once every subscriber has received a record, and on stdin's end a summary line
 * (`{"received":..,"fewest":..,"posted":..}`) before it closes its sockets and exits.
 *
 *   node dist/bench/ws-subscribers.js HOST:PORT TOPIC SUBSCRIBERS RATE
 */
import WebSocket from 'ws';

const [http, topic, countText, rateText] = process.argv.slice(2);
if (http === undefined || topic === undefined) {
  process.stderr.write('usage: ws-subscribers HOST:PORT TOPIC SUBSCRIBERS RATE\n');
  process.exit(2);
}
const count = Number(countText ?? 100);
const rate = Number(rateText ?? 100);

const base = `http://${http}`;
const cluster = ((await (await fetch(`${base}/v3/clusters`)).json()) as { data: Array<{ cluster_id: string }> }).data[0]!.cluster_id;
const topics = `${base}/v3/clusters/${cluster}/topics`;
// Made here (a second session run finds it made: 400, fine).
await fetch(topics, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ topic_name: topic, partitions_count: 1 }),
});

const received = new Array<number>(count).fill(0);
const sockets = received.map((_, i) => {
  const ws = new WebSocket(`ws://${http}/v3/clusters/${cluster}/topics/${topic}/stream?from=latest`);
  ws.on('message', () => {
    received[i]!++;
  });
  ws.on('error', (e) => process.stderr.write(`subscriber ${i}: ${e.message}\n`));
  return ws;
});
await Promise.all(sockets.map((ws) => new Promise((resolve) => ws.once('open', resolve))));

let posted = 0;
const value = 'x'.repeat(100);
const feed = setInterval(() => {
  posted++;
  fetch(`${topics}/${topic}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: { type: 'STRING', data: value } }),
  }).catch((e: unknown) => process.stderr.write(`post: ${String(e)}\n`));
}, 1000 / rate);

const ready = setInterval(() => {
  if (received.every((n) => n > 0)) {
    clearInterval(ready);
    process.stdout.write('{"ready":true}\n');
  }
}, 20);

process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(feed);
  clearInterval(ready);
  process.stdout.write(`${JSON.stringify({ received: received.reduce((a, b) => a + b, 0), fewest: Math.min(...received), posted })}\n`);
  for (const ws of sockets) ws.close();
  setTimeout(() => process.exit(0), 200).unref();
});
