// The admin API as the dashboard calls it. The admin token is kept in sessionStorage (gone when
// the tab closes) and sent only in the Authorization header: the API takes it from nowhere else
// (never from a cookie), so another site cannot make the browser use it.
const TOKEN_KEY = 'dorm-admin-token';
const BASE = '/_admin/v1';

let onUnauthorized = () => {};

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// `handler` runs when the API answers 401 (the token is wrong or was replaced).
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// One path segment, percent-encoded.
export function seg(s) {
  return encodeURIComponent(s);
}

// `path` is under /_admin/v1 ("/apps/default/classes"); resolves with the parsed JSON answer,
// rejects with an ApiError carrying the server's message.
export async function api(method, path, body, { tokenOverride } = {}) {
  const headers = { authorization: `Bearer ${tokenOverride ?? token()}` };
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(BASE + path, init);
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const message = parsed && typeof parsed.error === 'string' ? parsed.error : `HTTP ${res.status}`;
    if (res.status === 401 && tokenOverride === undefined) onUnauthorized();
    throw new ApiError(res.status, message);
  }
  return parsed;
}

// Streams the app's live log (Server-Sent Events from /apps/<app>/tail). EventSource cannot send
// an Authorization header, so the stream is read with fetch(). Calls `onOpen()` once the server
// accepted the stream, `onLine(object)` per line and `onDropped(n)` when the server dropped lines;
// resolves when the stream ends or `signal` aborts; rejects with an ApiError when refused.
export async function tail(app, params, { onOpen, onLine, onDropped, signal }) {
  const query = new URLSearchParams(params).toString();
  const res = await fetch(`${BASE}/apps/${seg(app)}/tail${query ? `?${query}` : ''}`, {
    headers: { authorization: `Bearer ${token()}`, accept: 'text/event-stream' },
    credentials: 'omit',
    cache: 'no-store',
    signal,
  });
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try {
      message = (await res.json()).error ?? message;
    } catch {}
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, message);
  }
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      // Events end with a blank line; a line too long to be one of the server's (16 KiB
      // messages, JSON-escaped) means the stream is not what was expected.
      if (buffered.length > 1 << 20) throw new Error('The log stream sent an oversized event.');
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (!data) continue;
        let line;
        try {
          line = JSON.parse(data);
        } catch {
          continue;
        }
        if (line && typeof line.dropped === 'number' && line.type === undefined) onDropped?.(line.dropped);
        else onLine(line);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
