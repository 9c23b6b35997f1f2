/**
 * `#/brokers`: the cluster id and the brokers in it.
 */
import { type Broker, cluster, list, path } from './api.js';
import { h, noteRow, orDash, type PageContext, table } from './dom.js';

export async function brokersPage(ctx: PageContext): Promise<void> {
  const id = h('code', null, '…');
  const t = table('brokers', ['Broker', 'Host', 'Port', 'Rack']);
  t.body.append(noteRow(4, 'loading…'));
  ctx.main.append(h('h1', null, 'Brokers'), h('p', null, 'Cluster ', id), t.table);
  id.textContent = await cluster();
  const brokers = await list<Broker>(await path('brokers'));
  t.body.replaceChildren(
    ...brokers.map((b) =>
      h(
        'tr',
        { 'data-broker': b.broker_id },
        h('td', null, b.broker_id),
        h('td', null, b.host),
        h('td', null, b.port),
        h('td', null, orDash(b.rack)),
      ),
    ),
  );
  if (brokers.length === 0) t.body.append(noteRow(4, 'no brokers'));
}
