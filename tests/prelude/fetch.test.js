'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);
// Runs an async function body in the context and returns its JSON-decoded result.
const runAsync = async (body) => JSON.parse(await rt.run(`(async () => JSON.stringify(await (async () => { ${body} })()))()`));

test('body init types set the right default content-type', async () => {
  const result = await runAsync(`
    const type = (body) => new Response(body).headers.get('content-type');
    return {
      string: type('x'),
      params: type(new URLSearchParams({ a: '1', b: 'x y' })),
      buffer: type(new ArrayBuffer(2)),
      view: type(new Uint8Array(2)),
      dataView: type(new DataView(new ArrayBuffer(2))),
      none: type(null),
      undef: type(undefined),
      other: type(42),
      kept: new Response('x', { headers: { 'Content-Type': 'application/custom' } }).headers.get('content-type'),
      paramsText: await new Response(new URLSearchParams({ a: '1', b: 'x y' })).text(),
      numberText: await new Response(42).text(),
    };
  `);
  assert.deepEqual(result, {
    string: 'text/plain;charset=UTF-8',
    params: 'application/x-www-form-urlencoded;charset=UTF-8',
    buffer: null,
    view: null,
    dataView: null,
    none: null,
    undef: null,
    other: 'text/plain;charset=UTF-8',
    kept: 'application/custom',
    paramsText: 'a=1&b=x+y',
    numberText: '42',
  });
});

test('buffer bodies are copied when the body is created', async () => {
  const result = await runAsync(`
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const whole = new Response(bytes);
    const part = new Response(bytes.subarray(1, 3));
    bytes[1] = 99;
    return [[...new Uint8Array(await whole.arrayBuffer())], [...await part.bytes()]];
  `);
  assert.deepEqual(result, [[1, 2, 3, 4], [2, 3]]);
});

test('a body can be read once; the second read rejects with a TypeError', async () => {
  const result = await runAsync(`
    const r = new Response('hello');
    const before = r.bodyUsed;
    const text = await r.text();
    const after = r.bodyUsed;
    let error = null;
    try { await r.text(); } catch (e) { error = e instanceof TypeError; }
    let arrayError = null;
    try { await r.arrayBuffer(); } catch (e) { arrayError = e.name; }
    return { before, text, after, error, arrayError };
  `);
  assert.deepEqual(result, { before: false, text: 'hello', after: true, error: true, arrayError: 'TypeError' });
});

test('a null body reads as empty, any number of times, and is never used', async () => {
  const result = await runAsync(`
    const r = new Response(null);
    return [r.body, await r.text(), await r.text(), (await r.arrayBuffer()).byteLength, r.bodyUsed];
  `);
  assert.deepEqual(result, [null, '', '', 0, false]);
});

test('text() and json() decode UTF-8 and drop a leading BOM', async () => {
  const result = await runAsync(`
    const bom = [0xEF, 0xBB, 0xBF];
    const text = await new Response(new Uint8Array([...bom, 0x68, 0xC3, 0xA9, 0xFF])).text();
    const json = await new Response(new Uint8Array([...bom, ...new TextEncoder().encode('{"a":[1]}')])).json();
    let syntax = null;
    try { await new Response('{nope').json(); } catch (e) { syntax = e.name; }
    return { text, json, syntax };
  `);
  assert.deepEqual(result, { text: 'h\u00e9\uFFFD', json: { a: [1] }, syntax: 'SyntaxError' });
});

test('Response.json sets application/json and honours init', async () => {
  const result = await runAsync(`
    const r = Response.json({ ok: true, n: [1, 2] }, { status: 201, statusText: 'Made', headers: { 'X-Id': '7' } });
    const custom = Response.json([], { headers: { 'content-type': 'application/vnd.api+json' } });
    return {
      status: r.status, statusText: r.statusText, type: r.headers.get('content-type'),
      id: r.headers.get('x-id'), body: await r.text(), custom: custom.headers.get('content-type'),
    };
  `);
  assert.deepEqual(result, {
    status: 201, statusText: 'Made', type: 'application/json', id: '7', body: '{"ok":true,"n":[1,2]}',
    custom: 'application/vnd.api+json',
  });
  assert.throws(() => run(`Response.json(undefined)`), { name: 'TypeError' });
  assert.throws(() => run(`Response.json(() => 1)`), { name: 'TypeError' });
  assert.throws(() => run(`Response.json()`), { name: 'TypeError' });
  assert.throws(() => run(`Response.json({ n: 1n })`), { name: 'TypeError' });
  assert.throws(() => run(`Response.json({}, { status: 204 })`), { name: 'TypeError' });
});

