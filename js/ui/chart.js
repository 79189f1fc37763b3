// A line chart drawn as SVG: a few dozen elements, no chart library. Each point with a value
// above zero gets a marker (a <circle> with its value in a <title>), so that a period with one
// busy minute is still visible.
import { html } from './html.js';

const WIDTH = 640;
const HEIGHT = 200;
const LEFT = 76;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 28;

// The smallest 1, 2 or 5 times a power of ten (of 1024 for `binary` units, then of ten within
// it) that is at least `v`.
function niceMax(v, binary) {
  if (!(v > 0)) return 1;
  if (binary) {
    const unit = 1024 ** Math.max(0, Math.floor(Math.log(v) / Math.log(1024)));
    return unit * niceMax(v / unit, false);
  }
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function shortTime(t, spanMs) {
  const iso = new Date(t).toISOString();
  return spanMs > 2 * 86400000 ? iso.slice(5, 16).replace('T', ' ') : iso.slice(11, 16);
}

// `points`: [{t: ms since the epoch, v: number}] in time order; `format(v)` labels values;
// `binary`: the values are bytes (the scale ends on 1, 2 or 5 KiB, MiB...).
export function LineChart({ title, points, format = (v) => String(v), id, binary = false }) {
  const n = points.length;
  const t0 = n ? points[0].t : 0;
  const t1 = n ? points[n - 1].t : 1;
  const span = Math.max(t1 - t0, 1);
  const max = niceMax(Math.max(0, ...points.map((p) => p.v)), binary);
  const x = (t) => LEFT + ((t - t0) / span) * (WIDTH - LEFT - RIGHT);
  const y = (v) => TOP + (1 - v / max) * (HEIGHT - TOP - BOTTOM);
  const line = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const marked = points.filter((p) => p.v > 0);
  return html`<figure class="chart" id=${id}>
    <figcaption>${title}</figcaption>
    <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label=${title} data-points=${n}>
      <line class="axis" x1=${LEFT} y1=${TOP} x2=${LEFT} y2=${HEIGHT - BOTTOM} />
      <line class="axis" x1=${LEFT} y1=${HEIGHT - BOTTOM} x2=${WIDTH - RIGHT} y2=${HEIGHT - BOTTOM} />
      <line class="grid" x1=${LEFT} y1=${y(max / 2)} x2=${WIDTH - RIGHT} y2=${y(max / 2)} />
      <text class="label" x=${LEFT - 6} y=${TOP + 4} text-anchor="end">${format(max)}</text>
      <text class="label" x=${LEFT - 6} y=${y(max / 2) + 4} text-anchor="end">${format(max / 2)}</text>
      <text class="label" x=${LEFT - 6} y=${HEIGHT - BOTTOM + 4} text-anchor="end">0</text>
      ${n > 0 &&
      html`<text class="label" x=${LEFT} y=${HEIGHT - 8}>${shortTime(t0, span)}</text>
        <text class="label" x=${WIDTH - RIGHT} y=${HEIGHT - 8} text-anchor="end">${shortTime(t1, span)}</text>`}
      ${n > 1 && html`<polyline class="series" points=${line} />`}
      ${marked.map(
        (p) => html`<circle class="point" cx=${x(p.t).toFixed(1)} cy=${y(p.v).toFixed(1)} r="3" data-value=${p.v}>
          <title>${new Date(p.t).toISOString()}: ${format(p.v)}</title>
        </circle>`,
      )}
    </svg>
    ${n === 0 && html`<p class="muted">No data yet.</p>`}
  </figure>`;
}
