// One object's storage, read-only: its key-value pairs a page at a time, and its SQL tables
// (listed from sqlite_schema and read with SELECTs through the `sql` endpoint, which refuses
// any statement that writes since the dashboard never asks to write).
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html, formatValue, ErrorNote } from './html.js';

const PAGE = 50;

function objectPath(app, o) {
  return `/apps/${seg(app)}/classes/${seg(o.className)}/objects/${seg(o.id)}`;
}

function KvView({ app, object }) {
  const [prefix, setPrefix] = useState('');
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState(['']);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const cursor = cursors[cursors.length - 1];
  const load = () => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (search) q.set('prefix', search);
    if (cursor) q.set('cursor', cursor);
    api('GET', `${objectPath(app, object)}/storage?${q}`).then(
      (r) => {
        setPage(r);
        setError(null);
      },
      setError,
    );
  };
  useEffect(load, [app, object.id, search, cursor]);
  return html`<div>
    <form class="row" onSubmit=${(e) => {
      e.preventDefault();
      setCursors(['']);
      setSearch(prefix);
    }}>
      <label>Key starts with <input name="key-prefix" value=${prefix} onInput=${(e) => setPrefix(e.currentTarget.value)} /></label>
      <button type="submit">Search</button>
      <button type="button" onClick=${load}>Refresh</button>
    </form>
    <${ErrorNote} error=${error} />
    ${page &&
    html`<table class="kv">
        <thead><tr><th>Key</th><th>Value</th></tr></thead>
        <tbody>
          ${page.entries.map((e) => html`<tr><td><code>${e.key}</code></td><td><code class="value">${formatValue(e.value)}</code></td></tr>`)}
        </tbody>
      </table>
      ${page.entries.length === 0 && html`<p class="muted">No keys.</p>`}
      <div class="pager">
        <button disabled=${cursors.length <= 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <span>page ${cursors.length}</span>
        <button disabled=${!page.cursor} onClick=${() => setCursors([...cursors, page.cursor])}>Next</button>
      </div>`}
  </div>`;
}

function quoteIdentifier(name) {
  return `"${String(name).replace(/"/g, '""')}"`;
}

function SqlView({ app, object }) {
  const [tables, setTables] = useState([]);
  const [sql, setSql] = useState('');
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const run = (statement) => {
    setError(null);
    api('POST', `${objectPath(app, object)}/sql`, { sql: statement, limit: 100 }).then(setResult, (e) => {
      setResult(null);
      setError(e);
    });
  };
  useEffect(() => {
    api('POST', `${objectPath(app, object)}/sql`, {
      sql: "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    }).then(
      (r) => setTables(r.rows.map((row) => row[0])),
      setError,
    );
  }, [app, object.id]);
  const browse = (table) => {
    const statement = `SELECT * FROM ${quoteIdentifier(table)}`;
    setSql(statement);
    run(statement);
  };
  return html`<div>
    <div class="apps">
      ${tables.map((t) => html`<button class="chip" onClick=${() => browse(t)}>${t}</button>`)}
    </div>
    <form class="stack" onSubmit=${(e) => {
      e.preventDefault();
      run(sql);
    }}>
      <label>Query (read-only)
        <textarea name="sql" rows="3" value=${sql} onInput=${(e) => setSql(e.currentTarget.value)} placeholder="SELECT * FROM ..."></textarea>
      </label>
      <button type="submit">Run</button>
    </form>
    <${ErrorNote} error=${error} />
    ${result &&
    html`<table class="sql-result">
        <thead><tr>${result.columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
        <tbody>${result.rows.map((row) => html`<tr>${row.map((v) => html`<td><code>${formatValue(v)}</code></td>`)}</tr>`)}</tbody>
      </table>
      <p class="muted">${result.rows.length} row(s)${result.truncated ? ', more not shown' : ''}.</p>`}
  </div>`;
}

export function StoragePage({ app, object, onBack }) {
  const [tab, setTab] = useState('kv');
  if (!object) return html`<section><h2>Storage</h2><p class="muted">Pick an object in Objects.</p></section>`;
  return html`<section>
    <h2>Storage of ${object.className} / <span class="object-name">${object.name ?? object.id}</span></h2>
    <p class="muted"><code>${object.id}</code> <button class="link" onClick=${onBack}>back to the objects</button></p>
    <div class="tabs">
      <button class=${tab === 'kv' ? 'tab active' : 'tab'} onClick=${() => setTab('kv')}>Key-value</button>
      <button class=${tab === 'sql' ? 'tab active' : 'tab'} onClick=${() => setTab('sql')}>SQL tables</button>
    </div>
    ${tab === 'kv' ? html`<${KvView} app=${app} object=${object} />` : html`<${SqlView} app=${app} object=${object} />`}
  </section>`;
}
