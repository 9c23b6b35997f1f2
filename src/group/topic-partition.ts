/**
 * A topic-partition as one string key, for maps of per-partition state (committed offsets,
 * assignments). The NUL separator cannot occur in a topic name.
 */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function splitTpKey(k: string): { topic: string; partition: number } {
  const i = k.lastIndexOf('\u0000');
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
}
