'use strict';

// Blob and File, checked against workerd's answers to the same calls.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
// Runs an async expression in the prelude's context and returns its JSON-able result, or the
// class and message of what it threw.
const run = async (code) => JSON.parse(await rt.run(`(async () => {
  try { return JSON.stringify(await (async () => ${code})()); }
  catch (e) { return JSON.stringify({ error: e.constructor.name, message: e.message }); }
})()`));

test('parts are joined as UTF-8 bytes, and the type is lowercased', async () => {
  assert.deepEqual(await run(`(async () => {
    const b = new Blob(['ab', new Uint8Array([99]), new Blob(['d']), new Uint16Array([0x6665]).buffer,
      new DataView(new Uint8Array([103]).buffer), 'é'], { type: 'Text/PLAIN;Charset=UTF-8' });
    return [b.size, b.type, await b.text(), Object.prototype.toString.call(b)];
  })()`), [9, 'text/plain;charset=utf-8', 'abcdefgé', '[object Blob]']);
  assert.deepEqual(await run(`[new Blob().size, new Blob([], null).type, new Blob([{ toString() { return 'x'; } }, 12]).size]`), [0, '', 3]);
});

test('a type with control or non-ASCII characters is dropped', async () => {
  assert.deepEqual(await run(`[new Blob([], { type: 'a\\x01b' }).type, new Blob([], { type: 'aé' }).type,
    new Blob([], { type: 'A\\x7fB' }).type, new Blob([], { type: 5 }).type]`), ['', '', 'a\x7fb', '5']);
});

test('slice counts negative positions from the end, clamps, and takes a content type', async () => {
  assert.deepEqual(await run(`(async () => {
    const b = new Blob(['hello world'], { type: 'x/y' });
    return [await b.slice(-5).text(), await b.slice(2, -2).text(), b.slice(0, 3, 'X/Y').type,
      b.slice(1, 2).type, await b.slice(5, 2).text(), b.slice(-100, 100).size, b.slice(1.7, 3.2).size,
      b.slice('a').size, b.slice(undefined, 'x').size, b.slice(null, 3).size,
      b.slice(0, 1, null).type, new Blob().slice(0, 1, 'A/B').type];
  })()`), ['world', 'llo wor', 'x/y', '', '', 11, 2, 11, 0, 3, 'null', 'a/b']);
});

test('text() keeps a BOM and replaces invalid UTF-8; arrayBuffer() and bytes() copy', async () => {
  assert.deepEqual(await run(`(async () => {
    const b = new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 0x41, 0xff])]);
    const ab = await b.arrayBuffer();
    const u8 = await b.bytes();
    u8[0] = 0;
    return [await b.text(), ab.constructor.name, ab.byteLength, u8.constructor.name, Array.from(await b.bytes())];
  })()`), ['\ufeffA\ufffd', 'ArrayBuffer', 5, 'Uint8Array', [0xef, 0xbb, 0xbf, 0x41, 0xff]]);
});

test('the parts are copied when the Blob is made', async () => {
  assert.equal(await run(`(async () => {
    const u8 = new Uint8Array([97, 98]);
    const b = new Blob([u8]);
    u8[0] = 122;
    return b.text();
  })()`), 'ab');
});

test("constructor errors are workerd's", async () => {
  const notArray = { error: 'TypeError', message: "Failed to construct 'Blob': constructor parameter 1 is not of type 'Array'." };
  assert.deepEqual(await run(`new Blob('abc')`), notArray);
  assert.deepEqual(await run(`new Blob(null)`), notArray);
  assert.deepEqual(await run(`new Blob(5)`), notArray);
  assert.deepEqual(await run(`new Blob([], 5)`), {
    error: 'TypeError', message: "Failed to construct 'Blob': constructor parameter 2 is not of type 'Options'.",
  });
  assert.deepEqual(await run(`new Blob(['a'], { endings: 'native' })`), {
    error: 'Error', message: "The 'endings' field on 'Options' is not implemented.",
  });
  assert.deepEqual(await run(`new File([], 'n', 5)`), {
    error: 'TypeError', message: "Failed to construct 'File': constructor parameter 3 is not of type 'Options'.",
  });
  assert.deepEqual(await run(`new File(['x'])`), {
    error: 'TypeError', message: "Failed to construct 'File': constructor parameter 2 is not of type 'string'.",
  });
});

