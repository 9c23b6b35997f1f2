/**
 * The record formats of `__consumer_offsets`, as Kafka's group coordinator writes them, so Kafka's
 * own tools can read the topic. Keys and values start with an int16 version.
 *
 * - OffsetCommitKey (version 1): group, topic, partition. Value: OffsetCommitValue version 3:
 *   offset, leader epoch, metadata, commit timestamp. A null value deletes the offset.
 * - GroupMetadataKey (version 2): group. Value: GroupMetadataValue version 3: protocol type,
 *   generation, protocol, leader, state timestamp, members (id, instance id, client id and host,
 *   timeouts, subscription and assignment). A null value deletes the group.
 */
import { structCodec } from '../protocol/codec.js';
import { Reader, Writer } from '../protocol/primitives.js';
import type { Decoded, Field } from '../protocol/schema.js';

const OFFSET_KEY_VERSION = 1;
const GROUP_KEY_VERSION = 2;
const OFFSET_VALUE_VERSION = 3;
const GROUP_VALUE_VERSION = 3;

const offsetKeyFields = [
  { name: 'group', type: 'string', versions: '0+' },
  { name: 'topic', type: 'string', versions: '0+' },
  { name: 'partition', type: 'int32', versions: '0+' },
] as const satisfies readonly Field[];
const groupKeyFields = [{ name: 'group', type: 'string', versions: '0+' }] as const satisfies readonly Field[];
const offsetValueFields = [
  { name: 'offset', type: 'int64', versions: '0+' },
  { name: 'leaderEpoch', type: 'int32', versions: '3+', default: -1 },
  { name: 'metadata', type: 'string', versions: '0+' },
  { name: 'commitTimestamp', type: 'int64', versions: '0+' },
  { name: 'expireTimestamp', type: 'int64', versions: '1', default: -1 },
] as const satisfies readonly Field[];
const groupValueFields = [
  { name: 'protocolType', type: 'string', versions: '0+' },
  { name: 'generation', type: 'int32', versions: '0+' },
  { name: 'protocol', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'leader', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'currentStateTimestamp', type: 'int64', versions: '2+', default: -1 },
  {
    name: 'members',
    type: '[]',
    versions: '0+',
    fields: [
      { name: 'memberId', type: 'string', versions: '0+' },
      { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
      { name: 'clientId', type: 'string', versions: '0+' },
      { name: 'clientHost', type: 'string', versions: '0+' },
      { name: 'rebalanceTimeout', type: 'int32', versions: '1+' },
      { name: 'sessionTimeout', type: 'int32', versions: '0+' },
      { name: 'subscription', type: 'bytes', versions: '0+' },
      { name: 'assignment', type: 'bytes', versions: '0+' },
    ],
  },
] as const satisfies readonly Field[];

const codecs = {
  offsetKey: structCodec(offsetKeyFields, OFFSET_KEY_VERSION, false),
  groupKey: structCodec(groupKeyFields, GROUP_KEY_VERSION, false),
  offsetValue: (v: number) => structCodec(offsetValueFields, v, v >= 4),
  groupValue: (v: number) => structCodec(groupValueFields, v, v >= 4),
};

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

/** A classic group's stored metadata (GroupMetadataValue), as its description decodes it. */
export type GroupRecord = Decoded<typeof groupValueFields>;
export type GroupMemberRecord = GroupRecord['members'][number];

function versioned(version: number, encode: (w: Writer) => void): Buffer {
  const w = new Writer(64);
  w.int16(version);
  encode(w);
  return w.toBuffer();
}

export function offsetKey(group: string, topic: string, partition: number): Buffer {
  return versioned(OFFSET_KEY_VERSION, (w) => codecs.offsetKey.encode(w, { group, topic, partition }));
}

export function groupKey(group: string): Buffer {
  return versioned(GROUP_KEY_VERSION, (w) => codecs.groupKey.encode(w, { group }));
}

export function offsetValue(c: CommittedOffset): Buffer {
  return versioned(OFFSET_VALUE_VERSION, (w) => codecs.offsetValue(OFFSET_VALUE_VERSION).encode(w, { ...c, expireTimestamp: -1 }));
}

export function groupValue(g: GroupRecord): Buffer {
  return versioned(GROUP_VALUE_VERSION, (w) => codecs.groupValue(GROUP_VALUE_VERSION).encode(w, g));
}

export type DecodedKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string }
  | { kind: 'unknown' };

export function decodeKey(key: Buffer): DecodedKey {
  const r = new Reader(key);
  const version = r.int16();
  if (version === 0 || version === 1) {
    const m = codecs.offsetKey.decode(r);
    return r.bad ? { kind: 'unknown' } : { kind: 'offset', group: m.group, topic: m.topic, partition: m.partition };
  }
  if (version === 2) {
    const m = codecs.groupKey.decode(r);
    return r.bad ? { kind: 'unknown' } : { kind: 'group', group: m.group };
  }
  return { kind: 'unknown' };
}

export function decodeOffsetValue(value: Buffer): CommittedOffset | null {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 0 || version > 4) return null;
  const m = codecs.offsetValue(version).decode(r);
  if (r.bad) return null;
  return { offset: m.offset, leaderEpoch: m.leaderEpoch, metadata: m.metadata ?? '', commitTimestamp: m.commitTimestamp };
}

export function decodeGroupValue(value: Buffer): GroupRecord | null {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 0 || version > 4) return null;
  const m = codecs.groupValue(version).decode(r);
  return r.bad ? null : m;
}
