/**
 * How a record's key, value and headers are shown, shared by the browse table and the live tail:
 * JSON pretty-printed, other text as is, bytes as hex (a binary payload is rarely text by chance).
 */
import type { Data, Header, KafkaRecord } from './api.js';
import { h, isoTime } from './dom.js';

/** Past this many bytes a hex dump is cut: a whole megabyte of hex helps nobody in a table cell. */
const HEX_LIMIT = 256;

export function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function utf8Base64(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function hex(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, HEX_LIMIT), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > HEX_LIMIT ? `${shown} …` : shown;
}

function nullMark(): HTMLElement {
  return h('span', { class: 'null' }, 'null');
}

/** Text that is a JSON object or array, re-indented; anything else as plain text. */
function textNode(text: string): Node {
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'object' && v !== null) return h('pre', null, JSON.stringify(v, null, 2));
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return document.createTextNode(text);
}

export function renderData(d: Data | null | undefined): Node {
  if (d === null || d === undefined || d.data === null || d.data === undefined) return nullMark();
  if (d.type === 'BINARY') {
    try {
      return h('span', { class: 'hex' }, hex(base64Bytes(String(d.data))));
    } catch {
      return document.createTextNode(String(d.data));
    }
  }
  if (typeof d.data === 'string') return textNode(d.data);
  return h('pre', null, JSON.stringify(d.data, null, 2));
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A header value as text when it is printable UTF-8, else as hex. */
function headerValue(b64: string | null): string {
  if (b64 === null) return 'null';
  let bytes: Uint8Array;
  try {
    bytes = base64Bytes(b64);
  } catch {
    return b64;
  }
  try {
    const text = decoder.decode(bytes);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is tested for
    if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return text;
  } catch {
    // Not UTF-8: hex below.
  }
  return hex(bytes);
}

export function renderHeaders(headers: Header[] | undefined): string {
  return (headers ?? []).map((x) => `${x.name}: ${headerValue(x.value)}`).join('\n');
}

export function recordRow(r: KafkaRecord): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-offset': r.offset },
    h('td', { class: 'offset' }, r.offset),
    h('td', { class: 'timestamp' }, isoTime(r.timestamp)),
    h('td', { class: 'key' }, renderData(r.key)),
    h('td', { class: 'value' }, renderData(r.value)),
    h('td', { class: 'headers' }, renderHeaders(r.headers)),
  );
}

export function tailRecord(r: KafkaRecord): HTMLElement {
  const headers = renderHeaders(r.headers);
  return h(
    'div',
    { class: 'tail-record', 'data-offset': r.offset, 'data-partition': r.partition },
    h(
      'div',
      { class: 'meta' },
      h('span', null, `partition ${r.partition}`),
      h('span', { class: 'offset' }, `offset ${r.offset}`),
      h('span', { class: 'timestamp' }, isoTime(r.timestamp)),
    ),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'key'), h('div', { class: 'key' }, renderData(r.key))),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'value'), h('div', { class: 'value' }, renderData(r.value))),
    headers === '' ? null : h('div', { class: 'field' }, h('span', { class: 'label' }, 'headers'), h('div', { class: 'headers' }, headers)),
  );
}
