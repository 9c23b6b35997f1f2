/**
 * DeleteRecords (21), v0-2.
 *
 * Behavior: per partition, moves the log start offset to the requested offset (-1 = the high
 * watermark) and drops whole segments below it (Log.deleteRecordsBefore); lowWatermark is the
 * resulting log start offset. An offset below the current start changes nothing and still succeeds.
 * An offset beyond the high watermark (or negative other than -1) is OFFSET_OUT_OF_RANGE; an unknown
 * topic or partition UNKNOWN_TOPIC_OR_PARTITION; an offline log KAFKA_STORAGE_ERROR; those answer
 * lowWatermark -1. When any start offset moved, the log-start-offset checkpoint is written before
 * answering, so the deletion survives a restart (KAFKA_STORAGE_ERROR for the moved partitions if
 * that write fails).
 * Version notes: v1 is v0 with throttling semantics; v2 is flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/21-delete-records.js';
import type { Elem, ResponseBody } from '../protocol/schema.js';
import { defineHandler } from './registry.js';

type PartitionResult = Elem<Elem<ResponseBody<typeof spec>['topics']>['partitions']>;

export const deleteRecords = defineHandler(spec, {
  versions: [0, 2],
  async handle(ctx, req) {
    const { logs } = ctx;
    const moved: PartitionResult[] = [];
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p): PartitionResult => {
        const out = { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.NONE };
        const log = logs.partition(t.name, p.partitionIndex);
        if (log === undefined) return { ...out, errorCode: logs.missingPartitionError(t.name, p.partitionIndex) };
        if (log.offlineError !== null) return { ...out, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
        const before = log.logStartOffset;
        const code = log.deleteRecordsBefore(p.offset);
        if (code !== ErrorCode.NONE) return { ...out, errorCode: code };
        const done = { ...out, lowWatermark: log.logStartOffset };
        if (log.logStartOffset !== before) moved.push(done);
        return done;
      }),
    }));
    if (moved.length > 0) {
      try {
        await logs.writeCheckpoints();
      } catch (err) {
        // The records are gone from reads, but the new start would not survive a restart: say so.
        ctx.log.error('log-start-offset checkpoint failed after DeleteRecords', { err: String(err) });
        for (const p of moved) Object.assign(p, { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1 });
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
