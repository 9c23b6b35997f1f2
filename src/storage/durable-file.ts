/**
 * Small files that must survive a crash whole or not at all (checkpoints, the topic registry, the
 * producer-id block): each is written to a temporary file, fsynced, and renamed over the old one, so
 * a reader finds either the old content or the new, never a torn mix.
 */
import { appendFileSync, closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';

/** Writes a file atomically and durably: temp file, fsync, rename. */
export function writeFileDurably(path: string, text: string | Uint8Array): void {
  const tmp = path + '.tmp';
  writeFileSync(tmp, text);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Appends to a file and fsyncs it before returning (an append-only journal's record). */
export function appendFileDurably(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'a');
  try {
    appendFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** writeFileDurably off the event loop: the fsync runs on a libuv pool thread. */
export async function writeFileDurablyAsync(path: string, text: string): Promise<void> {
  const tmp = path + '.tmp';
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** The directory name of a partition's log, Kafka's `<topic>-<partition>`. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}
