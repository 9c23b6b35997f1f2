/**
 * The consumer-group lag chart: total lag over time as an inline SVG polyline, with the lowest and
 * highest lag seen and the time the history covers as its only labels.
 */
import { span } from './dom.js';

export interface LagPoint {
  readonly t: number;
  readonly lag: number;
}

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 180;
const PAD = { left: 64, right: 12, top: 12, bottom: 24 };

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function lagChart(id: string): SVGSVGElement {
  const svg = s('svg', { id, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'total lag over time' });
  drawLagChart(svg, []);
  return svg;
}

export function drawLagChart(svg: SVGSVGElement, points: readonly LagPoint[]): void {
  const x0 = PAD.left;
  const x1 = W - PAD.right;
  const y0 = H - PAD.bottom;
  const y1 = PAD.top;
  const parts: SVGElement[] = [
    s('line', { class: 'axis', x1: x0, y1: y0, x2: x1, y2: y0 }),
    s('line', { class: 'axis', x1: x0, y1: y1, x2: x0, y2: y0 }),
  ];
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined) {
    parts.push(s('text', { x: (x0 + x1) / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-note' }, 'collecting…'));
    svg.replaceChildren(...parts);
    return;
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    min = Math.min(min, p.lag);
    max = Math.max(max, p.lag);
  }
  // A flat line is drawn across the middle rather than on an axis.
  const lo = min === max ? min - 1 : min;
  const hi = min === max ? max + 1 : max;
  const dt = last.t - first.t;
  const x = (t: number) => (dt === 0 ? x1 : x0 + ((t - first.t) / dt) * (x1 - x0));
  const y = (lag: number) => y0 - ((lag - lo) / (hi - lo)) * (y0 - y1);
  parts.push(
    s('polyline', { class: 'lag-line', points: points.map((p) => `${x(p.t).toFixed(1)},${y(p.lag).toFixed(1)}`).join(' ') }),
    s('circle', { class: 'lag-dot', cx: x(last.t), cy: y(last.lag), r: 3 }),
    s('text', { class: 'chart-max', x: x0 - 6, y: y1 + 4, 'text-anchor': 'end' }, String(max)),
    s('text', { class: 'chart-min', x: x0 - 6, y: y0, 'text-anchor': 'end' }, String(min)),
    s('text', { class: 'chart-span', x: x0, y: H - 6 }, `last ${span(dt)}`),
    s('text', { class: 'chart-now', x: x1, y: H - 6, 'text-anchor': 'end' }, 'now'),
  );
  svg.replaceChildren(...parts);
}
