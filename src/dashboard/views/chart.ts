import { type Html, html } from '../html.ts';
import type { ThroughputPoint } from '../model.ts';
import { empty, exact } from './format.ts';

const width = 640;
const height = 140;
const pad = { left: 44, right: 8, top: 10, bottom: 20 };

/**
 * Items/s and failures/s over time as an inline SVG: a few hundred bytes of markup, no chart
 * library, and it prints and scales like text.
 */
export function throughputChart(points: readonly ThroughputPoint[]): Html {
  if (points.length < 2) return empty('The chart fills in as items finish.');
  const top = niceCeiling(Math.max(...points.map((p) => p.itemsPerSecond + p.failuresPerSecond)));
  const first = (points[0] as ThroughputPoint).at.getTime();
  const last = (points.at(-1) as ThroughputPoint).at.getTime();
  const span = Math.max(1, last - first);
  const x = (p: ThroughputPoint) =>
    pad.left + ((p.at.getTime() - first) / span) * (width - pad.left - pad.right);
  const y = (value: number) => pad.top + (1 - value / top) * (height - pad.top - pad.bottom);
  const line = (value: (p: ThroughputPoint) => number) =>
    points.map((p) => `${x(p).toFixed(1)},${y(value(p)).toFixed(1)}`).join(' ');
  const bottom = height - pad.bottom;
  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="Throughput: items and failures per second">
  <line class="axis" x1="${pad.left}" y1="${bottom}" x2="${width - pad.right}" y2="${bottom}"/>
  <line class="grid" x1="${pad.left}" y1="${pad.top}" x2="${width - pad.right}" y2="${pad.top}"/>
  <line class="grid" x1="${pad.left}" y1="${y(top / 2)}" x2="${width - pad.right}" y2="${y(top / 2)}"/>
  <text class="tick" x="${pad.left - 6}" y="${pad.top + 4}" text-anchor="end">${top}/s</text>
  <text class="tick" x="${pad.left - 6}" y="${y(top / 2) + 4}" text-anchor="end">${top / 2}/s</text>
  <text class="tick" x="${pad.left - 6}" y="${bottom + 4}" text-anchor="end">0</text>
  <text class="tick" x="${pad.left}" y="${height - 4}">${exact(new Date(first)).slice(11)}</text>
  <text class="tick" x="${width - pad.right}" y="${height - 4}" text-anchor="end">${exact(new Date(last)).slice(11)}</text>
  <polyline class="line-items" points="${line((p) => p.itemsPerSecond)}"/>
  <polyline class="line-failures" points="${line((p) => p.failuresPerSecond)}"/>
</svg>
<figcaption><span class="key key-items"></span>items/s <span class="key key-failures"></span>failures/s</figcaption>
</figure>`;
}

/** 1, 2 or 5 times a power of ten, at or above `value`: axis labels people can read. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10])
    if (step * power >= value) return Number((step * power).toPrecision(3));
  return 10 * power;
}
