/**
 * `GET /v3/clusters/{id}/topics/{topic}/partitions/{p}/records?offset=N|timestamp=T&max_records=M`:
 * franz's addition to REST v3 (Confluent's has no read), for the console's record browser and for
 * scripts: up to M committed records of one partition from an offset, or from the first record at
 * or after a time, in the stream's record shape, and `next_offset` to read on from.
 */
import type { BrokerServices } from '../handlers/registry.js';
import { HttpError, type HttpServer } from './http-server.js';
import { readCommitted, recordLine } from './topic-stream.js';

/** Answers hold at most this many records, and read at most this many bytes of batches. */
const MAX_RECORDS = 1000;
const MAX_READ_BYTES = 4 * 1024 * 1024;
const READ_STEP = 256 * 1024;

export function registerRecordReads(server: HttpServer, s: BrokerServices): void {
  server.route('get', '/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id/records', ({ x, params, query }) => {
    if (params[0] !== s.cluster.clusterId) throw new HttpError(404, `cluster ${params[0]} not found`, 40401);
    const topic = params[1]!;
    const t = s.topics.get(topic);
    const p = Number(params[2]);
    if (t === undefined || !Number.isInteger(p) || p < 0 || p >= t.partitions)
      throw new HttpError(404, 'This server does not host this topic-partition.', 40403);
    const log = s.logs.partition(topic, p);
    if (log === undefined) throw new HttpError(503, `this broker does not lead ${topic}-${p}: read from its leader`, 50301);
    const whole = (name: string, fallback: number): number => {
      const text = query.get(name);
      if (text === null) return fallback;
      if (!/^\d{1,16}$/.test(text)) throw new HttpError(400, `${name} must be a whole number >= 0`);
      return Number(text);
    };
    const max = Math.min(whole('max_records', 50), MAX_RECORDS);
    let offset: number;
    if (query.has('timestamp')) offset = log.offsetForTimestamp(whole('timestamp', 0))?.offset ?? log.lastStableOffset;
    else offset = Math.min(Math.max(whole('offset', log.logStartOffset), log.logStartOffset), log.lastStableOffset);
    const lines: string[] = [];
    let next = offset;
    for (let read = 0; lines.length < max && read < MAX_READ_BYTES; read += READ_STEP) {
      const r = readCommitted(log, next, READ_STEP);
      if (r.next === next) break;
      for (const rec of r.records) {
        if (lines.length === max) break;
        lines.push(recordLine(topic, p, rec));
        next = rec.offset + 1;
      }
      // Past the whole read unless it was cut at `max` (then the next read starts after the last record sent).
      if (lines.length < max) next = r.next;
    }
    x.send(200, 'application/json', `{"kind":"FranzRecordList","data":[${lines.join(',')}],"next_offset":${next}}`);
  });
}
