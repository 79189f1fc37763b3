// Dorm's Web API classes under built-ins user code poisoned: Headers, Request, Response, their
// bodies and clones, a stub's fetch() and the runtime's reading of the Response answer exactly as
// in a clean isolate (workerd's classes are native and unaffected). The prelude's Headers once
// filled its list with push(), so that a setter on Array.prototype[0] made
// `new Response('x', {headers: {...}})` throw; Response.clone() called the stream's own tee(),
// and a stub's fetch() read the request through its replaceable members. FormData (its methods,
// multipart and urlencoded parsing and serialization), MIME type parsing (`blob()`'s type) and
// TextDecoder's streaming, TextEncoderStream and TextDecoderStream called String, RegExp, Map,
// Array and typed-array members or the classes' own methods as user code left them; the
// state's WebSocket methods and event glue took Map, WeakMap, String, Number, Math.floor, Date and
// Promise.resolve as user code left them, and Response's status conversion Number.isFinite.
// whatwg-url (URL, URLSearchParams, the parsing of a Request's URL) with tr46 and
// webidl-conversions ran the built-ins as user code left them; each request's URLs here are new to
// its parser and caches. The libraries and the prelude also named globals (`String(n)`,
// `parseInt`, `isNaN`, `new Set`, `new TypeError`, `Number.isNaN`) as user code left them, and
// serialized a host with `instanceof Array`. A stub's fetch() answer whose body streams was
// registered with FinalizationRegistry.prototype.register as user code left it, and its chunks
// went through web-streams-polyfill's byte controller, which transferred them with the global
// structuredClone (its list filled by push()) and read their byteLength, byteOffset and buffer
// through the typed-array getters. Blob.slice(), File and the byte controller called Math.min,
// Number.isNaN and ArrayBuffer.isView as user code left them on the globals. A stub body whose
// bytes had not all come when read returned a promise from its pull(), which web-streams resolved
// its own promise with, looking up the replaced Promise.prototype.then. Not covered yet: the other
// parts README "Known differences from workerd" lists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';
import { WebSocket } from '../e2e/lib/ws.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const POISONS = ['array-index', 'object-index', 'array-push', 'array-methods', 'array-iterator', 'map-set',
  'string', 'regexp', 'json-reflect', 'function', 'promise-then', 'url-globals', 'finalization', 'statics',
  'typed-arrays', 'streams', 'web-members'];

let server;
before(async () => {
  server = await startServer();
  await server.deploy(path.join(here, 'fixtures', 'poisoned_builtins.js'), { name: 'poisoned-builtins' });
});

after(async () => {
  await server?.stop();
});

async function run(poison) {
  const res = await server.request(`/_do/poisoned-builtins/t/?poison=${poison}`);
  assert.equal(res.status, 200, `${poison}: ${res.text}`);
  assert.equal(res.headers['content-type'], 'application/json', poison);
  assert.equal(res.headers['x-poison'], poison);
  return res.json();
}

