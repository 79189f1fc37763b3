// One Durable Object class for the differential check of outbound fetch(): GET /<scenario> runs
// that scenario against the test servers named in the query string and answers a JSON description
// of what happened. The same file is deployed unchanged on Dorm and on workerd;
// tests/diff/fetch.mjs starts the test servers and compares the answers.
//
// Query parameters (base URLs without a trailing slash):
//   http      the plain HTTP test server on 127.0.0.1
//   http2     the same routes on 127.0.0.2
//   https     HTTPS on 127.0.0.1 with a certificate for 127.0.0.1 and localhost from the test CA
//   wrong     HTTPS on 127.0.0.1 with a certificate from the test CA for another name
//   untrusted HTTPS on 127.0.0.1 with a self-signed certificate for 127.0.0.1 and localhost

// Everything an error says about itself: constructor, name, message, cause and own properties
// other than the stack.
function describeError(e, depth = 0) {
  if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return { thrownValue: String(e), type: typeof e };
  const d = { class: e.constructor?.name ?? null, name: e.name, message: e.message };
  for (const k of Object.getOwnPropertyNames(e)) {
    if (k === 'stack' || k === 'message' || k === 'name' || k === 'cause') continue;
    try {
      const v = e[k];
      d[k] = typeof v === 'object' && v !== null ? JSON.parse(JSON.stringify(v)) : v;
    } catch {
      d[k] = '<unserialisable>';
    }
  }
  if (e.cause !== undefined && depth < 3) d.cause = describeError(e.cause, depth + 1);
  return d;
}

// Runs fn and describes its outcome: {ok: value} or {threw: describeError(e)}.
async function attempt(fn) {
  try {
    const v = await fn();
    return { ok: v === undefined ? 'undefined' : v };
  } catch (e) {
    return { threw: describeError(e) };
  }
}

const headerList = (headers) => [...headers.entries()];

// The parts of a Response that do not depend on reading its body.
function meta(res) {
  return {
    status: res.status,
    statusText: res.statusText,
    ok: res.ok,
    url: res.url,
    redirected: res.redirected,
    type: res.type,
    headers: headerList(res.headers),
  };
}

// meta() plus the body as text.
async function described(res) {
  return { ...meta(res), body: await res.text() };
}

// What the echo route saw: method, URL, raw headers (as the server received them, in order, with
// the port of any host header left as is) and the body.
async function echoOf(res) {
  const r = { status: res.status, url: res.url, redirected: res.redirected };
  const text = await res.text();
  try {
    r.echo = JSON.parse(text);
  } catch {
    r.body = text;
  }
  return r;
}

// The request as the echo route reports it, without the headers the test's own transport
// decides (kept in request_headers scenarios).
function shortEcho(e) {
  if (!e) return e;
  const h = Object.fromEntries(e.headers.map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: e.method,
    url: e.url,
    contentType: h['content-type'] ?? null,
    contentLength: h['content-length'] ?? null,
    transferEncoding: h['transfer-encoding'] ?? null,
    body: e.body,
  };
}

const REDIRECT_STATUSES = [301, 302, 303, 307, 308];

