// The app's env var keys and service keys. Env values are write-only here: the API never returns
// them, and the value typed is cleared from the form as soon as it is sent. A new service key is
// shown once, as the API returns it only then; afterwards only its prefix is listed.
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html, formatTime, ErrorNote } from './html.js';

function EnvKeys({ app }) {
  const [keys, setKeys] = useState([]);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const [note, setNote] = useState('');
  const load = () => api('GET', `/apps/${seg(app)}/env`).then((r) => setKeys(r.keys), setError);
  useEffect(() => {
    setNote('');
    load();
  }, [app]);
  async function set(e) {
    e.preventDefault();
    setError(null);
    const sent = value;
    setValue('');
    try {
      const r = await api('PUT', `/apps/${seg(app)}/env/${seg(key.trim())}`, { value: sent });
      setNote(`${r.key} ${r.created ? 'created' : 'replaced'}.`);
      setKey('');
      await load();
    } catch (err) {
      setError(err);
    }
  }
  async function unset(k) {
    setError(null);
    try {
      await api('DELETE', `/apps/${seg(app)}/env/${seg(k)}`);
      setNote(`${k} removed.`);
      await load();
    } catch (err) {
      setError(err);
    }
  }
  return html`<div class="panel">
    <h3>Env vars</h3>
    <ul class="env-keys">
      ${keys.map((k) => html`<li><code>${k}</code> <button class="link danger" onClick=${() => unset(k)} aria-label=${`Remove ${k}`}>remove</button></li>`)}
    </ul>
    ${keys.length === 0 && html`<p class="muted">No env vars.</p>`}
    <form class="row" onSubmit=${set} autocomplete="off">
      <label>Key <input name="env-key" value=${key} placeholder="API_KEY" onInput=${(e) => setKey(e.currentTarget.value)} /></label>
      <label>Value <input name="env-value" type="password" autocomplete="new-password" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} /></label>
      <button type="submit">Set</button>
    </form>
    ${note && html`<p class="ok" role="status">${note}</p>`}
    <${ErrorNote} error=${error} />
  </div>`;
}

function ServiceKeys({ app }) {
  const [keys, setKeys] = useState([]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api('GET', `/apps/${seg(app)}/keys`).then((r) => setKeys(r.keys), setError);
  useEffect(() => {
    setCreated(null);
    load();
  }, [app]);
  async function create(e) {
    e.preventDefault();
    setError(null);
    try {
      const body = name.trim() ? { name: name.trim() } : {};
      setCreated(await api('POST', `/apps/${seg(app)}/keys`, body));
      setName('');
      await load();
    } catch (err) {
      setError(err);
    }
  }
  async function revoke(id) {
    setError(null);
    try {
      await api('DELETE', `/apps/${seg(app)}/keys/${seg(id)}`);
      if (created?.id === id) setCreated(null);
      await load();
    } catch (err) {
      setError(err);
    }
  }
  return html`<div class="panel">
    <h3>Service keys</h3>
    <table class="service-keys">
      <thead><tr><th>Name</th><th>Id</th><th>Prefix</th><th>Created</th><th></th></tr></thead>
      <tbody>
        ${keys.map(
          (k) => html`<tr><td>${k.name}</td><td><code>${k.id}</code></td><td><code>${k.prefix}…</code></td><td>${formatTime(k.created_at)}</td>
            <td><button class="link danger" onClick=${() => revoke(k.id)}>revoke</button></td></tr>`,
        )}
      </tbody>
    </table>
    ${keys.length === 0 && html`<p class="muted">No service keys.</p>`}
    <form class="row" onSubmit=${create}>
      <label>Name <input name="key-name" value=${name} placeholder="billing" onInput=${(e) => setName(e.currentTarget.value)} /></label>
      <button type="submit">Create key</button>
    </form>
    ${created &&
    html`<div class="new-key" role="status">
      <p>Key <strong>${created.name || created.id}</strong> created. Copy it now: it will not be shown again.</p>
      <code class="secret">${created.key}</code>
      <button class="link" onClick=${() => setCreated(null)}>done</button>
    </div>`}
    <${ErrorNote} error=${error} />
  </div>`;
}

export function KeysPage({ app }) {
  return html`<section>
    <h2>Env vars and service keys</h2>
    <div class="panels"><${EnvKeys} app=${app} /><${ServiceKeys} app=${app} /></div>
  </section>`;
}
