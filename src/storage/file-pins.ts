/**
 * Segment descriptors named by responses not yet written. A Fetch response holds file regions
 * (descriptor, position, length) from the moment it is built until `sendChunks` has written them,
 * possibly behind earlier responses on its connection. A segment deleted meanwhile (retention,
 * DeleteRecords, topic deletion) must keep its descriptor open until then: closed early, the
 * number could be reused by another file and the response would send that file's bytes. So a
 * deleted segment closes its descriptor once nothing pins it.
 *
 * A response pins its descriptors when it is encoded, which for an asynchronous handler (a Fetch
 * that waited for the high watermark) is a few microtasks after it read the log: a segment deleted
 * in between (the log cleaner swaps segments right after an fsync settles, in that same stretch of
 * microtasks) would see no pin, close, and let its number go to the file opened next. So the check
 * for pins, and the close, wait for the next turn of the event loop (setImmediate), by which time
 * every response built in this turn has been encoded and has pinned what it names.
 */

const pins = new Map<number, number>();
const closers = new Map<number, () => void>();

/** Marks each descriptor (repeats count) as named by a response about to be written. */
export function pinFiles(fds: readonly number[]): void {
  for (const fd of fds) pins.set(fd, (pins.get(fd) ?? 0) + 1);
}

/** The response is written or dropped: runs the close of any deleted segment nothing pins now. */
export function unpinFiles(fds: readonly number[]): void {
  for (const fd of fds) {
    const n = (pins.get(fd) ?? 0) - 1;
    if (n > 0) {
      pins.set(fd, n);
      continue;
    }
    pins.delete(fd);
    const close = closers.get(fd);
    if (close !== undefined) {
      closers.delete(fd);
      close();
    }
  }
}

/**
 * Runs `close` in the next turn of the event loop if no response names `fd` then, else when the
 * last one is done with it (see the top for why not at once).
 */
export function closeWhenUnpinned(fd: number, close: () => void): void {
  setImmediate(() => {
    if (pins.has(fd)) closers.set(fd, close);
    else close();
  });
}

/** How many responses name `fd` (for tests). */
export function pinCount(fd: number): number {
  return pins.get(fd) ?? 0;
}
