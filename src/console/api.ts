/**
 * The broker's REST v3 API as the console uses it: the response shapes, requests that put a
 * failure's message in the #error banner before throwing, and the cluster id every path starts with.
 */

export type Broker = { broker_id: number; host: string; port: number; rack: string | null };
export type Topic = { topic_name: string; is_internal: boolean; replication_factor: number; partitions_count: number };
export type Partition = {
  partition_id: number;
  leader: { related: string } | null;
  log_start_offset?: number | null;
  log_end_offset?: number | null;
  size_bytes?: number | null;
};
export type TopicConfig = {
  name: string;
  value: string | null;
  source: string;
  is_default: boolean;
  is_read_only: boolean;
  is_sensitive: boolean;
};
export type Data = { type: 'STRING' | 'BINARY' | 'JSON'; data: unknown };
export type Header = { name: string; value: string | null };
export type KafkaRecord = {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | string;
  key: Data | null;
  value: Data | null;
  headers: Header[];
};
export type Group = { consumer_group_id: string; state: string; is_simple: boolean };
export type Lag = { topic_name: string; partition_id: number; current_offset: number; log_end_offset: number; lag: number };
export type Consumer = { consumer_id: string; instance_id: string | null; client_id: string; host: string };
export type Assignment = { topic_name: string; partition_id: number };
export type Produced = { partition_id: number; offset: number };

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Shows a message in the banner; an empty one hides it. */
export function showError(message: string): void {
  const el = document.getElementById('error');
  if (el === null) return;
  el.textContent = message;
  el.hidden = message === '';
}

/** For event handlers and timers: a failure that escapes them still reaches the banner. */
export function run(p: Promise<unknown>): void {
  p.catch((err: unknown) => showError(err instanceof Error ? err.message : String(err)));
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (err) {
    return fail(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, 0);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message = (json as { message?: unknown } | undefined)?.message;
    return fail(typeof message === 'string' ? message : `${method} ${path}: ${res.status} ${res.statusText}`, res.status);
  }
  return json as T;
}

function fail(message: string, status: number): never {
  showError(message);
  throw new ApiError(message, status);
}

export async function list<T>(path: string): Promise<T[]> {
  return (await request<{ data: T[] }>('GET', path)).data;
}

let clusterId: Promise<string> | null = null;

export function cluster(): Promise<string> {
  clusterId ??= list<{ cluster_id: string }>('/v3/clusters').then((d) => {
    if (d[0] === undefined) throw new ApiError('the broker reports no cluster', 0);
    return d[0].cluster_id;
  });
  // A failed lookup is not remembered: the next page tries again.
  clusterId.catch(() => {
    clusterId = null;
  });
  return clusterId;
}

/** `/v3/clusters/C/` followed by the segments, each URL-encoded. */
export async function path(...segments: Array<string | number>): Promise<string> {
  return ['/v3/clusters', await cluster(), ...segments].map((s, i) => (i < 1 ? s : encodeURIComponent(String(s)))).join('/');
}
