/**
 * A broker with its HTTP listener on a free port (`franz.http.listeners=127.0.0.1:0`), for the
 * HTTP, stream and console tests: the listener's address as its ready line gives it, and the
 * cluster id REST v3 paths need.
 */
import assert from 'node:assert/strict';
import { type RunningBroker, startBroker } from './broker.js';

export interface HttpBroker {
  readonly broker: RunningBroker;
  /** http://127.0.0.1:PORT */
  readonly http: string;
  /** ws://127.0.0.1:PORT */
  readonly ws: string;
  readonly cluster: string;
}

export async function startHttpBroker(dataDir: string, sets: readonly string[]): Promise<HttpBroker> {
  const broker = await startBroker({ dataDir, sets: [...sets, 'franz.http.listeners=127.0.0.1:0'] });
  const m = / http on [^ ]+:(\d+)/.exec(broker.readyLine);
  assert.ok(m, `the ready line names the HTTP port: ${broker.readyLine}`);
  const http = `http://127.0.0.1:${m[1]}`;
  const clusters = (await (await fetch(`${http}/v3/clusters`)).json()) as { data: Array<{ cluster_id: string }> };
  return { broker, http, ws: `ws://127.0.0.1:${m[1]}`, cluster: clusters.data[0]!.cluster_id };
}
