/**
 * `#/groups` (every consumer group with its total lag) and `#/groups/G` (one group's members,
 * per-partition lag and a chart of its total lag, polled while the page is shown).
 */
import type { Assignment, Consumer, Group, Lag } from './api.js';
import { list, path, request } from './api.js';
import { drawLagChart, type LagPoint, lagChart } from './chart.js';
import { DASH, h, noteRow, orDash, type PageContext, table } from './dom.js';

const POLL_MS = 1000;
/** Ten minutes of history at one point a second. */
const HISTORY = 600;

const totalLag = (lags: Lag[]) => lags.reduce((sum, l) => sum + l.lag, 0);

export async function groupsPage(ctx: PageContext): Promise<void> {
  const t = table('groups', ['Group', 'State', 'Total lag']);
  t.body.append(noteRow(3, 'loading…'));
  ctx.main.append(h('h1', null, 'Consumer groups'), t.table);
  const groups = await list<Group>(await path('consumer-groups'));
  groups.sort((a, b) => a.consumer_group_id.localeCompare(b.consumer_group_id));
  // One group whose lags cannot be read shows a dash; the others still show theirs.
  const lags = await Promise.all(
    groups.map(async (g) => {
      try {
        return totalLag(await list<Lag>(await path('consumer-groups', g.consumer_group_id, 'lags')));
      } catch {
        return null;
      }
    }),
  );
  t.body.replaceChildren(
    ...groups.map((g, i) =>
      h(
        'tr',
        { 'data-group': g.consumer_group_id },
        h('td', null, h('a', { href: `#/groups/${encodeURIComponent(g.consumer_group_id)}` }, g.consumer_group_id)),
        h('td', null, g.state),
        h('td', { class: 'lag' }, orDash(lags[i])),
      ),
    ),
  );
  if (groups.length === 0) t.body.append(noteRow(3, 'no consumer groups'));
}

export function groupPage(ctx: PageContext, group: string): void {
  const state = h('span', { id: 'group-state' }, '…');
  const total = h('span', { id: 'group-lag-total' }, '…');
  const members = table('members', ['Consumer', 'Client', 'Host', 'Assignments']);
  const lags = table('lags', ['Topic', 'Partition', 'Committed', 'End', 'Lag']);
  members.body.append(noteRow(4, 'loading…'));
  lags.body.append(noteRow(5, 'loading…'));
  const chart = lagChart('lag-chart');
  const history: LagPoint[] = [];
  ctx.main.append(
    h('h1', null, h('a', { href: '#/groups' }, 'Consumer groups'), ' / ', group),
    h('p', { class: 'summary' }, h('span', null, 'State: ', state), h('span', null, 'Total lag: ', total)),
    h('section', null, h('h2', null, 'Total lag'), h('div', { class: 'chart' }, chart)),
    h(
      'div',
      { class: 'columns' },
      h('section', null, h('h2', null, 'Members'), members.table),
      h('section', null, h('h2', null, 'Lag'), lags.table),
    ),
  );

  // Lag and members are read apart, so a failure of one leaves the other (and the chart) going.
  const refreshLag = async (): Promise<void> => {
    const [described, lagList] = await Promise.all([
      request<Group>('GET', await path('consumer-groups', group)).catch(() => null),
      list<Lag>(await path('consumer-groups', group, 'lags')),
    ]);
    state.textContent = described?.state ?? DASH;
    const sum = totalLag(lagList);
    total.textContent = String(sum);
    history.push({ t: Date.now(), lag: sum });
    if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
    drawLagChart(chart, history);
    lags.body.replaceChildren(
      ...lagList.map((l) =>
        h(
          'tr',
          { 'data-tp': `${l.topic_name}/${l.partition_id}` },
          h('td', null, h('a', { href: `#/topics/${encodeURIComponent(l.topic_name)}` }, l.topic_name)),
          h('td', null, l.partition_id),
          h('td', { class: 'committed' }, l.current_offset),
          h('td', { class: 'end' }, l.log_end_offset),
          h('td', { class: 'lag' }, l.lag),
        ),
      ),
    );
    if (lagList.length === 0) lags.body.append(noteRow(5, 'no committed offsets'));
  };
  const refreshMembers = async (): Promise<void> => {
    const consumers = await list<Consumer>(await path('consumer-groups', group, 'consumers'));
    // A member that left since the list has no assignments to read: shown without them.
    const assignments = await Promise.all(
      consumers.map(async (c) =>
        list<Assignment>(await path('consumer-groups', group, 'consumers', c.consumer_id, 'assignments')).catch(() => [] as Assignment[]),
      ),
    );
    members.body.replaceChildren(
      ...consumers.map((c, i) =>
        h(
          'tr',
          { 'data-consumer': c.consumer_id },
          h('td', null, c.consumer_id),
          h('td', null, orDash(c.client_id)),
          h('td', null, orDash(c.host)),
          h('td', null, (assignments[i] ?? []).map((a) => `${a.topic_name}-${a.partition_id}`).join(', ')),
        ),
      ),
    );
    if (consumers.length === 0) members.body.append(noteRow(4, 'no members'));
  };

  // The next poll is timed from the end of the last, so a slow broker is not asked twice at once.
  let timer = 0;
  let left = false;
  const tick = () => {
    // A failure is already in the banner; polling goes on, the group may come back.
    void Promise.allSettled([refreshLag(), refreshMembers()]).then(() => {
      if (!left) timer = window.setTimeout(tick, POLL_MS);
    });
  };
  ctx.onLeave(() => {
    left = true;
    window.clearTimeout(timer);
  });
  tick();
}
