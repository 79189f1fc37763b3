// Usage over time from GET /usage/series: requests and CPU per step of the period, and the
// storage size at the end of each step (the server keeps its history).
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html, formatBytes, ErrorNote } from './html.js';
import { LineChart } from './chart.js';

const PERIODS = {
  '1h': { label: 'Last hour', minutes: 60, step: 1 },
  '24h': { label: 'Last 24 hours', minutes: 24 * 60, step: 30 },
  '7d': { label: 'Last 7 days', minutes: 7 * 24 * 60, step: 360 },
};
const REFRESH_MS = 10000;

export function UsagePage({ app }) {
  const [className, setClassName] = useState('');
  const [classes, setClasses] = useState([]);
  const [period, setPeriod] = useState('1h');
  const [series, setSeries] = useState(null);
  const [objects, setObjects] = useState([]);
  const [error, setError] = useState(null);

  useEffect(() => {
    api('GET', `/apps/${seg(app)}/classes`).then((r) => setClasses(r.classes.map((c) => c.name)), setError);
  }, [app]);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      const { minutes, step } = PERIODS[period];
      const since = new Date(Date.now() - (minutes - 1) * 60000).toISOString();
      const q = new URLSearchParams({ app, since, step: String(step) });
      if (className) q.set('name', className);
      try {
        const s = await api('GET', `/usage/series?${q}`);
        const totals = await api('GET', `/usage?${new URLSearchParams({ app, since, ...(className ? { name: className } : {}) })}`);
        if (stopped) return;
        setSeries(s);
        setObjects(totals.objects);
        setError(null);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [app, className, period]);

  const points = (field) => (series ? series.points.map((p) => ({ t: Date.parse(p.time), v: p[field] })) : []);
  const stepLabel = series ? (series.step_minutes === 1 ? 'per minute' : `per ${series.step_minutes} minutes`) : '';
  return html`<section>
    <h2>Usage</h2>
    <div class="row">
      <label>Class
        <select name="usage-class" value=${className} onChange=${(e) => setClassName(e.currentTarget.value)}>
          <option value="">all classes</option>
          ${classes.map((c) => html`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <label>Period
        <select name="period" value=${period} onChange=${(e) => setPeriod(e.currentTarget.value)}>
          ${Object.entries(PERIODS).map(([k, p]) => html`<option value=${k}>${p.label}</option>`)}
        </select>
      </label>
    </div>
    <${ErrorNote} error=${error} />
    <div class="charts">
      <${LineChart} id="chart-requests" title=${`Requests ${stepLabel}`} points=${points('do_requests')} />
      <${LineChart} id="chart-cpu" title=${`CPU ms ${stepLabel}`} points=${points('do_cpu_ms')} format=${(v) => (Math.round(v * 10) / 10).toString()} />
      <${LineChart} id="chart-storage" title=${`Storage at the end of each step (now ${series ? formatBytes(series.storage_bytes) : '...'})`} points=${points('storage_bytes')} format=${formatBytes} binary />
    </div>
    <h3>Objects in the period</h3>
    <table class="usage-objects">
      <thead><tr><th>Class</th><th>Object</th><th>Requests</th><th>CPU ms</th><th>Storage</th><th>Live</th><th>WebSockets</th></tr></thead>
      <tbody>
        ${objects.map(
          (o) => html`<tr><td>${o.class}</td><td>${o.name}</td><td>${o.do_requests}</td><td>${o.do_cpu_ms}</td>
            <td>${formatBytes(o.storage_bytes)}</td><td>${o.live ? 'yes' : ''}</td><td>${o.websockets}</td></tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}
