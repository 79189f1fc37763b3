'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const vm = require('node:vm');
const { buildBundle, createRuntime } = require('./harness.js');

test('__dormNative is captured and removed; internals are exported', () => {
  const rt = createRuntime();
  assert.equal(rt.run(`typeof __dormNative`), 'undefined');
  assert.equal('__dormNative' in rt.context, false);
  for (const name of ['makeDOMException', 'newRequest', 'responseParts', 'isResponse']) {
    assert.equal(typeof rt.exported.default[name], 'function', name);
    assert.equal(rt.exported[name], rt.exported.default[name], name);
  }
});

test('the bundle refuses to load without __dormNative', () => {
  const source = buildBundle();
  assert.throws(() => vm.runInContext(source, vm.createContext({})), /__dormNative is missing/);
});

test('built without --global-name, internals are still reachable and deletable', () => {
  // Loading makes instances of refused Web API classes (TextEncoder, crypto...): host objects;
  // and marks the interfaces' read-only attributes.
  const context = vm.createContext({
    __dormNative: {
      newHostObject: (prototype) => Object.create(prototype),
      copyHostObject: (exemplar) => Object.create(Object.getPrototypeOf(exemplar)),
      markReadOnly: () => false,
    },
  });
  vm.runInContext(buildBundle({ globalName: false }), context);
  const exported = context.__dormPrelude;
  assert.equal(typeof exported.newRequest, 'function');
  assert.equal(exported.default.newRequest, exported.newRequest);
  assert.equal(delete context.__dormPrelude, true);
});

test('newRequest builds the request the object receives', async () => {
  const rt = createRuntime();
  const body = rt.run(`new TextEncoder().encode('{"a":1}')`);
  const request = rt.internals.newRequest('POST', 'http://localhost/path?q=1',
    ['Content-Type', 'application/json', 'X-Multi', 'a', 'x-multi', 'b'], body);
  rt.context.request = request;
  assert.equal(rt.run(`request instanceof Request`), true);
  assert.equal(request.method, 'POST');
  assert.equal(request.url, 'http://localhost/path?q=1');
  assert.equal(request.headers.get('x-multi'), 'a, b');
  assert.equal(request.headers.get('content-type'), 'application/json');
  assert.deepEqual({ ...(await request.json()) }, { a: 1 });
  assert.equal(request.bodyUsed, true);
  assert.equal(request.cf, undefined);
  const get = rt.internals.newRequest('GET', 'http://localhost/', [], rt.run(`new Uint8Array(0)`));
  assert.equal(get.body, null);
  const empty = rt.internals.newRequest('GET', 'http://localhost/', [], null);
  assert.equal(await empty.text(), '');
});

// responseParts hands the parts to a sink as its arguments; this one returns them as an array.
const partsOf = (rt, response) => {
  const [status, statusText, body, webSocket, ...headers] =
    rt.internals.responseParts(response, (...parts) => parts);
  return [status, statusText, headers, body, webSocket];
};

test('responseParts gives status, flat headers in order, and the whole body', () => {
  const rt = createRuntime();
  const response = rt.run(`(() => {
    const r = new Response('héllo', { status: 418, statusText: 'Teapot', headers: [['X-B', '1'], ['Set-Cookie', 'a=1'], ['x-a', '2'], ['set-cookie', 'b=2']] });
    return r;
  })()`);
  const [status, statusText, headers, body, webSocket] = partsOf(rt, response);
  assert.equal(status, 418);
  assert.equal(statusText, 'Teapot');
  assert.deepEqual([...headers], [
    'x-b', '1', 'set-cookie', 'a=1', 'x-a', '2', 'set-cookie', 'b=2', 'content-type', 'text/plain;charset=UTF-8',
  ]);
  assert.equal(Buffer.from(body).toString('utf8'), 'héllo');
  assert.equal(webSocket, null);
  assert.equal(response.bodyUsed, true);
  assert.throws(() => partsOf(rt, response), { name: 'TypeError' });
  // The sink's result is responseParts' result.
  assert.equal(rt.internals.responseParts(rt.run(`new Response('x')`), () => 'sunk'), 'sunk');
});

test('responseParts: many headers go to the sink as one array, in order', () => {
  const rt = createRuntime();
  const response = rt.run(`(() => {
    const headers = new Headers();
    for (let i = 0; i < 1500; i++) headers.append('x-h' + i, String(i));
    return new Response(null, { headers });
  })()`);
  const parts = rt.internals.responseParts(response, (...args) => args);
  assert.equal(parts.length, 5);
  assert.deepEqual(parts.slice(0, 4), [200, 'OK', null, null]);
  assert.equal(parts[4].length, 3000);
  assert.deepEqual([...parts[4].slice(0, 4)], ['x-h0', '0', 'x-h1', '1']);
  assert.deepEqual([...parts[4].slice(-2)], ['x-h1499', '1499']);
});

test('responseParts: null bodies, WebSocket upgrades and non-responses', () => {
  const rt = createRuntime();
  const ws = rt.run(`globalThis.ws = new WebSocketPair()[0]`);
  const [upgradeStatus, , , upgradeBody, upgradeSocket] =
    partsOf(rt, rt.run(`new Response(null, { status: 101, webSocket: ws })`));
  assert.equal(upgradeStatus, 101);
  assert.equal(upgradeBody, null);
  assert.equal(upgradeSocket, ws);
  const [, , jsonHeaders, jsonBody] = partsOf(rt, rt.run(`Response.json({ ok: true })`));
  assert.equal(Buffer.from(jsonBody).toString(), '{"ok":true}');
  assert.deepEqual([...jsonHeaders], ['content-type', 'application/json']);
  for (const value of [null, undefined, 'text', {}, rt.run(`new Request('https://x/')`)]) {
    assert.throws(() => partsOf(rt, value), { name: 'TypeError' });
    assert.equal(rt.internals.isResponse(value), false);
  }
  assert.equal(rt.internals.isResponse(rt.run(`new Response()`)), true);
  assert.equal(rt.internals.isResponse(rt.run(`Object.create(Response.prototype)`)), false);
});
