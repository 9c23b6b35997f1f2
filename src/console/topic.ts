/**
 * `#/topics/NAME`: a topic's partitions and configs, a form to produce a record, a browser over a
 * partition's records (by offset or by time) and a live tail over the broker's WebSocket stream.
 */
import { ApiError, type KafkaRecord, list, type Partition, type Produced, path, request, run, showError, type TopicConfig } from './api.js';
import { form, h, humanBytes, noteRow, orDash, type PageContext, table } from './dom.js';
import { recordRow, renderData, tailRecord, utf8Base64 } from './records.js';

/** The live tail keeps this many records on screen; older ones drop off the bottom. */
const TAIL_KEEP = 200;

export async function topicPage(ctx: PageContext, topic: string): Promise<void> {
  const partitions = table('partitions', ['Partition', 'Leader', 'Start offset', 'End offset', 'Size']);
  const configs = table('configs', ['Name', 'Value', 'Source']);
  partitions.body.append(noteRow(5, 'loading…'));
  configs.body.append(noteRow(3, 'loading…'));
  const browsePartition = h('select', { id: 'browse-partition' });
  const tailPartition = h('select', { id: 'tail-partition' }, h('option', { value: '' }, 'all partitions'));
  let known: Partition[] = [];

  const loadPartitions = async (): Promise<void> => {
    known = await list<Partition>(await path('topics', topic, 'partitions'));
    partitions.body.replaceChildren(
      ...known.map((p) =>
        h(
          'tr',
          { 'data-partition': p.partition_id },
          h('td', null, p.partition_id),
          h('td', null, orDash(p.leader?.related.split('/').pop())),
          h('td', null, orDash(p.log_start_offset)),
          h('td', null, orDash(p.log_end_offset)),
          h('td', null, humanBytes(p.size_bytes)),
        ),
      ),
    );
    // Refilled only when the set changed, so a refresh after a produce keeps the user's choice.
    if (browsePartition.options.length !== known.length) {
      const options = () => known.map((p) => h('option', { value: p.partition_id }, String(p.partition_id)));
      browsePartition.replaceChildren(...options());
      tailPartition.replaceChildren(h('option', { value: '' }, 'all partitions'), ...options());
    }
  };
  const loadConfigs = async (): Promise<void> => {
    const cs = await list<TopicConfig>(await path('topics', topic, 'configs'));
    cs.sort((a, b) => Number(a.is_default) - Number(b.is_default) || a.name.localeCompare(b.name));
    configs.body.replaceChildren(
      ...cs.map((c) =>
        h(
          'tr',
          { 'data-config': c.name, class: c.is_default ? 'default' : 'non-default' },
          h('td', null, c.name),
          h('td', null, c.is_sensitive ? '(sensitive)' : renderData(c.value === null ? null : { type: 'STRING', data: c.value })),
          h('td', null, c.source),
        ),
      ),
    );
  };
  const deleteTopic = async (): Promise<void> => {
    if (!confirm(`Delete topic "${topic}" and all its records?`)) return;
    await request('DELETE', await path('topics', topic));
    location.hash = '#/topics';
  };
  ctx.main.append(
    h(
      'div',
      { class: 'title-row' },
      h('h1', null, h('a', { href: '#/topics' }, 'Topics'), ' / ', topic),
      h('button', { id: 'delete-topic', class: 'danger', onclick: () => run(deleteTopic()) }, 'Delete topic'),
    ),
    h('div', { class: 'columns' }, h('section', null, h('h2', null, 'Partitions'), partitions.table), configSection(configs.table)),
    produceSection(topic, () => run(loadPartitions())),
    browseSection(topic, browsePartition, () => known),
    tailSection(ctx, topic, tailPartition),
  );

  await Promise.all([loadPartitions(), loadConfigs()]);
}

function configSection(t: HTMLTableElement): HTMLElement {
  return h('section', null, h('h2', null, 'Configs'), h('p', { class: 'hint' }, 'Settings not at their default are in bold.'), t);
}

function produceSection(topic: string, produced: () => void): HTMLElement {
  const partition = h('input', { id: 'produce-partition', type: 'number', min: 0, placeholder: 'any' });
  const key = h('input', { id: 'produce-key', type: 'text', placeholder: 'none', autocomplete: 'off' });
  const value = h('textarea', { id: 'produce-value', rows: 4, placeholder: 'JSON or text; empty sends no value' });
  const headers = h('textarea', { id: 'produce-headers', rows: 2, placeholder: 'name=value, one per line' });
  const result = h('div', { id: 'produce-result' });
  const say = (text: string, error: boolean) => {
    result.textContent = text;
    result.className = error ? 'error' : 'ok';
  };

  const send = async (): Promise<void> => {
    const body: Record<string, unknown> = {};
    if (partition.value.trim() !== '') body.partition_id = Number(partition.value);
    if (key.value !== '') body.key = { type: 'STRING', data: key.value };
    if (value.value !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value.value);
        body.value = { type: 'JSON', data: parsed };
      } catch {
        body.value = { type: 'STRING', data: value.value };
      }
    }
    const hs: Array<{ name: string; value: string }> = [];
    for (const line of headers.value.split('\n')) {
      if (line.trim() === '') continue;
      const eq = line.indexOf('=');
      if (eq <= 0) return say(`a header is name=value, not "${line}"`, true);
      hs.push({ name: line.slice(0, eq).trim(), value: utf8Base64(line.slice(eq + 1)) });
    }
    if (hs.length > 0) body.headers = hs;
    say('sending…', false);
    try {
      const r = await request<Produced>('POST', await path('topics', topic, 'records'), body);
      say(`produced at partition ${r.partition_id}, offset ${r.offset}`, false);
    } catch (err) {
      return say(err instanceof ApiError ? err.message : String(err), true);
    }
    produced();
  };
  return h(
    'section',
    null,
    h('h2', null, 'Produce'),
    form(
      'stacked-form',
      () => run(send()),
      h('label', null, 'Partition', partition),
      h('label', null, 'Key', key),
      h('label', null, 'Value', value),
      h('label', null, 'Headers', headers),
      h('div', null, h('button', { id: 'produce-send', type: 'submit' }, 'Send')),
      result,
    ),
  );
}