test('status must be 200-599, or 101 with a webSocket', () => {
  for (const status of [0, 100, 101, 199, 600, 999, 65536 + 700]) {
    assert.throws(() => run(`new Response(null, { status: ${status} })`), { name: 'RangeError' }, `status ${status}`);
  }
  assert.equal(run(`new Response(null, { status: 65536 + 200 }).status`), 200);
  assert.equal(run(`new Response(null, { status: '404' }).status`), 404);
  assert.equal(run(`new Response(null, { status: 599 }).ok`), false);
  assert.equal(run(`new Response(null, { status: 299 }).ok`), true);
  const ws = run(`(() => {
    const ws = new WebSocketPair()[0];
    const r = new Response(null, { status: 101, webSocket: ws });
    return [r.status, r.webSocket === ws, new Response('x').webSocket];
  })()`);
  assert.deepEqual([...ws], [101, true, null]);
  assert.throws(() => run(`new Response('x', { status: 101, webSocket: new WebSocketPair()[0] })`), { name: 'TypeError' });
  // As workerd: only a WebSocket, and only with status 101.
  assert.throws(() => run(`new Response(null, { status: 101, webSocket: { kind: 'socket' } })`), {
    name: 'TypeError',
    message: "Incorrect type for the 'webSocket' field on 'InitializerDict': the provided value is not of type 'WebSocket'.",
  });
  assert.throws(() => run(`new Response(null, { status: 200, webSocket: new WebSocketPair()[0] })`), {
    name: 'RangeError',
    message: 'Responses with a WebSocket must have status code 101.',
  });
  for (const status of [204, 205, 304]) {
    assert.throws(() => run(`new Response('body', { status: ${status} })`), { name: 'TypeError' });
    assert.equal(run(`new Response(null, { status: ${status} }).status`), status);
  }
});

// Expected values recorded from workerd (tests/diff/webapis.mjs, response_status_text).
test('statusText, defaults and init validation', () => {
  const result = JSON.parse(run(`(() => {
    const r = new Response();
    return JSON.stringify({ status: r.status, statusText: r.statusText, ok: r.ok, redirected: r.redirected,
      url: r.url, type: r.type, body: r.body, headers: [...r.headers] });
  })()`));
  assert.deepEqual(result, {
    status: 200, statusText: 'OK', ok: true, redirected: false, url: '', type: 'default', body: null, headers: [],
  });
  assert.equal(run(`new Response(null, { status: 404 }).statusText`), 'Not Found');
  assert.equal(run(`new Response(null, { status: 299 }).statusText`), 'Successful');
  assert.equal(run(`new Response(null, { status: 404, statusText: '' }).statusText`), '');
  assert.equal(run(`new Response(null, { statusText: 'All Good \\u00e9' }).statusText`), 'All Good \u00e9');
  assert.throws(() => run(`new Response(null, { statusText: 'bad\\nline' })`), { name: 'TypeError', message: 'Invalid statusText' });
  assert.throws(() => run(`new Response(null, { statusText: 'tab\\there' })`), { name: 'TypeError', message: 'Invalid statusText' });
  assert.equal(run(`new Response(null, { statusText: '\\u0100' }).statusText`), '\u0100');
  assert.throws(() => run(`new Response(null, 5)`), { name: 'TypeError' });
  assert.equal(run(`Response.length`), 0);
  // As workerd (tests/diff/webapis.mjs, prototypes).
  assert.equal(run(`Request.length`), 0);
});

test('Response.redirect and Response.error', () => {
  const redirect = JSON.parse(run(`(() => {
    const r = Response.redirect('https://example.com/a b');
    const p = Response.redirect('https://example.com/', 301);
    return JSON.stringify([r.status, r.headers.get('location'), p.status, r.body]);
  })()`));
  assert.deepEqual(redirect, [302, 'https://example.com/a%20b', 301, null]);
  assert.throws(() => run(`Response.redirect('https://example.com/', 200)`), { name: 'RangeError' });
  assert.throws(() => run(`Response.redirect('/relative')`), { name: 'TypeError' });
  const error = JSON.parse(run(`(() => {
    const e = Response.error();
    return JSON.stringify([e.type, e.status, e.statusText, e.ok, e.body]);
  })()`));
  assert.deepEqual(error, ['error', 0, '', false, null]);
});

