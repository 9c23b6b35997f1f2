/**
 * A partition's leader epochs and the offset each began at (Kafka's LeaderEpochFileCache), kept in
 * `leader-epoch-checkpoint` (Kafka's format: version 0, the entry count, one "epoch startOffset"
 * line per entry). It answers OffsetForLeaderEpoch: where a given epoch's records end, which is
 * how a follower finds the point its log and its new leader's part ways (KIP-101, KIP-279).
 *
 * Entries are added as batches of a new epoch are appended (by the leader, or copied by a
 * follower), removed from the end when the log is truncated and from the start by retention.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export function formatEpochCheckpoint(entries: readonly EpochEntry[]): string {
  return `0\n${entries.length}\n${entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')}`;
}

/** Reads a checkpoint file's entries; an unreadable or malformed file gives none. */
export function parseEpochCheckpoint(text: string): EpochEntry[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines[0]?.trim() !== '0') return [];
  const n = Number(lines[1]);
  const out: EpochEntry[] = [];
  for (const line of lines.slice(2, 2 + n)) {
    const m = /^(-?\d+) (\d+)$/.exec(line.trim());
    if (m === null) return [];
    out.push({ epoch: Number(m[1]), startOffset: Number(m[2]) });
  }
  return out;
}

export class LeaderEpochCache {
  private entries: EpochEntry[];

  constructor(private readonly dir: string) {
    let text = '';
    try {
      text = readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8');
    } catch {
      // No file yet: a log made before franz kept one starts empty.
    }
    this.entries = parseEpochCheckpoint(text);
  }

  get latestEpoch(): number {
    return this.entries[this.entries.length - 1]?.epoch ?? -1;
  }

  list(): readonly EpochEntry[] {
    return this.entries;
  }

  /** Batches of `epoch` start at `offset`: a new entry when the epoch is newer than the last one. */
  assign(epoch: number, offset: number): void {
    if (epoch < 0) return;
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && epoch <= last.epoch) return;
    this.entries.push({ epoch, startOffset: offset });
    this.save();
  }

  /**
   * Kafka's endOffsetFor: the largest epoch <= `epoch` this log has and the offset where it ends
   * (the start of the next epoch, or `logEndOffset` for the latest); [-1, -1] when the log has no
   * epoch that old.
   */
  endOffsetFor(epoch: number, logEndOffset: number): [number, number] {
    let i = -1;
    for (let k = 0; k < this.entries.length; k++) if (this.entries[k]!.epoch <= epoch) i = k;
    if (i < 0) return [-1, -1];
    const next = this.entries[i + 1];
    return [this.entries[i]!.epoch, next === undefined ? logEndOffset : next.startOffset];
  }

  /** The log was cut at `offset`: epochs that began at or after it go. */
  truncateFromEnd(offset: number): void {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.startOffset < offset);
    if (this.entries.length !== before) this.save();
  }

  private save(): void {
    const path = join(this.dir, LEADER_EPOCH_CHECKPOINT);
    writeFileSync(`${path}.tmp`, formatEpochCheckpoint(this.entries));
    renameSync(`${path}.tmp`, path);
  }
}
