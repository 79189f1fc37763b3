// Deploys one class from a .js or .ts file through POST /apps/<app>/classes, as `dorm deploy`.
import { useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html, ErrorNote } from './html.js';

// As the server's limit: a bigger file is refused here rather than uploaded.
const MAX_SOURCE_BYTES = 5 << 20;

export function DeployPage({ app, onDeployed }) {
  const [file, setFile] = useState(null);
  const [target, setTarget] = useState(app);
  const [name, setName] = useState('');
  const [access, setAccess] = useState('authenticated');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);

  async function submit(e) {
    e.preventDefault();
    setError(null);
    setResult(null);
    if (!file) return setError(new Error('Choose a .js or .ts file.'));
    if (file.size > MAX_SOURCE_BYTES) return setError(new Error('The file is over 5 MB.'));
    setBusy(true);
    try {
      const source = await file.text();
      const body = { source, filename: file.name, access_mode: access };
      if (name.trim()) body.name = name.trim();
      const r = await api('POST', `/apps/${seg(target.trim() || 'default')}/classes`, body);
      setResult(r);
      onDeployed(r.app);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return html`<section>
    <h2>Deploy a class</h2>
    <form class="stack" onSubmit=${submit}>
      <label>File (.js or .ts, one Durable Object class)
        <input type="file" name="file" accept=".js,.mjs,.ts" onChange=${(e) => setFile(e.currentTarget.files[0] ?? null)} />
      </label>
      <label>App <input name="app" value=${target} onInput=${(e) => setTarget(e.currentTarget.value)} /></label>
      <label>Name (kebab-case; from the class's name when empty)
        <input name="name" value=${name} placeholder="chat-room" onInput=${(e) => setName(e.currentTarget.value)} />
      </label>
      <label>Access
        <select name="access" value=${access} onChange=${(e) => setAccess(e.currentTarget.value)}>
          <option value="authenticated">authenticated</option>
          <option value="service_key">service_key</option>
          <option value="public">public</option>
        </select>
      </label>
      <button type="submit" disabled=${busy}>${busy ? 'Deploying…' : 'Deploy'}</button>
    </form>
    <${ErrorNote} error=${error} />
    ${result &&
    html`<p class="ok" role="status">Deployed <strong>${result.name}</strong> (class ${result.class_name}) to app ${result.app}: ${result.status}.</p>`}
  </section>`;
}
