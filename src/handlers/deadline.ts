/**
 * Waiting for background work up to a request's timeoutMs (CreateTopics, CreatePartitions): the
 * answer goes out when the work is done or the time is up, whichever comes first.
 */

/** A promise's outcome once it has settled, or undefined while it has not. */
export interface Watched<T> {
  readonly promise: Promise<T>;
  value: T | undefined;
}

export function watch<T>(promise: Promise<T>): Watched<T> {
  const w: Watched<T> = { promise, value: undefined };
  promise.then((v) => (w.value = v)).catch(() => undefined);
  return w;
}

/** Resolves when every promise has settled or `ms` have passed (at once for ms <= 0). */
export async function settleWithin(promises: ReadonlyArray<Promise<unknown>>, ms: number): Promise<void> {
  if (promises.length === 0 || ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([Promise.allSettled(promises), expired]);
  } finally {
    clearTimeout(timer);
  }
  // Lets the watchers' callbacks, queued by the same settlements, record their values.
  await Promise.resolve();
}
