/**
 * The record formats of `__transaction_state`, as Kafka's transaction coordinator writes them, so
 * that Kafka's own tools can read the topic. Keys and values start with an int16 version.
 *
 * - TransactionLogKey (version 0): the transactional id.
 * - TransactionLogValue (version 0; version 1 is flexible, with tagged fields for the previous and
 *   next producer id and the client's transaction version): producer id and epoch, timeout, the
 *   state (TxnState), the partitions in the transaction, the last update and start times.
 *   A null value (a tombstone) removes an expired transactional id.
 */
import { structCodec } from '../protocol/codec.js';
import { Reader, Writer } from '../protocol/primitives.js';
import type { Decoded, Field } from '../protocol/schema.js';

const KEY_VERSION = 0;
/** The value version written: 1 (flexible) carries what transactions v2 (KIP-890) needs. */
const VALUE_VERSION = 1;

const keyFields = [{ name: 'transactionalId', type: 'string', versions: '0' }] as const satisfies readonly Field[];
const valueFields = [
  { name: 'producerId', type: 'int64', versions: '0+' },
  { name: 'previousProducerId', type: 'int64', versions: '1+', taggedVersions: '1+', tag: 0, default: -1 },
  { name: 'nextProducerId', type: 'int64', versions: '1+', taggedVersions: '1+', tag: 1, default: -1 },
  { name: 'producerEpoch', type: 'int16', versions: '0+' },
  { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
  { name: 'transactionStatus', type: 'int8', versions: '0+' },
  {
    name: 'transactionPartitions',
    type: '[]',
    versions: '0+',
    nullableVersions: '0+',
    fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitionIds', type: '[]int32', versions: '0+' },
    ],
  },
  { name: 'transactionLastUpdateTimestampMs', type: 'int64', versions: '0+' },
  { name: 'transactionStartTimestampMs', type: 'int64', versions: '0+' },
  { name: 'clientTransactionVersion', type: 'int16', versions: '1+', taggedVersions: '1+', tag: 2, default: 0 },
] as const satisfies readonly Field[];

const codecs = {
  key: structCodec(keyFields, KEY_VERSION, false),
  value: (v: number) => structCodec(valueFields, v, v >= 1),
};

/** A stored transaction (TransactionLogValue), as its description decodes it. */
export type TransactionRecord = Decoded<typeof valueFields>;

function versioned(version: number, encode: (w: Writer) => void): Buffer {
  const w = new Writer(64);
  w.int16(version);
  encode(w);
  return w.toBuffer();
}

export function transactionKey(transactionalId: string): Buffer {
  return versioned(KEY_VERSION, (w) => codecs.key.encode(w, { transactionalId }));
}

export function transactionValue(t: TransactionRecord): Buffer {
  return versioned(VALUE_VERSION, (w) => codecs.value(VALUE_VERSION).encode(w, t));
}

/** The transactional id of a key, or null for a key of another version or malformed. */
export function decodeTransactionKey(key: Buffer): string | null {
  const r = new Reader(key);
  if (r.int16() !== KEY_VERSION) return null;
  const m = codecs.key.decode(r);
  return r.bad ? null : m.transactionalId;
}

export function decodeTransactionValue(value: Buffer): TransactionRecord | null {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 0 || version > VALUE_VERSION) return null;
  const m = codecs.value(version).decode(r);
  return r.bad ? null : m;
}
