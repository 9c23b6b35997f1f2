/**
 * The cluster metadata in etcd: the only module that speaks etcd (through the `etcd3` client).
 * It reads the whole prefix once, then watches it from the next revision, turning every put and
 * delete into a ClusterEvent in revision order; and it makes every write a transaction whose
 * compare is what makes it safe (create-if-absent, or "the record is still at the revision I
 * read"). See state.ts for the keys.
 */
import { Etcd3, type IKeyValue, type Lease, type Watcher } from 'etcd3';
import type { BrokerRecord, ClusterEvent, ControllerRecord, PartitionRecord, PartitionState, TopicRecord } from './state.js';

/** Where the cluster lives: `etcd://host:port[,host:port...][/name]`. */
export interface ClusterAddress {
  endpoints: string[];
  /** The key prefix, `/franz/<name>` (name `default` when the URL has none). */
  prefix: string;
}

export function parseClusterUrl(url: string): ClusterAddress | string {
  const m = /^etcd:\/\/([^/]+)(?:\/([A-Za-z0-9._-]+))?\/?$/.exec(url.trim());
  if (m === null) return `"${url}" is not etcd://HOST:PORT[,HOST:PORT...][/NAME]`;
  const hosts = m[1]!.split(',');
  for (const h of hosts) if (!/^[^:,\s]+:\d{1,5}$/.test(h)) return `"${h}" in "${url}" is not HOST:PORT`;
  return { endpoints: hosts.map((h) => `http://${h}`), prefix: `/franz/${m[2] ?? 'default'}` };
}

function json<T>(kv: IKeyValue): T {
  return JSON.parse(kv.value.toString('utf8')) as T;
}

export class EtcdStore {
  private readonly client: Etcd3;
  private watcher: Watcher | null = null;
  private readonly p: string;

  constructor(readonly address: ClusterAddress) {
    this.client = new Etcd3({ hosts: address.endpoints, dialTimeout: 3000 });
    this.p = address.prefix;
  }

  private key(...parts: Array<string | number>): string {
    return [this.p, ...parts].join('/');
  }

  /** The event a key's new value (or deletion, value null) stands for; null for keys franz does not read. */
  private eventOf(kv: IKeyValue, deleted: boolean): ClusterEvent | null {
    const rest = kv.key
      .toString('utf8')
      .slice(this.p.length + 1)
      .split('/');
    const [kind, a, b] = rest;
    switch (kind) {
      case 'brokers':
        return { kind: 'broker', id: Number(a), record: deleted ? null : json<BrokerRecord>(kv) };
      case 'controller':
        return { kind: 'controller', record: deleted ? null : json<ControllerRecord>(kv) };
      case 'topics':
        return { kind: 'topic', name: a!, record: deleted ? null : json<TopicRecord>(kv) };
      case 'partitions':
        return {
          kind: 'partition',
          topic: a!,
          partition: Number(b),
          state: deleted ? null : { ...json<PartitionRecord>(kv), revision: Number(kv.mod_revision) },
        };
      default:
        return null;
    }
  }

  /**
   * Reads everything under the prefix, hands each record to `onEvent`, then watches from the next
   * revision: every later change reaches `onEvent` in revision order. Resolves after the read.
   */
  async load(onEvent: (e: ClusterEvent, revision: number) => void, onWatchError: (err: Error) => void): Promise<number> {
    const res = await this.client.getAll().prefix(`${this.p}/`).exec();
    const revision = Number(res.header.revision);
    for (const kv of res.kvs) {
      const e = this.eventOf(kv, false);
      if (e !== null) onEvent(e, Number(kv.mod_revision));
    }
    const w = await this.client
      .watch()
      .prefix(`${this.p}/`)
      .startRevision(String(revision + 1))
      .create();
    w.on('put', (kv) => {
      const e = this.eventOf(kv, false);
      if (e !== null) onEvent(e, Number(kv.mod_revision));
    });
    w.on('delete', (kv) => {
      const e = this.eventOf(kv, true);
      if (e !== null) onEvent(e, Number(kv.mod_revision));
    });
    w.on('error', onWatchError);
    this.watcher = w;
    return revision;
  }

