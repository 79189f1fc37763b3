// The shapes and error texts of the Web platform globals: every scenario of
// fixtures/webapis_probe.js answers what workerd answered for the same probe (recorded in
// fixtures/webapis_workerd.json by `node tests/diff/webapis.mjs --workerd-only`). The scenarios
// listed in tests/diff/known-differences-webapis.json are compared without the parts that differ,
// which README "Known differences from workerd" lists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, REPO_ROOT } from './lib/dorm.mjs';

const workerd = JSON.parse(fs.readFileSync(fixture('webapis_workerd.json'), 'utf8'));
const known = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tests', 'diff', 'known-differences-webapis.json'), 'utf8'));

// The members of the known scenarios that differ from workerd, left out of the comparison.
const differing = {
  // One compatibility flag on in Dorm, off in workerd at the date it runs at (checked below).
  cloudflare_global: ['flagsOn'],
};

// Of each stream shape, what is compared: all but the own non-enumerable properties (the
// library's state, hidden from Object.keys(), JSON, for...in and spreading; a known difference)
// and their descriptors.
const streamCompared = ['keys', 'json', 'forIn', 'tag', 'string', 'attributes'];

function without(value, names) {
  const copy = { ...value };
  for (const n of names) delete copy[n];
  return copy;
}

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('webapis_probe.js'), { name: 'webapis-probe' });
});

after(async () => {
  await server?.stop();
});

const answer = (name) => server.json(`/_do/webapis-probe/${name}/${name}`);

for (const name of Object.keys(workerd)) {
  if (Object.hasOwn(known, name)) continue;
  test(`${name}: as workerd`, async () => {
    assert.deepEqual(await answer(name), workerd[name]);
  });
}

for (const [name, names] of Object.entries(differing)) {
  test(`${name}: as workerd but for the known differences`, async () => {
    assert.ok(Object.hasOwn(known, name), `${name} is listed in known-differences-webapis.json`);
    const got = await answer(name);
    for (const n of names) assert.ok(Object.hasOwn(workerd[name], n), `${name}.${n} is recorded`);
    assert.deepEqual(without(got, names), without(workerd[name], names));
  });
}

test('Cloudflare.compatibilityFlags: workerd\'s flags, with unhandled_rejection_after_microtask_checkpoint on', async () => {
  const got = await answer('cloudflare_global');
  const want = workerd.cloudflare_global;
  assert.equal(want.flagsOn.includes('unhandled_rejection_after_microtask_checkpoint'), false);
  assert.deepEqual(got.flagsOn.filter((f) => f !== 'unhandled_rejection_after_microtask_checkpoint'), want.flagsOn);
  assert.ok(got.flagsOn.includes('unhandled_rejection_after_microtask_checkpoint'));
  assert.ok(!got.flagsOn.includes('nodejs_compat'));
});

test('stream_shapes: as workerd but for the hidden state\'s own property names', async () => {
  const got = await answer('stream_shapes');
  const want = workerd.stream_shapes;
  assert.deepEqual(got.errors, want.errors);
  for (const kind of Object.keys(want)) {
    if (kind === 'errors') continue;
    for (const part of streamCompared) assert.deepEqual(got[kind][part], want[kind][part], `${kind}.${part}`);
  }
});

// The values fixed to match workerd, stated outright (they are also in the recorded answers).
test('Response statusText defaults to the reason phrase, as workerd', async () => {
  const got = (await answer('response_status_text'));
  assert.equal(got.status404.value.statusText, 'Not Found');
  assert.equal(got.plain.value.statusText, 'OK');
  assert.equal(got.status299.value.statusText, 'Successful');
  assert.equal(got.json.value.statusText, "I'm a teapot");
  assert.equal(got.statusTextEmpty.value.statusText, '');
  assert.equal(got.error.value.statusText, '');
});

test("Request refuses redirect: 'error' at construction, as workerd", async () => {
  const got = await answer('request_redirect');
  const refused = {
    name: 'TypeError',
    message: 'Invalid redirect value, must be one of "follow" or "manual" ("error" won\'t be implemented since it does not make sense at the edge; use "manual" and check the response status code).',
    class: 'TypeError',
  };
  assert.deepEqual(got.error, { threw: refused });
  assert.deepEqual(got.bogus, { threw: refused });
  assert.equal(got.manual.value.redirect, 'manual');
});

