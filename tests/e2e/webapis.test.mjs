// Web APIs available to objects: Request, Response, Headers, URL, URLSearchParams,
// TextEncoder/TextDecoder, console, crypto, atob/btoa, structuredClone, timers, queueMicrotask,
// web streams, Blob/File/FormData, URLPattern, scheduler/performance and MessageChannel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, waitFor } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('web_apis.js'));
});

after(async () => {
  await server?.stop();
});

const api = (name, opts) => server.json(`/_do/web-apis/w/${name}`, opts);

test('Request: construction, method/url/headers, text() and json(); incoming request bodies', async () => {
  const r = await api('request', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hello: ['world', 1] }),
  });
  assert.deepEqual(r, {
    built: { method: 'POST', url: 'https://example.com/a/b?x=1', header: 'v', text: 'payload', bodyUsed: true },
    fromJson: { a: 1 },
    incoming: { isRequest: true, method: 'POST', contentType: 'application/json', body: { hello: ['world', 1] } },
  });
  const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
  assert.deepEqual(await api('incoming-bytes', { method: 'PUT', body: bytes }), {
    isArrayBuffer: true,
    bytes: [0, 1, 2, 253, 254, 255],
  });
  assert.deepEqual(await api('incoming-text', { method: 'POST', body: 'héllo ✓' }), { text: 'héllo ✓' });
});