test('clone() gives independent bodies and fails once the body is used', async () => {
  const result = await runAsync(`
    const r = new Response('twice', { status: 202, headers: { a: '1' } });
    const c = r.clone();
    c.headers.set('a', '2');
    const texts = [await r.text(), await c.text()];
    let error = null;
    try { r.clone(); } catch (e) { error = e.name; }
    const req = new Request('https://example.com/', { method: 'POST', body: 'payload' });
    const reqClone = req.clone();
    return { texts, status: c.status, a: [r.headers.get('a'), c.headers.get('a')], error,
      reqTexts: [await req.text(), await reqClone.text()], method: reqClone.method };
  `);
  assert.deepEqual(result, {
    texts: ['twice', 'twice'], status: 202, a: ['1', '2'], error: 'TypeError',
    reqTexts: ['payload', 'payload'], method: 'POST',
  });
});

// As workerd (tests/diff/fetch.mjs, odd_methods): the methods its HTTP client knows, in any case,
// upper-cased; anything else is refused.
test('Request: method normalisation and unknown methods', () => {
  assert.equal(run(`new Request('https://a.example/', { method: 'post', body: 'x' }).method`), 'POST');
  assert.equal(run(`new Request('https://a.example/', { method: 'dElEtE' }).method`), 'DELETE');
  assert.equal(run(`new Request('https://a.example/', { method: 'patch' }).method`), 'PATCH');
  assert.equal(run(`new Request('https://a.example/', { method: 'PROPFIND' }).method`), 'PROPFIND');
  assert.equal(run(`new Request('https://a.example/', { method: 'trace' }).method`), 'TRACE');
  assert.equal(run(`new Request('https://a.example/').method`), 'GET');
  for (const method of ['CONNECT', 'Track', 'FOO', 'bad method', '', 'GET\\n']) {
    assert.throws(() => run(`new Request('https://a.example/', { method: '${method}' })`),
      { name: 'TypeError', message: `Invalid HTTP method string: ${method.replace('\\n', '\n')}` }, method);
  }
});

test('Request: GET and HEAD cannot have a body', () => {
  assert.throws(() => run(`new Request('https://a.example/', { body: 'x' })`), { name: 'TypeError' });
  assert.throws(() => run(`new Request('https://a.example/', { method: 'HEAD', body: 'x' })`), { name: 'TypeError' });
  assert.equal(run(`new Request('https://a.example/', { body: null }).body`), null);
  const post = `new Request('https://a.example/', { method: 'POST', body: 'x' })`;
  assert.throws(() => run(`new Request(${post}, { method: 'GET' })`), { name: 'TypeError' });
});

test('Request: the URL must be absolute and is serialised', () => {
  assert.equal(run(`new Request('HTTPS://Example.COM:443/a/../b?q#h').url`), 'https://example.com/b?q#h');
  assert.equal(run(`new Request(new URL('https://example.com/x')).url`), 'https://example.com/x');
  assert.throws(() => run(`new Request('/relative')`), { name: 'TypeError' });
  assert.throws(() => run(`new Request('not a url')`), { name: 'TypeError' });
  // As workerd: a URL with credentials is taken as it is.
  assert.equal(run(`new Request('https://user:pass@example.com/').url`), 'https://user:pass@example.com/');
  assert.throws(() => run(`new Request()`), { name: 'TypeError' });
});

test('Request: other members', async () => {
  const result = await runAsync(`
    const controller = new AbortController();
    const r = new Request('https://a.example/p', {
      method: 'PUT', body: new Uint8Array([104, 105]), headers: [['X-One', '1']], signal: controller.signal,
      redirect: 'manual',
    });
    const before = r.signal.aborted;
    controller.abort('why');
    return {
      cf: r.cf === undefined, redirect: r.redirect, signalAborted: [before, r.signal.aborted, r.signal.reason],
      defaultRedirect: new Request('https://a.example/').redirect, header: r.headers.get('x-one'),
      contentType: r.headers.get('content-type'), text: await r.text(), tag: Object.prototype.toString.call(r),
      signalType: r.signal instanceof AbortSignal,
    };
  `);
  assert.deepEqual(result, {
    cf: true, redirect: 'manual', signalAborted: [false, true, 'why'], defaultRedirect: 'follow', header: '1',
    contentType: null, text: 'hi', tag: '[object Request]', signalType: true,
  });
  assert.throws(() => run(`new Request('https://a.example/', { redirect: 'sideways' })`), { name: 'TypeError' });
  assert.throws(() => run(`new Request('https://a.example/', { signal: {} })`), { name: 'TypeError' });
});

