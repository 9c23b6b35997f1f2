/**
 * The console's only "framework": an element builder that sets text through text nodes (so data
 * is never parsed as HTML), a few formatters, and the lifecycle a page gets from the router.
 */

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | ((ev: Event) => void)>;

/** What a page is given: where to draw, and a way to stop its timers and sockets when it is left. */
export interface PageContext {
  readonly main: HTMLElement;
  onLeave(fn: () => void): void;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function setAttrs(el: Element, attrs: Attrs | null | undefined): void {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else if (c !== null && c !== undefined && c !== false) el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A form whose submit calls `submit` instead of reloading the page. */
export function form(className: string, submit: () => void, ...children: Child[]): HTMLFormElement {
  return h(
    'form',
    {
      class: className,
      onsubmit: (ev) => {
        ev.preventDefault();
        submit();
      },
    },
    ...children,
  );
}

/** A table whose body is filled later; the head is the column names. */
export function table(id: string | null, columns: string[]): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = h('tbody');
  const t = h(
    'table',
    { id },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        columns.map((c) => h('th', null, c)),
      ),
    ),
    body,
  );
  return { table: t, body };
}

/** A row holding a single message across the whole table (loading, empty). */
export function noteRow(columns: number, text: string): HTMLTableRowElement {
  return h('tr', { class: 'note' }, h('td', { colspan: columns }, text));
}

export const DASH = '—';

export function orDash(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === '' ? DASH : String(v);
}

export function humanBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function isoTime(ts: number | string | null | undefined): string {
  if (ts === null || ts === undefined) return DASH;
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}

/** A duration in words short enough for an axis label. */
export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
