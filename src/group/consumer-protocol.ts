/**
 * The "consumer" embedded protocol of classic groups: the subscription that consumers put in their
 * JoinGroup metadata (ConsumerProtocolSubscription: version int16, topics [string], user data,
 * owned partitions from v1, ...). The broker reads only the topic list, for OffsetDelete and for
 * `franz group describe`.
 */
import { Reader } from '../protocol/primitives.js';

export function subscribedTopicsOf(metadata: Buffer): string[] | null {
  const r = new Reader(metadata);
  const version = r.int16();
  if (version < 0) return null;
  const n = r.length(false, 2);
  const topics: string[] = [];
  for (let i = 0; i < n && !r.bad; i++) {
    const t = r.string(false);
    if (t !== null) topics.push(t);
  }
  return r.bad ? null : topics;
}

/**
 * ConsumerProtocolAssignment: version int16, then [topic string, partitions [int32]], user data.
 * Returns the assigned partitions, or null when the bytes are not a consumer assignment.
 */
export function assignedPartitionsOf(assignment: Buffer): Array<{ topic: string; partitions: number[] }> | null {
  if (assignment.length === 0) return [];
  const r = new Reader(assignment);
  const version = r.int16();
  if (version < 0) return null;
  const n = r.length(false, 2);
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (let i = 0; i < n && !r.bad; i++) {
    const topic = r.string(false) ?? '';
    const k = r.length(false, 4);
    const partitions: number[] = [];
    for (let j = 0; j < k && !r.bad; j++) partitions.push(r.int32());
    out.push({ topic, partitions });
  }
  return r.bad ? null : out;
}