test('Response: status, statusText, headers and body reach the client', async () => {
  const custom = await server.request('/_do/web-apis/w/response-custom');
  assert.equal(custom.status, 201);
  assert.equal(custom.headers['x-custom'], 'yes');
  assert.equal(custom.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(custom.text, 'custom body');

  const json = await server.request('/_do/web-apis/w/response-json');
  assert.equal(json.status, 202);
  assert.match(json.headers['content-type'], /^application\/json/);
  assert.equal(json.headers['x-extra'], '1');
  assert.deepEqual(json.json(), { hello: 'world', n: 1 });

  const binary = await server.request('/_do/web-apis/w/response-binary');
  assert.equal(binary.status, 200);
  assert.deepEqual([...binary.body], Array.from({ length: 256 }, (_, i) => i));

  const notFound = await server.request('/_do/web-apis/w/response-404');
  assert.equal(notFound.status, 404);
  assert.equal(notFound.text, 'not here', "the object's own 404 is passed through unchanged");

  const empty = await server.request('/_do/web-apis/w/response-empty');
  assert.equal(empty.status, 204);
  assert.equal(empty.body.length, 0);
});

test('Response: Response.json, json()/text()/arrayBuffer(), ok, defaults', async () => {
  assert.deepEqual(await api('response-methods'), {
    isResponse: true,
    json: { a: 1 },
    bodyUsed: true,
    text: 'plain text',
    bytes: [1, 2, 3],
    jsonContentType: 'application/json',
    jsonBody: { x: 1 },
    defaultStatus: 200,
    ok: true,
    status: 410,
    notOk: false,
    header: 'b',
    nullBody: true,
  });
});

test('Headers: case-insensitive, append combines, set/delete, sorted iteration', async () => {
  assert.deepEqual(await api('headers'), {
    multi: 'a, b',
    hasContentType: true,
    afterSet: 'c',
    afterDelete: null,
    names: ['a-first', 'x-multi'],
    entries: [
      ['a-first', '1'],
      ['x-multi', 'c'],
    ],
    fromPairs: 'p',
    missing: null,
  });
});

test('URL and URLSearchParams', async () => {
  const r = await api('url');
  assert.deepEqual(r.parts, {
    protocol: 'https:',
    username: 'user',
    password: 'pw',
    hostname: 'example.com',
    port: '8080',
    host: 'example.com:8080',
    pathname: '/p/a/t/h',
    search: '?query=string&a=1',
    hash: '#hash',
    origin: 'https://example.com:8080',
    a: '1',
  });
  assert.equal(r.relative, 'https://e.com/a/x?y=1');
  assert.equal(r.encodedPath, '/%C3%A4%20b');
  assert.equal(r.defaultPortDropped, '');
  assert.equal(r.mutated, 'https://e.com/new?q=a+b%26c');
  assert.equal(r.invalid.threw, true);
  assert.equal(r.invalid.isTypeError, true);
  assert.deepEqual(r.params, {
    getAll: ['1', '3'],
    serialized: 'a=1&b=2&a=3&c=x+y',
    hasB: true,
    afterDelete: [
      ['a', '1'],
      ['a', '3'],
      ['c', 'x y'],
    ],
    fromRecord: 'k=v+w',
  });
});

test('TextEncoder and TextDecoder', async () => {
  const r = await api('text-encoding');
  assert.equal(r.isUint8Array, true);
  assert.deepEqual(r.encoded, [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
  assert.equal(r.decoded, 'é€😀');
  assert.deepEqual(r.lenient, [0x61, 0xfffd, 0x62]);
  assert.equal(r.fatal.threw, true);
  assert.equal(r.fatal.isTypeError, true);
  assert.equal(r.encoding, 'utf-8');
});

test('console.* output appears in the server output, tagged with class and instance id', async () => {
  const marker = `marker-${process.pid}-${Date.now()}`;
  const instance = 'console-inst-7';
  await server.json(`/_do/web-apis/${instance}/console?marker=${marker}`);
  for (const via of ['via-log', 'via-info', 'via-warn', 'via-error']) {
    await server.waitForOutput(new RegExp(`${marker} ${via}`), 10000);
    const line = server.lines().find((l) => l.includes(`${marker} ${via}`));
    assert.ok(line.includes(instance), `the line should name the instance id: ${line}`);
    assert.ok(/WebApis|web-apis/.test(line), `the line should name the class: ${line}`);
  }
  await server.waitForOutput(new RegExp(`${marker} multi 42`), 10000);
});

test('crypto: getRandomValues, randomUUID, subtle.digest SHA-256', async () => {
  const r = await api('crypto');
  assert.equal(r.sameObject, true, 'getRandomValues returns its argument');
  assert.notEqual(r.bytesA, '00'.repeat(32));
  assert.notEqual(r.bytesA, r.bytesB);
  assert.equal(r.wordsIsUint32Array, true);
  assert.equal(r.tooBig.threw, true, 'more than 65536 bytes must be refused');
  assert.equal(r.tooBig.name, 'QuotaExceededError');
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(r.uuids[0], v4);
  assert.match(r.uuids[1], v4);
  assert.notEqual(r.uuids[0], r.uuids[1]);
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  assert.equal(r.sha256, abc);
  assert.equal(r.sha256Object, abc);
});

test('atob and btoa', async () => {
  const r = await api('base64');
  assert.equal(r.encoded, 'aGVsbG8gd29ybGQ=');
  assert.equal(r.decoded, 'hello world');
  assert.equal(r.binary, 'AP+A');
  assert.deepEqual(r.binaryBack, [0, 255, 128]);
  assert.equal(r.nonLatin1.threw, true, 'btoa of a non-Latin-1 string must throw');
  assert.equal(r.nonLatin1.name, 'InvalidCharacterError');
  assert.equal(r.badInput.threw, true, 'atob of invalid base64 must throw');
  assert.equal(r.badInput.name, 'InvalidCharacterError');
});

test('structuredClone', async () => {
  const r = await api('structured-clone');
  assert.deepEqual(
    { ...r, functionError: undefined },
    { distinct: true, dateOk: true, mapOk: true, setOk: true, nestedOk: true, bigOk: true, functionError: undefined },
  );
  assert.equal(r.functionError.threw, true);
  assert.equal(r.functionError.name, 'DataCloneError');
});

test('setTimeout/clearTimeout/setInterval/clearInterval and queueMicrotask', async () => {
  const { events } = await api('timers');
  assert.deepEqual(events.slice(0, 3), ['sync', 'microtask', 'promise'], 'microtasks run right after the synchronous code');
  assert.equal(events[3], 'timeout:0', 'a 0 ms timeout fires before the 15 ms interval');
  assert.ok(events.includes('timeout:xy'), `extra setTimeout arguments are passed: ${events}`);
  assert.deepEqual(
    events.filter((e) => e.startsWith('interval:')),
    ['interval:1', 'interval:2', 'interval:3'],
    'the interval fires until cleared, then never again',
  );
  assert.ok(!events.includes('cancelled-timeout'), 'clearTimeout cancels');
  assert.ok(!events.includes('cancelled-interval'), 'clearInterval cancels');
  assert.equal(events.length, 8);
});

test('a timer set during a request fires after the response, on the same object', async () => {
  assert.deepEqual(await server.json('/_do/web-apis/later/schedule'), { scheduled: true });
  const state = await waitFor(
    async () => {
      const s = await server.json('/_do/web-apis/later/check-scheduled');
      return s.stored === 'yes' ? s : null;
    },
    { timeoutMs: 10000, intervalMs: 100, what: 'the scheduled timer to fire' },
  );
  assert.deepEqual(state, { memory: 'yes', stored: 'yes' });
});

test('streams: a ReadableStream made by the object is the response body', async () => {
  const streamed = await server.request('/_do/web-apis/w/stream-response');
  assert.equal(streamed.status, 201);
  assert.equal(streamed.headers['x-streamed'], 'yes');
  assert.equal(streamed.text, 'chunk1;chunk2;chunk3;');

  const transformed = await server.request('/_do/web-apis/w/stream-transform');
  assert.equal(transformed.status, 200);
  assert.equal(transformed.text, 'ALPHA BETA GAMMA');

  const later = await server.request('/_do/web-apis/w/stream-written-later');
  assert.equal(later.text, 'one\ntwo\nthree\n', 'the response waits for the writer to close');

  // The stream fails after its first chunk: the status and headers are sent already, so the
  // connection breaks without the body's end, as on workerd (tests/e2e/streaming.test.mjs looks
  // at the bytes).
  await assert.rejects(server.request('/_do/web-apis/w/stream-error'));

  // The object still answers afterwards.
  assert.equal((await server.request('/_do/web-apis/w/stream-transform')).text, 'ALPHA BETA GAMMA');
});

test('streams: request.body read with a default and a BYOB reader', async () => {
  const payload = 'x'.repeat(1000) + 'end';
  const r = await api('read-body-reader', { method: 'POST', body: payload });
  assert.deepEqual(r, {
    isStream: true,
    bytes: payload.length,
    text: payload,
    byobFirst: 'xxxx',
    bodyUsed: true,
    readAgain: 'Body has already been used. It can only be used once. Use tee() first if you need to read it twice.',
  });
});

test('streams: a chunk enqueued into a byte stream is transferred, its buffer detached', async () => {
  assert.deepEqual(await api('byte-stream-transfer'), {
    detachedAfterEnqueue: true,
    isUint8Array: true,
    isArrayBuffer: true,
    sameBuffer: false,
    bytes: [1, 2, 3, 250],
    bufferBytes: 4,
  });
});

test('streams: IdentityTransformStream and FixedLengthStream as response bodies', async () => {
  const identity = await server.request('/_do/web-apis/w/identity-stream');
  assert.equal(identity.status, 200);
  assert.equal(identity.text, 'identity');

  const fixed = await server.request('/_do/web-apis/w/identity-stream?fixed=8');
  assert.equal(fixed.status, 200);
  assert.equal(fixed.headers['content-length'], '8');
  assert.equal(fixed.text, 'identity');

  // Fewer bytes than the length promised: the body fails after its Content-Length went out, so
  // the connection breaks.
  await assert.rejects(server.request('/_do/web-apis/w/identity-stream?fixed=20'));
});

test('a multipart upload is read with request.formData(); the file part is a File', async () => {
  // The body is written by Node's own FormData, so Dorm's parser reads another implementation's
  // multipart encoding.
  const form = new FormData();
  form.append('field', 'value ✓');
  form.append('file', new Blob(['file contents\r\nline 2'], { type: 'text/plain' }), 'notes.txt');
  const encoded = new Request('http://localhost/', { method: 'POST', body: form });
  const body = Buffer.from(await encoded.arrayBuffer());
  const r = await api('upload', { method: 'POST', headers: { 'content-type': encoded.headers.get('content-type') }, body });
  assert.deepEqual(r, {
    field: 'value ✓',
    isFile: true,
    name: 'notes.txt',
    size: 21,
    type: 'text/plain',
    text: 'file contents\r\nline 2',
    keys: ['field', 'file'],
  });
  const bad = await server.request('/_do/web-apis/w/upload', {
    method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x',
  });
  assert.equal(bad.status, 500);
  assert.match(bad.text, /No boundary string in Content-Type header\./);
});

test('an application/x-www-form-urlencoded body is read with formData()', async () => {
  const r = await api('urlencoded', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=x+y&a=%E2%9C%93',
  });
  assert.deepEqual(r, [['a', '1'], ['b', 'x y'], ['a', '✓']]);
});

test('a FormData response body is multipart/form-data that another parser reads', async () => {
  const res = await server.request('/_do/web-apis/w/form-body');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^multipart\/form-data; boundary=[0-9a-f]{32}$/);
  const form = await new Response(res.body, { headers: { 'content-type': res.headers['content-type'] } }).formData();
  assert.equal(form.get('greeting'), 'héllo');
  const blob = form.get('blob');
  assert.equal(blob.name, 'b.txt');
  assert.equal(blob.type, 'text/plain');
  assert.equal(await blob.text(), 'blob bytes');
  const file = form.get('file');
  assert.equal(file.name, 'data.bin');
  assert.equal(file.type, 'application/octet-stream');
  assert.deepEqual([...new Uint8Array(await file.arrayBuffer())], [0, 1, 2, 255]);
});

test('Blob: parts, type, slice, text, as a body and from body.blob()', async () => {
  assert.deepEqual(await api('blob'), {
    size: 11,
    type: 'text/plain',
    text: 'hello world',
    sliced: 'world',
    bodyType: null,
    fromBody: [3, 'text/html;charset=utf-8'],
  });
});

test('URLPattern matches and reports groups', async () => {
  assert.deepEqual(await api('url-pattern?path=/books/42/a/b'), {
    test: true,
    groups: { id: '42', rest: 'a/b' },
    string: { b: 'c' },
    ignoreCase: true,
    error: ['TypeError', 'Failed to construct URLPattern'],
  });
  const miss = await api('url-pattern?path=/books/abc');
  assert.equal(miss.test, false);
  assert.equal(miss.groups, null);
});

test('scheduler.wait waits and can be aborted; performance.now() is Date.now()', async () => {
  const r = await api('scheduler');
  assert.equal(r.resolved, true);
  assert.ok(r.waited >= 49 && r.waited < 5000, `waited ${r.waited} ms`);
  assert.deepEqual(r.aborted, ['AbortError', 'The operation was aborted']);
  assert.deepEqual(r.now, ['number', 0, true]);
});

test('MessageChannel delivers structured clones asynchronously and closes both ports', async () => {
  assert.deepEqual(await api('message-channel'), {
    synchronously: 0,
    first: { n: 1, list: [1, 2], when: 0, copy: true },
    second: 'second',
    closed: true,
  });
});