test('poisoned built-ins change nothing in Headers, Request, Response, bodies, stub.fetch(), FormData, TextDecoder, URL and URLSearchParams', async () => {
  const clean = await run('none');
  assert.deepEqual(clean, {
    headers: 'b, e|d|null',
    response: '201 b xyz',
    'response-json': '{"a":1}',
    'response-clone': 'abcabc',
    'response-stream-clone': 'stst',
    blob: '4 text/plain stuv tu stuv',
    request: 'qqqq',
    'stub-fetch': '200 1 echo:ping echo:ping',
    'stub-stream': '200 stu',
    'stub-stream-late': '200 stu',
    'form-data': '2 12 x false true f %22q%22.txt text/plain 3 xyz aabfaabf',
    'form-multipart': 'v1 a.txt Text/Plain 10 file\r\nbody',
    'form-urlencoded': '1|A%zz|2 3||\uFFFD',
    'blob-type': 'text/html text/plain',
    file: 'n.bin application/x 4 7 bc',
    'text-decoder': 'a\u20acb a\u{1F600}\uFFFD \u20ac\u00e9 utf-8 utf-16le',
    'text-streams': 'x\u00e9y 150.915.98.80.1415.1115.1113.',
    url: 'https://ex.com:8080 https: ex.com:8080 ex.com 8080 /a/c%41 ?x=1&y=%20&x=3 1 true true true true',
    'url-hosts': 'true true true true true',
    'url-setters': 'true /x%20y/z ?a=b%20c 99 true null true /p',
    'url-search-params': 'a=1&a=%E2%82%AC+x&c=3+4%26&d=%C3%A9 1 2 true 4 a=1;a=\u20ac x;c=3 4&;d=\u00e9;aacdaacd '
      + 'http://h/?y=1&b=2+3 1',
  });
  for (const poison of POISONS) {
    const answer = await run(poison);
    if (poison === 'promise-then') {
      // web-streams-polyfill's TransformStream resolves promises with promises, which looks `then`
      // up on them (README "Known differences from workerd"): only the encoding streams' own code
      // is made safe so far, so that step is left out here.
      delete answer['text-streams'];
      const { 'text-streams': _, ...rest } = clean;
      assert.deepEqual(answer, rest, poison);
      continue;
    }
    assert.deepEqual(answer, clean, poison);
  }
  // And clean again, after the last poison is taken away.
  assert.deepEqual(await run('none'), clean);
  assert.equal(server.exitInfo, null, server.outputTail?.());
});

test('replaced globals change nothing in HTMLRewriter, whose engine is compiled after them', async () => {
  // The engine is a bundle compiled on an isolate's first use of HTMLRewriter: here under the
  // poison, so that it once took the app's globals (and its glue the app's TextEncoder.encode).
  const expected = '<p id=a class="x">one <b>TWO</b>!</p><!-- c -->';
  for (const poison of ['url-globals', 'none']) {
    const res = await server.request(`/_do/poisoned-builtins/html/html?poison=${poison}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, expected, poison);
  }
});

test('poisoned built-ins do not stop hibernatable WebSocket events, tags or auto-responses', async () => {
  // Each step: a new socket accepted under the poison (tags, auto-response, event timeout), whose
  // events (and an earlier socket's) run under it. The runtime once called the handler with the
  // poisoned Function.prototype.call, settled events with Promise.resolve(...).then, read the
  // state's sockets with WeakMap.prototype.get, and took String, Number, Math.floor and Date as
  // user code left them.
  const open = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/_do/poisoned-builtins/t/ws`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return ws;
  };
  const ask = (ws, text) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve('(no answer in 5 s)'), 5000);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(String(data));
    });
    ws.send(text);
  });
  const poison = async (name) => {
    const res = await server.request(`/_do/poisoned-builtins/t/poison?poison=${name}`);
    assert.equal(res.status, 200, `${name}: ${res.text}`);
  };
  const first = await open();
  assert.equal(await ask(first, 'clean'), 'echo:clean');
  assert.equal(await ask(first, 'ping'), 'pong');
  assert.equal(await ask(first, 'info'), 'info:true x,y 1');
  for (const name of ['function', 'map-set', 'promise-then', 'globals']) {
    await poison(name);
    const ws = await open().catch((error) => {
      throw new Error(`${name}: ${error.message} ${(server.outputTail?.() ?? '').slice(-1500)}`);
    });
    assert.equal(await ask(ws, 'ping'), 'pong', name);
    for (const socket of [first, ws]) {
      assert.equal(await ask(socket, 'poisoned'), 'echo:poisoned', name);
      assert.equal(await ask(socket, 'again'), 'echo:again', name);
      assert.equal((await ask(socket, 'info')).slice(0, 14), 'info:true x,y ', name);
    }
    ws.close();
  }
  first.close();
  await poison('none');
  assert.equal((await run('none'))['stub-fetch'], '200 1 echo:ping echo:ping');
  assert.equal(server.exitInfo, null, server.outputTail?.());
});
