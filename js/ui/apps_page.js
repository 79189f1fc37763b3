// Apps and their classes: each class's access mode, last deploy and last uncaught error.
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html, formatTime, ErrorNote } from './html.js';

function ClassDetail({ app, name }) {
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setDetail(null);
    api('GET', `/apps/${seg(app)}/classes/${seg(name)}`).then(setDetail, setError);
  }, [app, name]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!detail) return html`<p class="muted">Loading…</p>`;
  return html`<div class="detail">
    <p>File <code>${detail.filename}</code>, class <code>${detail.class_name}</code>, deployed ${formatTime(detail.last_deployed_at)}.</p>
    <h4>Last error</h4>
    ${detail.last_error
      ? html`<pre class="last-error">${detail.last_error}</pre>`
      : html`<p class="muted">No uncaught error since the server started.</p>`}
  </div>`;
}

export function AppsPage({ app, apps, onSelectApp }) {
  const [classes, setClasses] = useState(null);
  const [error, setError] = useState(null);
  const [open, setOpen] = useState(null);
  useEffect(() => {
    setClasses(null);
    setError(null);
    setOpen(null);
    api('GET', `/apps/${seg(app)}/classes`).then((r) => setClasses(r.classes), setError);
  }, [app]);
  return html`<section>
    <h2>Apps and classes</h2>
    <div class="apps">
      ${apps.map(
        (a) => html`<button class=${a === app ? 'chip active' : 'chip'} onClick=${() => onSelectApp(a)}>${a}</button>`,
      )}
    </div>
    <${ErrorNote} error=${error} />
    ${classes &&
    (classes.length === 0
      ? html`<p class="muted">No classes in app ${app}: deploy one.</p>`
      : html`<table class="classes">
          <thead><tr><th>Class</th><th>Code</th><th>Access</th><th>Status</th><th>Last deployed</th><th></th></tr></thead>
          <tbody>
            ${classes.map(
              (c) => html`<tr>
                  <td>${c.name}</td><td><code>${c.class_name}</code></td><td>${c.access_mode}</td><td>${c.status}</td>
                  <td>${formatTime(c.last_deployed_at)}</td>
                  <td><button class="link" onClick=${() => setOpen(open === c.name ? null : c.name)}>
                    ${open === c.name ? 'Hide' : 'Details'}</button></td>
                </tr>
                ${open === c.name && html`<tr><td colspan="6"><${ClassDetail} app=${app} name=${c.name} /></td></tr>`}`,
            )}
          </tbody>
        </table>`)}
  </section>`;
}
