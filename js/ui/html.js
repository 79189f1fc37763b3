// htm bound to preact (tagged templates instead of JSX, so the dashboard needs no compile step
// besides bundling), and the small pieces every page uses.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

// Bytes as "12.3 KiB".
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}

// A time (ms since the epoch, or ISO 8601) as "2026-12-05 09:30:12" in UTC.
export function formatTime(t) {
  if (t === null || t === undefined || t === '') return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// A JSON value as compact text (storage values, SQL cells).
export function formatValue(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v);
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${String(error.message ?? error)}</p>`;
}