  /** The cluster id: the one stored, or `proposed` if this broker is the first. */
  async clusterId(proposed: string): Promise<string> {
    const k = this.key('cluster-id');
    await this.client.if(k, 'Create', '==', 0).then(this.client.put(k).value(proposed)).commit();
    return (await this.client.get(k).string()) ?? proposed;
  }

  /** A lease of `ttlSeconds` that this module does not keep alive: Membership does, and times it. */
  lease(ttlSeconds: number): Lease {
    return this.client.lease(ttlSeconds, { autoKeepAlive: false });
  }

  /** Registers this broker under its lease; false when another live process holds the id. */
  async registerBroker(lease: Lease, b: BrokerRecord): Promise<boolean> {
    const k = this.key('brokers', b.id);
    const id = await lease.grant();
    const r = await this.client
      .if(k, 'Create', '==', 0)
      .then(this.client.put(k).value(JSON.stringify(b)).lease(id))
      .commit();
    return r.succeeded;
  }

  /** Takes the controller role if no one holds it; true when this broker now does. */
  async campaign(lease: Lease, c: ControllerRecord): Promise<boolean> {
    const k = this.key('controller');
    const id = await lease.grant();
    const r = await this.client
      .if(k, 'Create', '==', 0)
      .then(this.client.put(k).value(JSON.stringify(c)).lease(id))
      .commit();
    return r.succeeded;
  }

  /** Creates a topic if no topic of that name exists; false when one does. */
  async createTopic(t: TopicRecord): Promise<boolean> {
    const k = this.key('topics', t.name);
    const r = await this.client
      .if(k, 'Create', '==', 0)
      .then(this.client.put(k).value(JSON.stringify(t)))
      .commit();
    return r.succeeded;
  }

  /** Replaces a topic's record (configs, added partitions) if it is still the one with `id` at `revision`. */
  async updateTopic(t: TopicRecord, revision: number): Promise<boolean> {
    const k = this.key('topics', t.name);
    const r = await this.client
      .if(k, 'Mod', '==', revision)
      .then(this.client.put(k).value(JSON.stringify(t)))
      .commit();
    return r.succeeded;
  }

  /** Deletes a topic and every partition record under it, in one transaction. */
  async deleteTopic(name: string): Promise<boolean> {
    const k = this.key('topics', name);
    const r = await this.client
      .if(k, 'Create', '>', 0)
      .then(this.client.delete().key(k), this.client.delete().prefix(`${this.key('partitions', name)}/`))
      .commit();
    return r.succeeded;
  }

  /**
   * Writes a partition's new state if it is still at `expected.revision` (0: no record yet) and its
   * topic is still the same topic: the compare-and-swap behind every leader and ISR change.
   */
  async updatePartition(
    topic: string,
    p: number,
    expected: PartitionState,
    next: PartitionRecord,
    topicRevision: number,
  ): Promise<boolean> {
    const k = this.key('partitions', topic, p);
    const r = await this.client
      .if(k, 'Mod', '==', expected.revision)
      .and(this.key('topics', topic), 'Mod', '==', topicRevision)
      .then(this.client.put(k).value(JSON.stringify(next)))
      .commit();
    return r.succeeded;
  }

  /** The mod revision of a topic's record (0 when absent), for updatePartition's compare. */
  async topicRevision(name: string): Promise<number> {
    const res = await this.client.get(this.key('topics', name)).exec();
    const kv = res.kvs[0];
    return kv === undefined ? 0 : Number(kv.mod_revision);
  }

  /**
   * Takes the next `size` producer ids for this broker: `producer-ids` holds the first id nobody
   * has, moved forward by compare-and-swap, so no two brokers ever get the same block.
   */
  async allocateProducerIds(size: number): Promise<number> {
    const k = this.key('producer-ids');
    for (;;) {
      const res = await this.client.get(k).exec();
      const kv = res.kvs[0];
      const start = kv === undefined ? 0 : Number(kv.value.toString('utf8'));
      const cmp = kv === undefined ? this.client.if(k, 'Create', '==', 0) : this.client.if(k, 'Mod', '==', Number(kv.mod_revision));
      const r = await cmp.then(this.client.put(k).value(String(start + size))).commit();
      if (r.succeeded) return start;
    }
  }

  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = null;
    if (w !== null) await w.cancel().catch(() => undefined);
    this.client.close();
  }
}
