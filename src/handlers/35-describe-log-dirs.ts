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
import { statfsSync } from 'node:fs';
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import type { Broker } from '../broker.js';
import type { Handler } from './registry.js';

function partitionEntry(broker: Broker, topic: string, p: number): Message | null {
  const log = broker.partition(topic, p);
  if (log === undefined) return null;
  return { partitionIndex: p, partitionSize: log.sizeBytes, offsetLag: 0, isFutureKey: false };
}

function diskSpace(dir: string): { totalBytes: number; usableBytes: number } {
  try {
    const s = statfsSync(dir);
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}

export const describeLogDirs: Handler = {
  apiKey: 35,
  versions: [1, 4],
  handle(ctx, req) {
    const { broker } = ctx;
    const requested = req.topics as Array<{ topic: string; partitions: number[] }> | null;
    const topics: Message[] = [];
    if (requested === null) {
      for (const t of broker.topics.list()) {
        const partitions: Message[] = [];
        for (let p = 0; p < t.partitions; p++) {
          const e = partitionEntry(broker, t.name, p);
          if (e !== null) partitions.push(e);
        }
        if (partitions.length > 0) topics.push({ name: t.name, partitions });
      }
    } else {
      for (const r of requested) {
        const partitions = [...new Set(r.partitions)].map((p) => partitionEntry(broker, r.topic, p)).filter((e) => e !== null);
        if (partitions.length > 0) topics.push({ name: r.topic, partitions });
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: broker.dataDir, topics, ...diskSpace(broker.dataDir) }],
    };
  },
};