const SCENARIOS = {
  // ---------------------------------------------------------------------------------------------
  // Plain requests

  async get_text(u) {
    return described(await fetch(`${u.http}/text`));
  },

  async get_json(u) {
    const res = await fetch(`${u.http}/json`);
    return { ...meta(res), json: await res.json() };
  },

  async url_fragment(u) {
    const res = await fetch(`${u.http}/echo?q=1#frag`);
    const e = await echoOf(res);
    return { responseUrl: e.url, serverSawUrl: e.echo.url };
  },

  async post_string(u) {
    const res = await fetch(`${u.http}/echo`, { method: 'POST', body: 'hello, body' });
    return shortEcho((await echoOf(res)).echo);
  },

  async post_arraybuffer(u) {
    const body = new Uint8Array([0, 1, 2, 127, 128, 255]).buffer;
    const res = await fetch(`${u.http}/echo`, { method: 'POST', body });
    return shortEcho((await echoOf(res)).echo);
  },

  async post_urlsearchparams(u) {
    const body = new URLSearchParams({ a: '1', b: 'two words', c: 'é&=' });
    const res = await fetch(`${u.http}/echo`, { method: 'POST', body });
    return shortEcho((await echoOf(res)).echo);
  },

  async post_blob(u) {
    const body = new Blob(['blob body'], { type: 'application/x-test' });
    const res = await fetch(`${u.http}/echo`, { method: 'PUT', body });
    return shortEcho((await echoOf(res)).echo);
  },

  async post_stream(u) {
    const enc = new TextEncoder();
    const body = new ReadableStream({
      start(c) {
        c.enqueue(enc.encode('chunk one, '));
        c.enqueue(enc.encode('chunk two'));
        c.close();
      },
    });
    const res = await fetch(`${u.http}/echo`, { method: 'POST', body, duplex: 'half' });
    return shortEcho((await echoOf(res)).echo);
  },

  async post_request_object(u) {
    const req = new Request(`${u.http}/echo`, { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } });
    const res = await fetch(req);
    return shortEcho((await echoOf(res)).echo);
  },

  // Exactly the header lines the server receives for a bare GET and a bare POST.
  async request_headers_default(u) {
    const get = (await echoOf(await fetch(`${u.http}/echo`))).echo;
    const post = (await echoOf(await fetch(`${u.http}/echo`, { method: 'POST', body: 'x' }))).echo;
    return { get: { httpVersion: get.httpVersion, headers: get.headers }, post: { httpVersion: post.httpVersion, headers: post.headers } };
  },

  // Headers set by the caller, including ones browsers forbid.
  async request_headers_custom(u) {
    const res = await fetch(`${u.http}/echo`, {
      headers: [
        ['user-agent', 'probe/1.0'],
        ['Accept-Encoding', 'identity'],
        ['X-Custom', 'value'],
        ['x-lower-case', 'v'],
        ['X-Multi', 'one'],
        ['x-multi', 'two'],
        ['cookie', 'a=b'],
        ['Referer', 'http://example.com/'],
        ['Origin', 'http://example.com'],
        ['Host', 'other.example'],
        ['Connection', 'close'],
        ['Keep-Alive', 'timeout=1'],
        ['Transfer-Encoding', 'chunked'],
        ['Content-Length', '5'],
        ['TE', 'trailers'],
      ],
    });
    const e = (await echoOf(res)).echo;
    // An Upgrade header on a plain fetch() (the random Sec-WebSocket-Key, if any, is masked).
    const up = await attempt(async () => {
      const r = await fetch(`${u.http}/echo`, { headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'X-Custom': 'value' } });
      const echo = (await echoOf(r)).echo;
      return {
        status: r.status,
        headers: echo.headers.map(([k, v]) => [k, k.toLowerCase() === 'sec-websocket-key' ? '<key>' : v]),
      };
    });
    return { headers: e.headers, upgrade: up };
  },

  async response_headers(u) {
    const res = await fetch(`${u.http}/meta`);
    return {
      ...meta(res),
      getSetCookie: res.headers.getSetCookie(),
      getSetCookieHeader: res.headers.get('set-cookie'),
      getMulti: res.headers.get('x-multi'),
      hasConnection: res.headers.has('connection'),
      body: await res.text(),
    };
  },

  async status_204(u) {
    const res = await fetch(`${u.http}/status/204`);
    return { ...meta(res), bodyIsNull: res.body === null, text: await res.text() };
  },

  async status_404(u) {
    const res = await fetch(`${u.http}/status/404`);
    return { ...meta(res), text: await res.text() };
  },

  async status_500(u) {
    const res = await fetch(`${u.http}/status/500`);
    return { ...meta(res), text: await res.text() };
  },

  async head_request(u) {
    const res = await fetch(`${u.http}/text`, { method: 'HEAD' });
    return { ...meta(res), bodyIsNull: res.body === null, text: await res.text() };
  },

  // ---------------------------------------------------------------------------------------------
  // Redirects

  // For each status, a POST with a body followed to a relative and to an absolute Location.
  async redirect_follow(u) {
    const out = {};
    for (const s of REDIRECT_STATUSES) {
      const one = async (to) => {
        const res = await fetch(`${u.http}/redirect/${s}?to=${encodeURIComponent(to)}`, {
          method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain', 'x-kept': 'yes' },
        });
        const e = await echoOf(res);
        const h = Object.fromEntries(e.echo.headers.map(([k, v]) => [k.toLowerCase(), v]));
        return {
          status: e.status, url: e.url, redirected: e.redirected,
          method: e.echo.method, serverUrl: e.echo.url, body: e.echo.body,
          contentType: h['content-type'] ?? null, contentLength: h['content-length'] ?? null, xKept: h['x-kept'] ?? null,
        };
      };
      out[s] = {
        relative: await attempt(() => one(`/echo?from=${s}`)),
        absolute: await attempt(() => one(`${u.http}/echo?from=${s}&abs=1`)),
      };
    }
    return out;
  },

  // A GET followed through a 303 and a HEAD through a 301.
  async redirect_follow_get_head(u) {
    const get = await fetch(`${u.http}/redirect/303?to=${encodeURIComponent('/echo?g=1')}`);
    const head = await fetch(`${u.http}/redirect/301?to=${encodeURIComponent('/text')}`, { method: 'HEAD' });
    return {
      get: { url: get.url, redirected: get.redirected, method: (await get.json()).method },
      head: { url: head.url, redirected: head.redirected, status: head.status, bodyIsNull: head.body === null },
    };
  },

  async redirect_manual(u) {
    const out = {};
    for (const s of REDIRECT_STATUSES) {
      out[s] = await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/${s}?to=${encodeURIComponent('/echo?m=1')}`, { redirect: 'manual' });
        return {
          status: res.status, statusText: res.statusText, ok: res.ok, type: res.type, url: res.url,
          redirected: res.redirected, location: res.headers.get('location'), body: await res.text(),
        };
      });
    }
    return out;
  },

  async redirect_error(u) {
    const out = {};
    for (const s of REDIRECT_STATUSES) {
      out[s] = await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/${s}?to=${encodeURIComponent('/echo')}`, { redirect: 'error' });
        return { status: res.status, body: await res.text() };
      });
    }
    return out;
  },

  // A 3xx answer without a Location header, and with an unparsable one, followed.
  async redirect_odd_location(u) {
    const one = (q) => attempt(async () => {
      const res = await fetch(`${u.http}/redirect/302${q}`);
      return { status: res.status, url: res.url, redirected: res.redirected, location: res.headers.get('location'), body: await res.text() };
    });
    return {
      noLocation: await one(''),
      emptyLocation: await one('?to='),
      emptyLocationManual: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=`, { redirect: 'manual' });
        return { status: res.status, location: res.headers.get('location'), hasLocation: res.headers.has('location') };
      }),
      badLocation: await one(`?to=${encodeURIComponent('http://exa mple:99999/')}`),
      fragmentLocation: await one(`?to=${encodeURIComponent('/text#frag')}`),
    };
  },

  async redirect_loop(u) {
    return attempt(() => fetch(`${u.http}/loop`).then((r) => ({ status: r.status })));
  },

  // /chain/N answers after N redirects: where the limit lies.
  async redirect_limit(u) {
    const out = {};
    for (const n of [19, 20, 21]) {
      out[n] = await attempt(async () => {
        const res = await fetch(`${u.http}/chain/${n}`);
        return { status: res.status, url: res.url, redirected: res.redirected, body: await res.text() };
      });
    }
    return out;
  },

  // To the second listener on 127.0.0.2: which credentials headers survive the change of origin.
  async redirect_other_host(u) {
    const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent(`${u.http2}/echo?x=1`)}`, {
      headers: { authorization: 'Bearer t', cookie: 'c=1', 'x-kept': 'yes' },
    });
    const e = await echoOf(res);
    return { status: e.status, url: e.url, redirected: e.redirected, serverUrl: e.echo.url, headers: e.echo.headers };
  },

  // A redirect from HTTP to HTTPS (the trusted certificate) and to an unsupported scheme.
  async redirect_scheme(u) {
    return {
      toHttps: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent(`${u.https}/text`)}`);
        return { status: res.status, url: res.url, redirected: res.redirected, body: await res.text() };
      }),
      toFtp: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent('ftp://127.0.0.1/x')}`);
        return { status: res.status, url: res.url, redirected: res.redirected };
      }),
      // An ftp: URL whose host and port are the HTTP server on 127.0.0.2.
      toFtpListening: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent(`${u.http2.replace('http:', 'ftp:')}/echo`)}`);
        const e = await echoOf(res);
        return { status: res.status, url: res.url, redirected: res.redirected, serverSaw: e.echo ? { method: e.echo.method, url: e.echo.url } : e.body };
      }),
      toFile: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent('file:///etc/hostname')}`);
        return { status: res.status, url: res.url, redirected: res.redirected };
      }),
      toData: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent('data:text/plain,hi')}`);
        return { status: res.status, url: res.url, redirected: res.redirected, body: await res.text() };
      }),
    };
  },

  // ---------------------------------------------------------------------------------------------
  // Bodies

  async gzip(u) {
    const res = await fetch(`${u.http}/gzip`);
    return {
      contentEncoding: res.headers.get('content-encoding'),
      contentLength: res.headers.get('content-length'),
      body: await res.text(),
    };
  },

  async br(u) {
    const res = await fetch(`${u.http}/br`);
    return {
      contentEncoding: res.headers.get('content-encoding'),
      contentLength: res.headers.get('content-length'),
      body: await res.text(),
    };
  },

  async deflate(u) {
    const res = await fetch(`${u.http}/deflate`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      contentEncoding: res.headers.get('content-encoding'),
      contentLength: res.headers.get('content-length'),
      bodyLength: bytes.length,
      decoded: new TextDecoder().decode(bytes).startsWith('compressed text'),
    };
  },

  // encodeResponseBody: 'manual': the bytes as they came, whatever the encoding; how a Request
  // carries the option into fetch(); its errors.
  async encode_manual(u) {
    const describe = async (res) => {
      const bytes = new Uint8Array(await res.arrayBuffer());
      return {
        contentEncoding: res.headers.get('content-encoding'),
        contentLength: res.headers.get('content-length'),
        bodyLength: bytes.length,
        head: [...bytes.slice(0, 3)].map((b) => b.toString(16).padStart(2, '0')).join(''),
      };
    };
    const manual = { encodeResponseBody: 'manual' };
    const request = new Request(`${u.http}/gzip`, manual);
    return {
      gzip: await attempt(async () => describe(await fetch(`${u.http}/gzip`, manual))),
      br: await attempt(async () => describe(await fetch(`${u.http}/br`, manual))),
      corrupt: await attempt(async () => describe(await fetch(`${u.http}/gzip-corrupt`, manual))),
      automatic: await attempt(async () => describe(await fetch(`${u.http}/gzip`, { encodeResponseBody: 'automatic' }))),
      requestAlone: await attempt(async () => describe(await fetch(request.clone()))),
      requestAsInit: await attempt(async () => describe(await fetch(`${u.http}/gzip`, request))),
      redirected: await attempt(async () => describe(await fetch(`${u.http}/redirect/302?to=${encodeURIComponent('/gzip')}`, manual))),
      bad: await attempt(async () => describe(await fetch(`${u.http}/gzip`, { encodeResponseBody: 'gzip' }))),
    };
  },

  // gzip asked for by content-encoding but the body is not gzip.
  async gzip_corrupt(u) {
    const res = await fetch(`${u.http}/gzip-corrupt`);
    return {
      status: res.status,
      contentEncoding: res.headers.get('content-encoding'),
      body: await attempt(() => res.text()),
    };
  },

  async large_body(u) {
    const res = await fetch(`${u.http}/large`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    let sum = 0;
    let patternOk = true;
    for (let i = 0; i < bytes.length; i++) {
      sum = (sum + bytes[i]) % 1000000007;
      if (bytes[i] !== i % 251) patternOk = false;
    }
    return { contentLength: res.headers.get('content-length'), length: bytes.length, sum, patternOk };
  },

  // ---------------------------------------------------------------------------------------------
  // Cancellation

  async abort_before(u) {
    const c = new AbortController();
    c.abort();
    const custom = new AbortController();
    custom.abort(new RangeError('custom reason'));
    return {
      default: await attempt(() => fetch(`${u.http}/text`, { signal: c.signal })),
      reason: describeError(c.signal.reason),
      aborted: c.signal.aborted,
      custom: await attempt(() => fetch(`${u.http}/text`, { signal: custom.signal })),
      customIsReason: await fetch(`${u.http}/text`, { signal: custom.signal }).then(() => false, (e) => e === custom.signal.reason),
      string: await attempt(() => {
        const s = new AbortController();
        s.abort('just a string');
        return fetch(`${u.http}/text`, { signal: s.signal });
      }),
    };
  },

  async abort_during(u) {
    const c = new AbortController();
    const started = Date.now();
    setTimeout(() => c.abort(), 100);
    const r = await attempt(() => fetch(`${u.http}/slow?ms=3000`, { signal: c.signal }));
    const took = Date.now() - started;
    if (!c.signal.aborted) await new Promise((resolve) => { setTimeout(resolve, 200); });
    return { result: r, reason: describeError(c.signal.reason), tookUnder1s: took < 1000 };
  },

  // Headers arrive at once, the rest of the body after 3 s; the abort comes while reading it.
  async post_stream_fails(u) {
    const enc = new TextEncoder();
    let sent = false;
    const body = new ReadableStream({
      async pull(c) {
        if (!sent) {
          sent = true;
          c.enqueue(enc.encode('chunk one, '));
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        c.error(new RangeError('the producer failed'));
      },
    });
    return attempt(() => fetch(`${u.http}/echo`, { method: 'POST', body, duplex: 'half' }).then((r) => r.status));
  },

  async post_stream_redirect(u) {
    const make = () => ReadableStream.from([new TextEncoder().encode('payload')]);
    const see = (status) => attempt(async () => {
      const res = await fetch(`${u.http}/redirect/${status}?to=/echo`, { method: 'POST', body: make(), duplex: 'half' });
      const echo = await res.json();
      return { status: res.status, method: echo.method, body: echo.body };
    });
    return { 303: await see(303), 307: await see(307), 308: await see(308), 301: await see(301) };
  },

  async body_first_chunk(u) {
    const started = Date.now();
    const res = await fetch(`${u.http}/slowbody?ms=1500`);
    const reader = res.body.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const beforeRest = Date.now() - started < 1200;
    await reader.cancel();
    return { status: res.status, first, beforeRest };
  },

  async body_lost_midway(u) {
    const res = await fetch(`${u.http}/lost-midway`);
    return { status: res.status, body: await attempt(() => res.text()) };
  },

  async body_cancel(u) {
    const res = await fetch(`${u.http}/slowbody?ms=3000`);
    const started = Date.now();
    await res.body.cancel();
    return { status: res.status, bodyUsed: res.bodyUsed, tookUnder1s: Date.now() - started < 1000 };
  },

  async eventsource_stream(u) {
    const source = new EventSource(`${u.http}/sse`);
    const seen = [];
    const states = [source.readyState];
    await new Promise((resolve) => {
      source.onopen = (e) => seen.push(['open', e.constructor.name, source.readyState]);
      const onEvent = (e) => {
        seen.push([e.type, e.data, e.lastEventId, e.origin === u.http, e.constructor.name]);
        if (e.type === 'update') {
          source.close();
          resolve();
        }
      };
      source.onmessage = onEvent;
      source.addEventListener('update', onEvent);
      source.onerror = (e) => seen.push(['error', e.constructor.name, describeError(e.error), source.readyState]);
    });
    states.push(source.readyState);
    return { seen, states, url: source.url === `${u.http}/sse`, withCredentials: source.withCredentials };
  },

  async eventsource_errors(u) {
    const closeWith = (url) => new Promise((resolve) => {
      const source = new EventSource(url);
      source.onerror = (e) => resolve({ error: describeError(e.error), readyState: source.readyState });
    });
    const ctor = (...args) => attempt(() => { new EventSource(...args); return 'constructed'; });
    return {
      missing: await closeWith(`${u.http}/status/404`),
      plain: await closeWith(`${u.http}/text`),
      invalidUrl: await ctor('not a url'),
      credentials: await ctor(`${u.http}/sse`, { withCredentials: true }),
      constants: [EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED, EventSource.prototype.OPEN],
    };
  },

  async eventsource_from() {
    const run = (chunks) => new Promise((resolve) => {
      const queue = chunks.map((c) => (typeof c === 'string' ? new TextEncoder().encode(c) : new Uint8Array(c)));
      const source = EventSource.from(new ReadableStream({
        pull(c) {
          if (queue.length === 0) c.close();
          else c.enqueue(queue.shift());
        },
      }));
      const seen = [['state', source.readyState, source.url]];
      source.onopen = () => seen.push(['open']);
      source.onmessage = (e) => seen.push([e.type, e.data, e.lastEventId, e.origin ?? 'none']);
      source.addEventListener('ping', (e) => seen.push([e.type, e.data, e.lastEventId]));
      source.onerror = (e) => {
        seen.push(['error', describeError(e.error), source.readyState]);
        resolve(seen);
      };
    });
    const locked = new ReadableStream();
    locked.getReader();
    return {
      basic: await run(['data: one\n\n', 'data: two\n', '\n']),
      lineEnds: await run(['data: a\r\rdata: b\r\n\r\ndata: c\n\n', 'data: d\r', '\ndata: e\n\n']),
      fields: await run(['data:first\ndata:  second\ndata\n\n', 'data:\n\n', 'event: ping\ndata: named\n\n',
        ': comment\nunknown: field\n\n', 'retry: 5x\ndata: r\n\n', 'data: partial']),
      ids: await run([[0xef, 0xbb, 0xbf, 105, 100, 58, 32, 55, 10, 100, 97, 116, 97, 58, 32, 97, 10, 10],
        'data: b\n\nid\ndata: c\n\n', 'id: x\u0000y\ndata: d\n\n', [0xef, 0xbb, 0xbf, 100, 97, 116, 97, 58, 32, 101, 10, 10]]),
      locked: await attempt(() => EventSource.from(locked)),
    };
  },

  async abort_during_body(u) {
    const c = new AbortController();
    const res = await fetch(`${u.http}/slowbody?ms=3000`, { signal: c.signal });
    const status = res.status;
    setTimeout(() => c.abort(), 100);
    const started = Date.now();
    const body = await attempt(() => res.text());
    return { status, body, tookUnder1s: Date.now() - started < 1000 };
  },

  async abort_signal_timeout(u) {
    const signal = AbortSignal.timeout(50);
    const started = Date.now();
    const r = await attempt(() => fetch(`${u.http}/slow?ms=3000`, { signal }));
    return { result: r, reason: describeError(signal.reason), tookUnder1s: Date.now() - started < 1000 };
  },

  // ---------------------------------------------------------------------------------------------
  // Invalid requests

  async invalid_url() {
    return {
      notAUrl: await attempt(() => fetch('not a url')),
      relative: await attempt(() => fetch('/relative/path')),
      empty: await attempt(() => fetch('')),
      noHost: await attempt(() => fetch('http://')),
      badPort: await attempt(() => fetch('http://127.0.0.1:99999/')),
    };
  },

  async unsupported_scheme() {
    return {
      ftp: await attempt(() => fetch('ftp://x/')),
      file: await attempt(() => fetch('file:///etc/hostname')),
      data: await attempt(async () => { const r = await fetch('data:text/plain,hi'); return { status: r.status, body: await r.text() }; }),
      ws: await attempt(() => fetch('ws://127.0.0.1:1/')),
      javascript: await attempt(() => fetch('javascript:1')),
    };
  },

  async connection_refused() {
    return attempt(() => fetch('http://127.0.0.1:1/'));
  },

  async get_with_body(u) {
    return {
      get: await attempt(() => fetch(`${u.http}/echo`, { method: 'GET', body: 'x' })),
      head: await attempt(() => fetch(`${u.http}/echo`, { method: 'HEAD', body: 'x' })),
      getEmptyString: await attempt(() => fetch(`${u.http}/echo`, { method: 'GET', body: '' })),
      getNull: await attempt(async () => shortEcho((await echoOf(await fetch(`${u.http}/echo`, { method: 'GET', body: null }))).echo)),
    };
  },

  async odd_methods(u) {
    const out = {};
    for (const m of ['CONNECT', 'TRACE', 'TRACK', 'PATCH', 'patch', 'delete', 'Options', 'FOO', 'PROPFIND', 'bad method', '']) {
      out[m === '' ? '(empty)' : m] = await attempt(async () => {
        const res = await fetch(`${u.http}/echo`, { method: m });
        const e = await echoOf(res);
        return { status: e.status, serverSaw: e.echo?.method ?? null };
      });
    }
    return out;
  },

  async bad_headers(u) {
    return {
      nameWithSpace: await attempt(() => fetch(`${u.http}/echo`, { headers: { 'bad name': 'x' } })),
      valueWithNewline: await attempt(() => fetch(`${u.http}/echo`, { headers: { 'x-a': 'one\ntwo' } })),
      nonLatin1Value: await attempt(async () => {
        const res = await fetch(`${u.http}/echo`, { headers: { 'x-a': 'é€' } });
        const e = (await echoOf(res)).echo;
        return { headers: e.headers.filter(([k]) => k.toLowerCase() === 'x-a'), bytesHex: e.xaHex ?? null };
      }),
      latin1Value: await attempt(async () => {
        const res = await fetch(`${u.http}/echo`, { headers: { 'x-a': 'café' } });
        const e = (await echoOf(res)).echo;
        return { headers: e.headers.filter(([k]) => k.toLowerCase() === 'x-a'), bytesHex: e.xaHex ?? null };
      }),
    };
  },

  // ---------------------------------------------------------------------------------------------
  // TLS

  async https_trusted(u) {
    const res = await fetch(`${u.https}/echo?tls=1`);
    const e = await echoOf(res);
    const h = Object.fromEntries(e.echo.headers.map(([k, v]) => [k.toLowerCase(), v]));
    return { status: e.status, url: e.url, host: h.host, serverUrl: e.echo.url, tls: e.echo.tls };
  },

  async https_localhost(u) {
    const url = u.https.replace('127.0.0.1', 'localhost');
    return attempt(async () => {
      const res = await fetch(`${url}/echo?tls=1`);
      const e = await echoOf(res);
      const h = Object.fromEntries(e.echo.headers.map(([k, v]) => [k.toLowerCase(), v]));
      return { status: e.status, url: e.url, host: h.host, tls: e.echo.tls };
    });
  },

  async https_wrong_name(u) {
    return attempt(() => fetch(`${u.wrong}/text`).then((r) => ({ status: r.status })));
  },

  async https_untrusted(u) {
    return attempt(() => fetch(`${u.untrusted}/text`).then((r) => ({ status: r.status })));
  },

  // Plain HTTP spoken to the HTTPS port.
  async http_to_https_port(u) {
    return attempt(() => fetch(`${u.https.replace('https:', 'http:')}/text`).then((r) => ({ status: r.status })));
  },

  // ---------------------------------------------------------------------------------------------
  // Network restrictions: the same fetches, run by fetch.mjs in a configuration that allows only
  // public addresses (workerd's default; Dorm without --outbound-allow) and in one that allows
  // only 127.0.0.1.

  async private_direct(u) {
    return {
      http: await attempt(() => fetch(`${u.http}/text`).then((r) => ({ status: r.status }))),
      http2: await attempt(() => fetch(`${u.http2}/text`).then((r) => ({ status: r.status }))),
      https: await attempt(() => fetch(`${u.https}/text`).then((r) => ({ status: r.status }))),
      localhost: await attempt(() => fetch(`${u.http.replace('127.0.0.1', 'localhost')}/text`).then((r) => ({ status: r.status }))),
      refusedPort: await attempt(() => fetch('http://127.0.0.1:1/').then((r) => ({ status: r.status }))),
    };
  },

  async private_redirect(u) {
    return {
      toOtherHost: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent(`${u.http2}/text`)}`);
        return { status: res.status, url: res.url, redirected: res.redirected, body: await res.text() };
      }),
      manual: await attempt(async () => {
        const res = await fetch(`${u.http}/redirect/302?to=${encodeURIComponent(`${u.http2}/text`)}`, { redirect: 'manual' });
        return { status: res.status, location: res.headers.get('location') };
      }),
    };
  },
};

export class FetchProbe {
  constructor(state, env) {
    this.state = state;
    this.env = env;
  }

  async fetch(request) {
    const url = new URL(request.url);
    const name = url.pathname.slice(1);
    const scenario = Object.hasOwn(SCENARIOS, name) ? SCENARIOS[name] : null;
    if (!scenario) return Response.json({ error: `no scenario ${name}` }, { status: 404 });
    const u = Object.fromEntries(url.searchParams);
    return Response.json(await attempt(() => scenario(u)));
  }
}
