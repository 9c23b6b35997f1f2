/**
 * `#/topics`: every topic, and a form to create one.
 */
import { ApiError, list, path, request, run, type Topic } from './api.js';
import { fill, form, h, noteRow, type PageContext, table } from './dom.js';

export async function topicsPage(ctx: PageContext): Promise<void> {
  const t = table('topics', ['Topic', 'Partitions', 'Replication factor', 'Internal']);
  t.body.append(noteRow(4, 'loading…'));

  const name = h('input', { id: 'new-topic-name', type: 'text', placeholder: 'name', required: true, autocomplete: 'off' });
  const partitions = h('input', { id: 'new-topic-partitions', type: 'number', min: 1, value: 1 });
  const replication = h('input', { id: 'new-topic-replication', type: 'number', min: 1, placeholder: 'broker default' });
  const result = h('span', { class: 'form-result' });
  const load = async (): Promise<void> => {
    const topics = await list<Topic>(await path('topics'));
    topics.sort((a, b) => a.topic_name.localeCompare(b.topic_name));
    t.body.replaceChildren(
      ...topics.map((x) =>
        h(
          'tr',
          { 'data-topic': x.topic_name, class: x.is_internal ? 'internal' : null },
          h('td', null, h('a', { href: `#/topics/${encodeURIComponent(x.topic_name)}` }, x.topic_name)),
          h('td', null, x.partitions_count),
          h('td', null, x.replication_factor),
          h('td', null, x.is_internal ? 'yes' : ''),
        ),
      ),
    );
    if (topics.length === 0) t.body.append(noteRow(4, 'no topics yet'));
  };
  const create = async (): Promise<void> => {
    const topicName = name.value.trim();
    if (topicName === '') {
      fill(result, h('span', { class: 'error' }, 'a topic needs a name'));
      return;
    }
    const body: Record<string, unknown> = { topic_name: topicName, partitions_count: Number(partitions.value || 1) };
    if (replication.value.trim() !== '') body.replication_factor = Number(replication.value);
    fill(result, 'creating…');
    try {
      await request('POST', await path('topics'), body);
    } catch (err) {
      fill(result, h('span', { class: 'error' }, err instanceof ApiError ? err.message : String(err)));
      return;
    }
    fill(result, `created ${topicName}`);
    name.value = '';
    await load();
  };
  const createForm = form(
    'inline-form',
    () => run(create()),
    h('label', null, 'Name ', name),
    h('label', null, 'Partitions ', partitions),
    h('label', null, 'Replication ', replication),
    h('button', { id: 'create-topic', type: 'submit' }, 'Create topic'),
    result,
  );
  ctx.main.append(h('h1', null, 'Topics'), t.table, h('h2', null, 'Create a topic'), createForm);
  await load();
}
