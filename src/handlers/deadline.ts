/**
 * Waiting for background work up to a request's timeoutMs (CreateTopics, CreatePartitions): the
 * answer goes out when the work is done or the time is up, whichever comes first.
 */

/**
 * Waits until every promise has settled or `ms` have passed (no wait for ms <= 0), and returns
 * each one's value, or undefined for one that has not settled (or rejected) by then.
 */
export async function settleWithin<T>(promises: ReadonlyArray<Promise<T>>, ms: number): Promise<Array<T | undefined>> {
  const values: Array<T | undefined> = promises.map(() => undefined);
  const recorded = promises.map((p, i) =>
    p.then(
      (v) => {
        values[i] = v;
      },
      () => undefined,
    ),
  );
  if (promises.length === 0 || ms <= 0) return values;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([Promise.all(recorded), expired]);
  } finally {
    clearTimeout(timer);
  }
  return values;
}