test('Request from a Request takes its body over', async () => {
  const result = await runAsync(`
    const original = new Request('https://a.example/', { method: 'POST', body: 'data', headers: { a: '1' } });
    const copy = new Request(original, { headers: { b: '2' } });
    const usedAfterCopy = original.bodyUsed;
    let again = null;
    try { new Request(original); } catch (e) { again = e.name; }
    return { usedAfterCopy, again, text: await copy.text(), method: copy.method, url: copy.url,
      headers: [...copy.headers] };
  `);
  assert.deepEqual(result, {
    usedAfterCopy: true, again: 'TypeError', text: 'data', method: 'POST', url: 'https://a.example/',
    headers: [['b', '2']],
  });
});

test('body streams: a reader yields the body, and a body can be passed on', async () => {
  const result = await runAsync(`
    const r = new Response('abc');
    const reader = r.body.getReader();
    const lockedText = await r.text().then(() => 'read', (e) => e.name);
    const first = await reader.read();
    const second = await reader.read();
    reader.releaseLock();

    const req = new Request('https://a.example/', { method: 'POST', body: 'forwarded' });
    // The new response shares the request's stream: whichever reads first uses both.
    const forwarded = new Response(req.body, { status: 201 });
    const forwardedText = await forwarded.text();
    const originalRead = await req.text().then(() => 'read', (e) => e.name);

    const chunks = [];
    for await (const chunk of new Response('iter').body) chunks.push(new TextDecoder().decode(chunk));
    return { lockedText, first: [...first.value], firstDone: first.done, secondDone: second.done, used: r.bodyUsed,
      forwarded: forwardedText, originalRead, chunks, sameStream: r.body === r.body };
  `);
  assert.deepEqual(result, {
    lockedText: 'TypeError', first: [97, 98, 99], firstDone: false, secondDone: true, used: true,
    forwarded: 'forwarded', originalRead: 'TypeError', chunks: ['iter'], sameStream: true,
  });
});

test('body members live on Body.prototype and throw on a wrong receiver, as workerd', async () => {
  const result = await runAsync(`
    const Body = Object.getPrototypeOf(Request.prototype).constructor;
    const errorOf = (f) => { try { f(); return null; } catch (e) { return e.message; } };
    return [Body === globalThis.Body, Object.getPrototypeOf(Response.prototype) === Body.prototype,
      Object.getOwnPropertyNames(Body.prototype).sort(), Object.prototype.toString.call(Body.prototype),
      new Response('x') instanceof Body, errorOf(() => new Body()),
      errorOf(() => Response.prototype.text.call({})), errorOf(() => Body.prototype.text.call(Request.prototype)),
      await new Request('https://a.example/', { method: 'POST', body: 'hi' }).text()];
  `);
  const illegal = 'Illegal invocation: function called with incorrect `this` reference. '
    + 'See https://developers.cloudflare.com/workers/observability/errors/#illegal-invocation-errors for details.';
  assert.deepEqual(result, [true, true,
    ['arrayBuffer', 'blob', 'body', 'bodyUsed', 'bytes', 'constructor', 'formData', 'json', 'text'],
    '[object Body]', true, 'Illegal constructor', illegal, illegal, 'hi']);
});

test('fetch(): a stream request body is written as it is read, of unknown length; a failing one rejects with its error', async () => {
  rt.fetches.length = 0;
  const result = await runAsync(`
    const enc = new TextEncoder();
    const body = new ReadableStream({
      start(c) { c.enqueue(enc.encode('str')); },
      async pull(c) { c.enqueue(enc.encode('eamed')); c.close(); },
    });
    const response = await fetch('https://a.example/upload', { method: 'POST', body });
    const isStream = response.body instanceof ReadableStream;
    const chunks = [];
    for await (const chunk of response.body) chunks.push(new TextDecoder().decode(chunk));
    const used = await fetch('https://a.example/', { method: 'POST', body })
      .then(() => 'ok', (e) => e.constructor.name + ': ' + e.message);
    const broken = await fetch('https://a.example/', { method: 'POST', body: new ReadableStream({ start(c) { c.error(new RangeError('no')); } }) })
      .then(() => 'ok', (e) => e.constructor.name + ': ' + e.message);
    return { isStream, chunks, used, bodyUsed: response.bodyUsed, broken };
  `);
  assert.deepEqual(result, {
    isStream: true,
    chunks: ['streamed'],
    used: 'TypeError: This ReadableStream is disturbed (has already been read from), and cannot be used as a body.',
    bodyUsed: true,
    broken: 'RangeError: no',
  });
  assert.equal(rt.fetches.length, 2);
  assert.equal(rt.fetches[0].body.toString(), 'streamed');
  assert.equal(rt.fetches[0].streamedLength, -1);
  assert.equal(rt.fetches[1].streamedLength, -1);
});