function browseSection(topic: string, partition: HTMLSelectElement, partitions: () => Partition[]): HTMLElement {
  const from = h('input', { id: 'browse-from', type: 'text', placeholder: 'offset, or a date/time' });
  const max = h('input', { id: 'browse-max', type: 'number', min: 1, value: 50 });
  const records = table('records', ['Offset', 'Timestamp', 'Key', 'Value', 'Headers']);
  const status = h('span', { class: 'form-result' });
  const next = h('button', { id: 'browse-next', type: 'button', disabled: true }, 'Next');
  let nextPage: { p: string; q: URLSearchParams } | null = null;

  const fetchPage = async (p: string, query: URLSearchParams): Promise<void> => {
    next.disabled = true;
    status.textContent = 'loading…';
    const res = await request<{ data: KafkaRecord[]; next_offset?: number | null }>(
      'GET',
      `${await path('topics', topic, 'partitions', p, 'records')}?${query}`,
    ).finally(() => {
      status.textContent = '';
    });
    records.body.replaceChildren(...res.data.map(recordRow));
    if (res.data.length === 0) records.body.append(noteRow(5, 'no records'));
    const first = res.data[0];
    const last = res.data[res.data.length - 1];
    status.textContent = first && last ? `partition ${p}, offsets ${first.offset}–${last.offset}` : `partition ${p}`;
    const n = res.next_offset;
    // Next goes on in the partition just read, whatever the select says now.
    nextPage =
      typeof n === 'number' ? { p, q: new URLSearchParams({ offset: String(n), max_records: query.get('max_records') ?? '50' }) } : null;
    next.disabled = nextPage === null;
  };
  const go = async (): Promise<void> => {
    const p = partition.value;
    if (p === '') return showError('the topic has no partitions to browse');
    const q = new URLSearchParams();
    const text = from.value.trim();
    if (/^\d+$/.test(text)) q.set('offset', text);
    else if (text === '') q.set('offset', String(partitions().find((x) => String(x.partition_id) === p)?.log_start_offset ?? 0));
    else {
      const ts = Date.parse(text);
      if (Number.isNaN(ts)) return showError(`"${text}" is neither an offset nor a date`);
      q.set('timestamp', String(ts));
    }
    q.set('max_records', String(Math.max(1, Number(max.value) || 50)));
    await fetchPage(p, q);
  };
  next.addEventListener('click', () => {
    if (nextPage !== null) run(fetchPage(nextPage.p, nextPage.q));
  });

  return h(
    'section',
    null,
    h('h2', null, 'Browse'),
    form(
      'inline-form',
      () => run(go()),
      h('label', null, 'Partition ', partition),
      h('label', null, 'From ', from),
      h('label', null, 'Max ', max),
      h('button', { id: 'browse-go', type: 'submit' }, 'Read'),
      next,
      status,
    ),
    h('div', { class: 'scroll' }, records.table),
  );
}

function tailSection(ctx: PageContext, topic: string, partition: HTMLSelectElement): HTMLElement {
  const status = h('span', { id: 'tail-status' }, 'closed');
  const start = h('button', { id: 'tail-start', type: 'button' }, 'Start');
  const stop = h('button', { id: 'tail-stop', type: 'button', disabled: true }, 'Stop');
  const out = h('div', { id: 'tail' });
  let ws: WebSocket | null = null;
  let left = false;

  const setState = (text: string, open: boolean) => {
    status.textContent = text;
    status.className = open ? 'live' : '';
    start.disabled = open;
    stop.disabled = !open;
    partition.disabled = open;
  };
  const connect = async (): Promise<void> => {
    setState('connecting', true);
    const q = new URLSearchParams({ from: 'latest' });
    if (partition.value !== '') q.set('partition', partition.value);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    let url: string;
    try {
      url = `${scheme}://${location.host}${await path('topics', topic, 'stream')}?${q}`;
    } catch (err) {
      setState(`closed: ${err instanceof Error ? err.message : String(err)}`, false);
      return;
    }
    if (left) return;
    const socket = new WebSocket(url);
    ws = socket;
    socket.onopen = () => setState('live', true);
    socket.onmessage = (ev) => {
      let r: KafkaRecord;
      try {
        r = JSON.parse(String(ev.data)) as KafkaRecord;
      } catch {
        return;
      }
      out.prepend(tailRecord(r));
      while (out.childElementCount > TAIL_KEEP) out.lastElementChild?.remove();
    };
    socket.onclose = (ev) => {
      if (ws === socket) ws = null;
      setState(`closed: ${ev.reason || (ev.code === 1000 ? 'stopped' : `code ${ev.code}`)}`, false);
    };
  };
  start.addEventListener('click', () => run(connect()));
  stop.addEventListener('click', () => ws?.close(1000, 'stopped'));
  ctx.onLeave(() => {
    left = true;
    ws?.close(1000, 'left the page');
  });

  return h(
    'section',
    null,
    h('h2', null, 'Live tail'),
    h('div', { class: 'inline-form' }, h('label', null, 'Partition ', partition), start, stop, h('span', null, 'Status: ', status)),
    h('p', { class: 'hint' }, `Newest first; the last ${TAIL_KEEP} records are kept.`),
    out,
  );
}
