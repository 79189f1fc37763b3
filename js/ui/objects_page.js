// A class's objects, a page at a time (GET .../objects?prefix=&limit=&cursor=), with their state
// and open WebSockets, refreshed every few seconds while "live" is on.
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html, formatBytes, formatTime, ErrorNote } from './html.js';

const PAGE = 50;
const REFRESH_MS = 5000;

export function ClassPicker({ app, value, onChange }) {
  const [classes, setClasses] = useState([]);
  useEffect(() => {
    api('GET', `/apps/${seg(app)}/classes`).then(
      (r) => {
        const names = r.classes.map((c) => c.name);
        setClasses(names);
        if (!names.includes(value) && names.length) onChange(names[0]);
      },
      () => setClasses([]),
    );
  }, [app]);
  return html`<label>Class
    <select name="class" value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${classes.map((c) => html`<option value=${c}>${c}</option>`)}
    </select>
  </label>`;
}

export function ObjectsPage({ app, className, onClass, onOpen }) {
  const [prefix, setPrefix] = useState('');
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState(['']);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [live, setLive] = useState(true);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    setCursors(['']);
  }, [app, className, search]);

  useEffect(() => {
    if (!className) return undefined;
    let stopped = false;
    const load = () => {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (search) q.set('prefix', search);
      if (cursor) q.set('cursor', cursor);
      api('GET', `/apps/${seg(app)}/classes/${seg(className)}/objects?${q}`).then(
        (r) => {
          if (!stopped) {
            setPage(r);
            setError(null);
          }
        },
        (e) => !stopped && setError(e),
      );
    };
    load();
    const timer = live ? setInterval(load, REFRESH_MS) : null;
    return () => {
      stopped = true;
      if (timer) clearInterval(timer);
    };
  }, [app, className, search, cursor, live]);

  return html`<section>
    <h2>Objects</h2>
    <form class="row" onSubmit=${(e) => {
      e.preventDefault();
      setSearch(prefix);
    }}>
      <${ClassPicker} app=${app} value=${className} onChange=${onClass} />
      <label>Name starts with <input name="prefix" value=${prefix} onInput=${(e) => setPrefix(e.currentTarget.value)} /></label>
      <button type="submit">Search</button>
      <label class="check"><input type="checkbox" checked=${live} onChange=${(e) => setLive(e.currentTarget.checked)} /> live</label>
    </form>
    <${ErrorNote} error=${error} />
    ${page &&
    html`<table class="objects">
        <thead><tr><th>Name</th><th>Id</th><th>Storage</th><th>Last active</th><th>State</th><th>WebSockets</th><th>Alarm</th></tr></thead>
        <tbody>
          ${page.objects.map(
            (o) => html`<tr>
              <td><button class="link" onClick=${() => onOpen({ className, id: o.id, name: o.name })}>${o.name ?? '(by id)'}</button></td>
              <td><code title=${o.id}>${o.id.slice(0, 12)}…</code></td>
              <td>${formatBytes(o.storage_bytes)}</td>
              <td>${formatTime(o.last_active)}</td>
              <td><span class=${`state ${o.state}`}>${o.state}</span></td>
              <td class="websockets">${o.websockets}</td>
              <td>${o.alarm === null || o.alarm === undefined ? '' : formatTime(o.alarm)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${page.objects.length === 0 && html`<p class="muted">No objects${search ? ` whose name starts with “${search}”` : ''}.</p>`}
      <div class="pager">
        <button disabled=${cursors.length <= 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <span>page ${cursors.length}</span>
        <button disabled=${!page.cursor} onClick=${() => setCursors([...cursors, page.cursor])}>Next</button>
      </div>`}
  </section>`;
}
