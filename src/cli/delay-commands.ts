/**
 * `franz delay stats|list TOPIC`: what waits in a topic for delayed delivery. The partitions are
 * read from their start like any client reads them (Fetch), control batches included: the delay
 * records (records/delayed-records.ts) and cancels, and the deliveries that name them
 * (`franz-delayed-from`). A record is pending while no delivery names it and no later cancel of
 * its key came; that is what the broker will still deliver (unless its transaction aborted).
 * A tool's full read: its cost grows with the topic.
 */
import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { type Client, EARLIEST_TIMESTAMP, KafkaError, LATEST_TIMESTAMP } from '../client/client.js';
import { ErrorCode } from '../protocol/errors.js';
import { DELAYED_FROM_HEADER, decodeDelayedRecord } from '../records/delayed-records.js';
import { clientCommand, common, integer } from './args.js';
import { jsonLine, out, table, withClient } from './io.js';

interface Pending {
  partition: number;
  offset: number;
  dueMs: number;
  key: string | null;
}

interface PartitionDelays {
  partition: number;
  pending: Pending[];
  delivered: number;
  cancelled: number;
}

/** Reads every partition (or one) of `topic` to its end and sorts out what waits. */
async function scan(client: Client, topic: string, only: number | undefined): Promise<PartitionDelays[]> {
  const meta = await client.topic(topic, { refresh: true });
  const all = meta.partitions.map((p) => p.partition);
  if (only !== undefined && !all.includes(only)) {
    throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" has ${all.length} partition(s), no partition ${only}`);
  }
  const partitions = only !== undefined ? [only] : all;
  const [starts, ends] = await Promise.all([
    client.listOffsets(topic, partitions, EARLIEST_TIMESTAMP),
    client.listOffsets(topic, partitions, LATEST_TIMESTAMP),
  ]);
  const result = new Map<number, { waiting: Map<number, Pending>; delivered: Set<number>; cancels: Map<string, number> }>();
  const positions = new Map<number, number>();
  for (const p of partitions) {
    result.set(p, { waiting: new Map(), delivered: new Set(), cancels: new Map() });
    const from = starts.get(p)?.offset ?? 0;
    if (from < (ends.get(p)?.offset ?? 0)) positions.set(p, from);
  }
  let partitionMaxBytes = 1024 * 1024;
  while (positions.size > 0) {
    for (const res of await client.fetch(topic, positions, { partitionMaxBytes })) {
      const r = result.get(res.partition);
      if (r === undefined || !positions.has(res.partition)) continue;
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `read ${topic}-${res.partition}`);
      if (res.truncated) partitionMaxBytes *= 2;
      for (const c of res.controlRecords) {
        const d = decodeDelayedRecord(c);
        if (d === null) continue;
        const key = d.key === null ? null : d.key.toString('utf8');
        if (d.cancel) r.cancels.set(key ?? '', c.offset);
        else r.waiting.set(c.offset, { partition: res.partition, offset: c.offset, dueMs: d.dueMs, key });
      }
      for (const rec of res.records) {
        for (const h of rec.headers) if (h.key === DELAYED_FROM_HEADER && h.value !== null) r.delivered.add(Number(h.value.toString()));
      }
      positions.set(res.partition, res.nextOffset);
      if (res.nextOffset >= (ends.get(res.partition)?.offset ?? 0)) positions.delete(res.partition);
    }
  }
  return partitions.map((partition) => {
    const r = result.get(partition)!;
    let cancelled = 0;
    const pending: Pending[] = [];
    for (const w of r.waiting.values()) {
      if (r.delivered.has(w.offset)) continue;
      const cancel = w.key === null ? undefined : r.cancels.get(w.key);
      if (cancel !== undefined && cancel > w.offset) cancelled++;
      else pending.push(w);
    }
    pending.sort((a, b) => a.dueMs - b.dueMs || a.offset - b.offset);
    return { partition, pending, delivered: r.delivered.size, cancelled };
  });
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function delayCommand(): CommandUnknownOpts {
  const delay = new Command('delay').description('records waiting for delayed delivery (franz-delay-ms, franz-deliver-at)');

  delay.addCommand(
    clientCommand('stats')
      .description('per partition: records waiting, the next due time and how late it is, records delivered and cancelled')
      .argument('<topic>', 'topic')
      .option('--partition <P>', 'only this partition', integer(0))
      .action(async (topic, opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const now = Date.now();
          const rows = (await scan(client, topic, opts.partition)).map((p) => {
            const next = p.pending[0]?.dueMs;
            return {
              partition: p.partition,
              pending: p.pending.length,
              nextDueMs: next ?? null,
              lateMs: next === undefined ? 0 : Math.max(0, now - next),
              delivered: p.delivered,
              cancelled: p.cancelled,
            };
          });
          if (c.json) await out(rows.map(jsonLine).join(''));
          else {
            await out(
              table([
                ['PARTITION', 'PENDING', 'NEXT DUE', 'LATE MS', 'DELIVERED', 'CANCELLED'],
                ...rows.map((r) => [
                  String(r.partition),
                  String(r.pending),
                  r.nextDueMs === null ? '-' : iso(r.nextDueMs),
                  String(r.lateMs),
                  String(r.delivered),
                  String(r.cancelled),
                ]),
              ]),
            );
          }
        });
      }),
  );

  delay.addCommand(
    clientCommand('list')
      .description('the records waiting, in due order: partition, offset, due time, key')
      .argument('<topic>', 'topic')
      .option('--partition <P>', 'only this partition', integer(0))
      .option('-n, --max <N>', 'at most this many', integer(0))
      .action(async (topic, opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const all = (await scan(client, topic, opts.partition))
            .flatMap((p) => p.pending)
            .sort((a, b) => a.dueMs - b.dueMs || a.partition - b.partition || a.offset - b.offset)
            .slice(0, opts.max ?? Number.MAX_SAFE_INTEGER);
          if (c.json) await out(all.map(jsonLine).join(''));
          else {
            await out(
              table([
                ['PARTITION', 'OFFSET', 'DUE', 'KEY'],
                ...all.map((p) => [String(p.partition), String(p.offset), iso(p.dueMs), p.key ?? '-']),
              ]),
            );
          }
        });
      }),
  );
  return delay;
}