test("methods and accessors called on other objects throw workerd's illegal invocation", async () => {
  const illegal = {
    error: 'TypeError',
    message: 'Illegal invocation: function called with incorrect `this` reference. See https://developers.cloudflare.com/workers/observability/errors/#illegal-invocation-errors for details.',
  };
  assert.deepEqual(await run(`Blob.prototype.slice.call({})`), illegal);
  assert.deepEqual(await run(`Object.getOwnPropertyDescriptor(Blob.prototype, 'size').get.call({})`), illegal);
  assert.deepEqual(await run(`Blob.prototype.text.call(new Headers())`), illegal);
  assert.deepEqual(await run(`Object.getOwnPropertyDescriptor(File.prototype, 'name').get.call(new Blob())`), illegal);
});

test('a Blob over 128 MiB is refused with a RangeError', async () => {
  assert.deepEqual(await run(`new Blob([new ArrayBuffer(100 * 1024 * 1024), new ArrayBuffer(30 * 1024 * 1024)])`), {
    error: 'RangeError', message: 'Blob size 136314880 exceeds limit 134217728',
  });
});

test('File has a name and lastModified, and is a Blob', async () => {
  assert.deepEqual(await run(`(() => {
    const f = new File(['x'], 'a.txt', { type: 'T/X', lastModified: 42 });
    return [f.name, f.type, f.lastModified, f.size, f instanceof Blob, Object.prototype.toString.call(f),
      new File([], 'n', { lastModified: NaN }).lastModified, new File([], 'n', { lastModified: '12.7' }).lastModified,
      new File([], 'n', { lastModified: 'abc' }).lastModified, new File([], null).name,
      new File(['abc'], 'n').slice(1).constructor.name];
  })()`), ['a.txt', 't/x', 42, 1, true, '[object File]', 0, 12.7, 0, 'null', 'Blob']);
  assert.equal(await run(`(() => {
    const before = Date.now();
    const modified = new File([], 'n').lastModified;
    return modified >= before && modified <= Date.now();
  })()`), true);
});

test("the prototypes have workerd's members", async () => {
  assert.deepEqual(await run(`[Object.getOwnPropertyNames(Blob.prototype).sort(), Object.getOwnPropertyNames(File.prototype).sort(),
    Blob.length, File.length, Object.getOwnPropertyNames(new Blob(['x']))]`), [
    ['arrayBuffer', 'bytes', 'constructor', 'size', 'slice', 'stream', 'text', 'type'],
    ['constructor', 'lastModified', 'name'], 0, 0, [],
  ]);
});

test('stream() gives the bytes as a byte stream, each call anew', async () => {
  assert.deepEqual(await run(`(async () => {
    const blob = new Blob(['hello ', new Uint8Array([119, 111])]).slice(2);
    const first = await new Response(blob.stream()).text();
    const reader = blob.stream().getReader({ mode: 'byob' });
    const { value } = await reader.read(new Uint8Array(3));
    const empty = await new Blob([]).stream().getReader().read();
    return [first, [...value], empty.done, blob.stream() instanceof ReadableStream];
  })()`), ['llo wo', [108, 108, 111], true, true]);
});

test('console.log shows Blobs and Files as workerd does', () => {
  rt.logs.length = 0;
  rt.run(`console.log(new Blob(['ab'], { type: 't/x' })); console.log(new File(['a'], 'n', { lastModified: 1 }));
    console.log({ b: new Blob([]) });`);
  assert.deepEqual(rt.messages(), [
    "Blob { size: 2, type: 't/x' }", "File { name: 'n', lastModified: 1, size: 1, type: '' }",
    "{ b: Blob { size: 0, type: '' } }",
  ]);
});
