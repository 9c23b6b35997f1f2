/**
 * DescribeLogDirs (35), v1-4.
 *
 * Behavior: franz has one log directory, the broker's data directory (absolute path). Each partition
 * reports its size on disk (Log.sizeBytes), offsetLag 0 and isFutureKey false (there are no
 * replica moves between directories). topics null means every partition; otherwise only the listed
 * partitions that exist are reported, and a topic with none of them is left out, as Kafka does.
 * Version notes: v2 is flexible; v3 adds the top-level errorCode; v4 adds totalBytes and usableBytes
 * (from statfs of the data directory; -1 if statfs fails).
 */
import type { PartitionLogs } from '../metadata/ports.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/35-describe-log-dirs.js';
import type { Elem, ResponseBody } from '../protocol/schema.js';
import { defineHandler } from './registry.js';

type TopicResult = Elem<Elem<ResponseBody<typeof spec>['results']>['topics']>;
type PartitionResult = Elem<TopicResult['partitions']>;

function partitionEntry(logs: PartitionLogs, topic: string, p: number): PartitionResult | null {
  const log = logs.partition(topic, p);
  if (log === undefined) return null;
  return { partitionIndex: p, partitionSize: log.sizeBytes, offsetLag: 0, isFutureKey: false };
}

export const describeLogDirs = defineHandler(spec, {
  versions: [1, 4],
  handle(ctx, req) {
    const { logs } = ctx;
    const requested = req.topics;
    const topics: TopicResult[] = [];
    if (requested === null) {
      for (const t of ctx.topics.list()) {
        const partitions: PartitionResult[] = [];
        for (let p = 0; p < t.partitions; p++) {
          const e = partitionEntry(logs, t.name, p);
          if (e !== null) partitions.push(e);
        }
        if (partitions.length > 0) topics.push({ name: t.name, partitions });
      }
    } else {
      for (const r of requested) {
        const partitions = [...new Set(r.partitions)].map((p) => partitionEntry(logs, r.topic, p)).filter((e) => e !== null);
        if (partitions.length > 0) topics.push({ name: r.topic, partitions });
      }
    }
    const dir = ctx.logDirs.describe();
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: dir.path, topics, totalBytes: dir.totalBytes, usableBytes: dir.usableBytes }],
    };
  },
});
