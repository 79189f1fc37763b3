// The app's live log, streamed from GET /apps/<app>/tail while the page is open; the newest lines
// first, at most MAX_LINES of them.
import { useEffect, useState } from 'preact/hooks';
import { tail } from './api.js';
import { html, formatTime, ErrorNote } from './html.js';

const MAX_LINES = 500;

export function describeLine(l) {
  switch (l.type) {
    case 'console':
      return `(${l.level}) ${l.message}`;
    case 'exception':
      return `(exception) ${l.message}`;
    case 'request':
      return `${l.method} ${l.path} - ${l.status} ${l.outcome ?? ''} (${l.duration_ms} ms)${l.error ? ` ${l.error}` : ''}`;
    case 'rpc':
      return `rpc ${l.method} - ${l.status} ${l.outcome ?? ''} (${l.duration_ms} ms)${l.error ? ` ${l.error}` : ''}`;
    case 'websocket':
      return `websocket ${l.event}${l.code !== undefined ? ` ${l.code}` : ''}`;
    case 'alarm':
      return `alarm ${l.outcome ?? ''}${l.error ? ` ${l.error}` : ''}`;
    default:
      return l.type;
  }
}

export function LogsPage({ app }) {
  const [lines, setLines] = useState([]);
  const [dropped, setDropped] = useState(0);
  const [level, setLevel] = useState('');
  const [since, setSince] = useState('5m');
  const [state, setState] = useState('connecting');
  const [error, setError] = useState(null);

  useEffect(() => {
    const controller = new AbortController();
    setLines([]);
    setDropped(0);
    setError(null);
    setState('connecting');
    const params = {};
    if (level) params.level = level;
    if (since) params.since = since;
    let pending = [];
    let scheduled = false;
    // Lines arriving together are added in one render.
    const flush = () => {
      scheduled = false;
      const batch = pending;
      pending = [];
      setLines((old) => [...batch.reverse(), ...old].slice(0, MAX_LINES));
    };
    tail(app, params, {
      signal: controller.signal,
      onOpen: () => setState('streaming'),
      onLine: (l) => {
        pending.push(l);
        if (!scheduled) {
          scheduled = true;
          setTimeout(flush, 50);
        }
      },
      onDropped: (n) => setDropped((d) => d + n),
    })
      .then(() => !controller.signal.aborted && setState('ended'))
      .catch((e) => {
        if (controller.signal.aborted) return;
        setError(e);
        setState('ended');
      });
    return () => controller.abort();
  }, [app, level, since]);

  return html`<section>
    <h2>Live logs</h2>
    <div class="row">
      <label>Level
        <select name="level" value=${level} onChange=${(e) => setLevel(e.currentTarget.value)}>
          <option value="">every line</option>
          <option value="warn,error">warnings and errors</option>
          <option value="error">errors</option>
        </select>
      </label>
      <label>Start with the last
        <select name="since" value=${since} onChange=${(e) => setSince(e.currentTarget.value)}>
          <option value="">nothing (new lines only)</option>
          <option value="5m">5 minutes</option>
          <option value="1h">hour</option>
        </select>
      </label>
      <span class=${`stream-state ${state}`} data-state=${state}>${state}</span>
      <button onClick=${() => setLines([])}>Clear</button>
    </div>
    <${ErrorNote} error=${error} />
    ${dropped > 0 && html`<p class="warning">${dropped} line(s) dropped: the page read too slowly.</p>`}
    <ol class="log">
      ${lines.map(
        (l) => html`<li class=${`log-line ${l.type} ${l.level ?? ''}`}>
          <time>${formatTime(l.timestamp)}</time>
          <span class="who">[${l.class ?? ''}/${l.name ?? (l.object ? l.object.slice(0, 8) : '')}]</span>
          <span class="what">${describeLine(l)}</span>
        </li>`,
      )}
    </ol>
    ${lines.length === 0 && html`<p class="muted">Waiting for lines…</p>`}
  </section>`;
}
