/**
 * Kafka's transaction index (`<base offset>.txnindex`): per segment, one 34-byte entry for each
 * aborted transaction whose abort marker lies in the segment: version (int16, 0), producer id,
 * first offset, last offset (the marker's), and the last stable offset once it was written.
 *
 * franz answers read_committed fetches from its producer state (the aborted list in the snapshot,
 * ProducerStateManager); these files are written so that a partition directory holds what Kafka's
 * tools expect, and kept equal to that state: an entry is appended with each abort marker, and a
 * segment's file is rewritten from the state when the log opens or a follower truncates (only when
 * it differs, and removed when the segment has no aborted transaction).
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AbortedTxn } from './producer-state.js';

const ENTRY_BYTES = 34;
const VERSION = 0;

function encode(list: readonly AbortedTxn[]): Buffer {
  const b = Buffer.alloc(list.length * ENTRY_BYTES);
  list.forEach((a, i) => {
    const at = i * ENTRY_BYTES;
    b.writeInt16BE(VERSION, at);
    b.writeBigInt64BE(BigInt(a.producerId), at + 2);
    b.writeBigInt64BE(BigInt(a.firstOffset), at + 10);
    b.writeBigInt64BE(BigInt(a.lastOffset), at + 18);
    b.writeBigInt64BE(BigInt(a.lastStableOffset), at + 26);
  });
  return b;
}

/** The entries of a `.txnindex` file (a torn last entry is ignored). */
export function readTxnIndex(path: string): AbortedTxn[] {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch {
    return [];
  }
  const out: AbortedTxn[] = [];
  for (let at = 0; at + ENTRY_BYTES <= b.length; at += ENTRY_BYTES) {
    out.push({
      producerId: Number(b.readBigInt64BE(at + 2)),
      firstOffset: Number(b.readBigInt64BE(at + 10)),
      lastOffset: Number(b.readBigInt64BE(at + 18)),
      lastStableOffset: Number(b.readBigInt64BE(at + 26)),
    });
  }
  return out;
}

/** Appends one entry (an abort marker just written to the segment). */
export function appendTxnIndex(path: string, a: AbortedTxn): void {
  appendFileSync(path, encode([a]));
}

/** Makes the file hold exactly `list` (no file for an empty list); writes only when it differs. */
export function syncTxnIndex(path: string, list: readonly AbortedTxn[]): void {
  const want = encode(list);
  let have: Buffer | null = null;
  try {
    have = readFileSync(path);
  } catch {
    // No file yet.
  }
  if (have === null ? want.length === 0 : have.equals(want)) return;
  if (want.length === 0) rmSync(path, { force: true });
  else writeFileSync(path, want);
}
