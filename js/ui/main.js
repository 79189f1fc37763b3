// The dashboard's shell: the login form (the admin token, checked against the API), the app
// picker and the navigation between pages, kept in the URL's hash (#/objects) so that a reload
// stays on its page.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setToken, setUnauthorizedHandler, token } from './api.js';
import { html, ErrorNote } from './html.js';
import { AppsPage } from './apps_page.js';
import { DeployPage } from './deploy_page.js';
import { ObjectsPage } from './objects_page.js';
import { StoragePage } from './storage_page.js';
import { UsagePage } from './usage_page.js';
import { LogsPage } from './logs_page.js';
import { KeysPage } from './keys_page.js';

const PAGES = [
  ['apps', 'Apps'],
  ['deploy', 'Deploy'],
  ['objects', 'Objects'],
  ['storage', 'Storage'],
  ['usage', 'Usage'],
  ['logs', 'Live logs'],
  ['keys', 'Env & keys'],
];
const APP_KEY = 'dorm-dashboard-app';

function pageFromHash() {
  const name = location.hash.replace(/^#\/?/, '');
  return PAGES.some(([p]) => p === name) ? name : 'apps';
}

function Login({ onLogin }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const candidate = value.trim();
    try {
      const r = await api('GET', '/apps', undefined, { tokenOverride: candidate });
      setToken(candidate);
      setValue('');
      onLogin(r.apps);
    } catch (err) {
      setError(err.status === 401 ? new Error('That is not the admin token.') : err);
    } finally {
      setBusy(false);
    }
  }
  return html`<main class="login">
    <h1>Dorm</h1>
    <form class="stack" onSubmit=${submit}>
      <label>Admin token
        <input name="token" type="password" autocomplete="current-password" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      </label>
      <p class="muted">Printed by <code>dorm serve</code> and kept in <code>DATA/admin-token</code>. It stays in this tab only.</p>
      <button type="submit" disabled=${busy || !value}>Sign in</button>
    </form>
    <${ErrorNote} error=${error} />
  </main>`;
}

function Dashboard({ apps, setApps, onLogout }) {
  const [page, setPage] = useState(pageFromHash());
  const [app, setApp] = useState(() => {
    const kept = sessionStorage.getItem(APP_KEY);
    return kept && apps.includes(kept) ? kept : apps.includes('default') || apps.length === 0 ? 'default' : apps[0];
  });
  const [className, setClassName] = useState('');
  const [object, setObject] = useState(null);
  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => sessionStorage.setItem(APP_KEY, app), [app]);
  const go = (p) => {
    location.hash = `#/${p}`;
    setPage(p);
  };
  const selectApp = (a) => {
    setApp(a);
    setClassName('');
    setObject(null);
  };
  const refreshApps = async (deployedTo) => {
    const r = await api('GET', '/apps');
    setApps(r.apps);
    if (deployedTo) selectApp(deployedTo);
  };
  const appList = apps.includes(app) ? apps : [app, ...apps];
  let body;
  switch (page) {
    case 'deploy':
      body = html`<${DeployPage} app=${app} onDeployed=${refreshApps} />`;
      break;
    case 'objects':
      body = html`<${ObjectsPage} app=${app} className=${className} onClass=${setClassName}
        onOpen=${(o) => {
          setObject(o);
          go('storage');
        }} />`;
      break;
    case 'storage':
      body = html`<${StoragePage} app=${app} object=${object} onBack=${() => go('objects')} />`;
      break;
    case 'usage':
      body = html`<${UsagePage} app=${app} />`;
      break;
    case 'logs':
      body = html`<${LogsPage} app=${app} />`;
      break;
    case 'keys':
      body = html`<${KeysPage} app=${app} />`;
      break;
    default:
      body = html`<${AppsPage} app=${app} apps=${appList} onSelectApp=${selectApp} />`;
  }
  return html`<div class="shell">
    <header>
      <h1>Dorm</h1>
      <nav>
        ${PAGES.map(([p, label]) => html`<a href=${`#/${p}`} class=${p === page ? 'active' : ''} data-page=${p}>${label}</a>`)}
      </nav>
      <label class="app-picker">App
        <select name="app" value=${app} onChange=${(e) => selectApp(e.currentTarget.value)}>
          ${appList.map((a) => html`<option value=${a}>${a}</option>`)}
        </select>
      </label>
      <button class="link" onClick=${onLogout}>Sign out</button>
    </header>
    <main>${body}</main>
  </div>`;
}

function Root() {
  const [apps, setApps] = useState(null);
  const [checking, setChecking] = useState(Boolean(token()));
  const [error, setError] = useState(null);
  const logout = () => {
    setToken('');
    setApps(null);
  };
  useEffect(() => {
    setUnauthorizedHandler(logout);
    if (!token()) return;
    api('GET', '/apps')
      .then((r) => setApps(r.apps), setError)
      .finally(() => setChecking(false));
  }, []);
  if (checking) return html`<p class="muted">Loading…</p>`;
  if (!apps) {
    return html`<div><${Login} onLogin=${setApps} /><${ErrorNote} error=${error} /></div>`;
  }
  return html`<${Dashboard} apps=${apps} setApps=${setApps} onLogout=${logout} />`;
}

render(html`<${Root} />`, document.getElementById('app'));
