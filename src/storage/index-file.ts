/**
 * File access shared by OffsetIndex and TimeIndex: each write opens the index file, writes or
 * truncates, and closes it again, so an idle segment holds no descriptor for its indexes.
 */
import { closeSync, constants, ftruncateSync, openSync, writeSync } from 'node:fs';

/** Write-only, created if missing, and not O_APPEND: writes go to the position given. */
const FLAGS = constants.O_WRONLY | constants.O_CREAT;

/** Writes `entries` at byte `at` of the index file. */
export function flushEntries(path: string, entries: Buffer, at: number): void {
  const fd = openSync(path, FLAGS, 0o644);
  try {
    writeSync(fd, entries, 0, entries.length, at);
  } finally {
    closeSync(fd);
  }
}

/** Cuts the index file at `size` bytes (creating it empty if missing). */
export function truncateEntries(path: string, size: number): void {
  const fd = openSync(path, FLAGS, 0o644);
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}