test('WebSocket constants (READY_STATE_* too) and WebSocketPair iteration, as workerd', async () => {
  const got = await answer('prototypes');
  assert.deepEqual(got.WebSocket.statics, workerd.prototypes.WebSocket.statics);
  assert.equal(got.WebSocket.length, 0);
  assert.equal(got.WebSocketPair.iterator, 'function');
});

test('DOMException, MessageEvent and CloseEvent own properties, as workerd', async () => {
  const dom = await answer('dom_exception_shapes');
  assert.deepEqual(dom.plain.keys, ['code', 'name', 'message', 'stack']);
  assert.equal(dom.plain.json.value, '{"code":20,"name":"AbortError","message":"boom","stack":"<stack>"}');
  assert.deepEqual(dom.abortReason.value.keys, ['code', 'name', 'message', 'stack', 'retryable']);
  const events = await answer('event_shapes');
  assert.deepEqual(events.MessageEvent.keys, ['ports', 'source', 'lastEventId', 'origin', 'data']);
  assert.equal(events.CloseEvent.json.value, '{"wasClean":true,"reason":"bye","code":1000}');
  assert.deepEqual(events.CloseEvent.attributes.code, { where: { on: 'own', kind: 'data', enumerable: true }, hasOwn: true });
  assert.deepEqual(events.Event.keys, []);
});

test("Request takes URL credentials and workerd's cache modes; dictionary read in workerd's order", async () => {
  const errors = await answer('request_errors');
  assert.deepEqual(errors.userinfo, { value: 'https://u:p@example.com/' });
  assert.deepEqual(errors.cacheNoStore, { value: 'no-store' });
  const got = await answer('request_cache_body');
  const unsupported = (mode) => ({ threw: { name: 'TypeError', message: `Unsupported cache mode: ${mode}`, class: 'TypeError' } });
  assert.deepEqual(got.cacheReload, unsupported('reload'));
  assert.deepEqual(got.cacheBeforeUrl, unsupported('bad'));
  assert.deepEqual(got.cacheBeforeMethod, unsupported('bad'));
  assert.deepEqual([got.cacheInherit, got.cacheClone, got.cacheCloned],
    [{ value: 'no-cache' }, { value: 'no-cache' }, { value: 'no-store' }]);
  assert.deepEqual(got.order, ['method', 'headers', 'body', 'redirect', 'fetcher', 'cf', 'cache',
    'integrity', 'signal', 'encodeResponseBody']);
});

test('Headers takes an empty name; Body is the prototype of Request and Response, as workerd', async () => {
  const headers = await answer('headers_errors');
  assert.deepEqual(headers.appendBad, { value: 'undefined' });
  const got = await answer('request_cache_body');
  assert.deepEqual(got.emptyHeader, { value: [[['', 'x, y']], 'x, y', true] });
  assert.deepEqual(got.body.proto, ['arrayBuffer', 'blob', 'body', 'bodyUsed', 'bytes', 'constructor',
    'formData', 'json', 'text']);
  assert.equal(got.body.shared, true);
  assert.equal(got.body.wrongThis.threw.message.startsWith('Illegal invocation'), true);
  const protos = await answer('prototypes');
  assert.equal(protos.Request.parent, 'Body');
  assert.equal(protos.Response.parent, 'Body');
  assert.ok(!protos.Request.proto.includes('text'));
});

test("argument errors of the globals and EventTarget take workerd's texts", async () => {
  const misc = await answer('misc_errors');
  assert.equal(misc.atobNoArgs.threw.message,
    "Failed to execute 'atob' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'string'.");
  assert.equal(misc.addListenerBad.threw.message,
    "Failed to execute 'addEventListener' on 'EventTarget': parameter 2 is not of type 'function or HandlerObject'.");
  assert.deepEqual(misc.abortTimeoutBad, { value: {} });
  const got = (await answer('request_cache_body')).errors;
  assert.equal(got.addListenerCapture.threw.message, 'addEventListener(): useCapture must be false.');
  assert.equal(got.anyBadElement.threw.message,
    "Incorrect type for array element 1: the provided value is not of type 'AbortSignal'.");
});

test('a header with an empty name stays out of the response sent', async () => {
  await server.deploy(fixture('empty_header_name.js'), { name: 'empty-header' });
  const res = await server.request('/_do/empty-header/x');
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-named'], 'yes');
  assert.ok(!Object.values(res.headers).includes('nameless'), JSON.stringify(res.headers));
  assert.equal(res.text, 'ok');
});
