/** Items keyed by topic, in first-seen order, as Kafka's requests and responses nest partitions. */
export function groupByTopic<T extends { readonly topic: string }>(items: readonly T[]): Map<string, T[]> {
  const byTopic = new Map<string, T[]>();
  for (const item of items) {
    const list = byTopic.get(item.topic);
    if (list === undefined) byTopic.set(item.topic, [item]);
    else list.push(item);
  }
  return byTopic;
}
