'use strict';

// FormData, FormData and Blob bodies, body.formData() and body.blob(), checked against workerd's
// answers to the same calls.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = async (code) => JSON.parse(await rt.run(`(async () => {
  try { return JSON.stringify(await (async () => ${code})()); }
  catch (e) { return JSON.stringify({ error: e.constructor.name, message: e.message }); }
})()`));

// Files are shown as { file, type, size } so that entries compare as JSON.
rt.run(`globalThis.show = (v) => v instanceof File ? { file: v.name, type: v.type, size: v.size } : v;
globalThis.entries = (fd) => [...fd].map(([k, v]) => [k, show(v)]);
globalThis.parse = (body, type) => new Request('http://x/', { method: 'POST', body, headers: type === undefined ? {} : { 'content-type': type } }).formData();`);

test('append, get, getAll, has, keys and values; Blobs become Files named by the filename or the entry', async () => {
  assert.deepEqual(await run(`(() => {
    const f = new FormData();
    f.append('a', '1');
    f.append('b', new Blob(['xy'], { type: 'T/P' }));
    f.append('c', new Blob(['z']), 'z.txt');
    f.append('a', 2);
    f.set('d', new File(['q'], 'q.bin'), 'renamed');
    return [entries(f), f.get('a'), f.getAll('a'), f.has('b'), f.get('nope'), [...f.keys()], [...f.values()].map(show)];
  })()`), [
    [['a', '1'], ['b', { file: 'b', type: 't/p', size: 2 }], ['c', { file: 'z.txt', type: '', size: 1 }],
      ['a', '2'], ['d', { file: 'renamed', type: '', size: 1 }]],
    '1', ['1', '2'], true, null, ['a', 'b', 'c', 'a', 'd'],
    ['1', { file: 'b', type: 't/p', size: 2 }, { file: 'z.txt', type: '', size: 1 }, '2',
      { file: 'renamed', type: '', size: 1 }],
  ]);
});

test('a File keeps its identity unless a filename replaces its name', async () => {
  assert.deepEqual(await run(`(() => {
    const f = new FormData();
    const file = new File(['q'], 'q.bin', { type: 'a/b', lastModified: 5 });
    f.append('x', file);
    f.append('y', file, 'new');
    f.append('z', new Blob(['q']));
    const y = f.get('y');
    return [f.get('x') === file, y === file, y.name, y.type, y.lastModified === 5, f.get('z') === f.get('z')];
  })()`), [true, false, 'new', 'a/b', false, true]);
});

test('set replaces the first entry of the name and removes the others; delete removes all', async () => {
  assert.deepEqual(await run(`(() => {
    const f = new FormData();
    f.append('a', '1'); f.append('b', '2'); f.append('a', '3'); f.append('c', '4');
    f.set('a', 'n');
    const afterSet = [...f];
    f.delete('c');
    return [afterSet, [...f]];
  })()`), [[['a', 'n'], ['b', '2'], ['c', '4']], [['a', 'n'], ['b', '2']]]);
});

test('values are converted as workerd converts them, and missing arguments are refused', async () => {
  assert.deepEqual(await run(`(() => { const f = new FormData(); f.append(null, null); f.append('u', undefined);
    f.append(1, 2, 3); f.append('o', {}); return [...f]; })()`),
  [['null', 'null'], ['u', 'undefined'], ['1', '2'], ['o', '[object Object]']]);
  assert.deepEqual(await run(`new FormData().append('a')`), {
    error: 'TypeError', message: "Failed to execute 'append' on 'FormData': parameter 2 is not of type 'File or Blob or string'.",
  });
  assert.deepEqual(await run(`new FormData().get()`), {
    error: 'TypeError', message: "Failed to execute 'get' on 'FormData': parameter 1 is not of type 'string'.",
  });
  assert.deepEqual(await run(`new FormData().forEach(5)`), {
    error: 'TypeError', message: "Failed to execute 'forEach' on 'FormData': parameter 1 is not of type 'function'.",
  });
  assert.deepEqual(await run(`[...new FormData({ a: 1 })]`), []);
});

test('iterators and forEach see entries added while they run', async () => {
  assert.deepEqual(await run(`(() => {
    const f = new FormData();
    f.append('a', '1');
    const it = f.entries();
    f.append('b', '2');
    const seen = [];
    f.forEach((v, k, o) => { seen.push([v, k, o === f]); if (seen.length < 3) f.append('c', 'again'); });
    return [[...it], seen, Object.prototype.toString.call(f.keys()), Object.prototype.toString.call(f.values()),
      Object.prototype.toString.call(f.entries()), typeof f[Symbol.iterator]];
  })()`), [
    [['a', '1'], ['b', '2'], ['c', 'again'], ['c', 'again']],
    [['1', 'a', true], ['2', 'b', true], ['again', 'c', true], ['again', 'c', true]],
    '[object KeyIterator]', '[object ValueIterator]', '[object EntryIterator]', 'function',
  ]);
});

test('a FormData body is multipart/form-data with a random boundary and escaped names', async () => {
  const [type, body] = await run(`(async () => {
    const f = new FormData();
    f.append('a"\\n\\\\b', 'v');
    f.append('file', new Blob(['data']), 'f"n.txt');
    f.append('typed', new File(['<p>'], 'p.html', { type: 'text/html' }));
    const r = new Request('http://x/', { method: 'POST', body: f });
    return [r.headers.get('content-type'), await r.text()];
  })()`);
  const boundary = /^multipart\/form-data; boundary=([0-9a-f]{32})$/.exec(type)[1];
  assert.equal(body, [
    `--${boundary}`, 'Content-Disposition: form-data; name="a%22%0A\\\\b"', '', 'v',
    `--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="f%22n.txt"',
    'Content-Type: application/octet-stream', '', 'data',
    `--${boundary}`, 'Content-Disposition: form-data; name="typed"; filename="p.html"',
    'Content-Type: text/html', '', '<p>',
    `--${boundary}--`,
  ].join('\r\n'));
  assert.deepEqual(await run(`(() => { const f = new FormData(); f.append('a\\\\', 'v'); return new Response(f); })()`), {
    error: 'TypeError', message: "Name or filename can't end with backslash",
  });
});

test("a Blob body takes the Blob's type as Content-Type, unless one is given", async () => {
  assert.deepEqual(await run(`(async () => {
    const typed = new Response(new Blob(['hi'], { type: 'Text/X' }));
    const untyped = new Response(new Blob(['hi']));
    const overridden = new Request('http://x', { method: 'POST', body: new File(['abc'], 'n', { type: 'image/png' }), headers: { 'content-type': 'text/x' } });
    return [typed.headers.get('content-type'), await typed.text(), untyped.headers.get('content-type'), await untyped.text(),
      overridden.headers.get('content-type')];
  })()`), ['text/x', 'hi', null, 'hi', 'text/x']);
});

test('blob() types the Blob with the Content-Type serialized as a MIME type', async () => {
  assert.deepEqual(await run(`(async () => {
    const type = async (ct) => (await new Response('x', ct === undefined ? {} : { headers: { 'content-type': ct } }).blob()).type;
    const h = new Headers();
    h.append('content-type', 'text/html; charset=latin1');
    h.append('content-type', 'text/html');
    const f = new FormData();
    f.append('a', 'b');
    const b = await new Response('abc', { headers: { 'content-type': 'Text/Plain; Charset=UTF-8' } }).blob();
    return [b.constructor.name, b.size, b.type, await type('garbage'), await type('text/plain; a="b c"; B=D'),
      (await new Response('x', { headers: h }).blob()).type, (await new Response(null).blob()).type,
      (await new Response(f).blob()).type.replace(/[0-9a-f]{32}/, 'X')];
  })()`), ['Blob', 3, 'text/plain;charset=UTF-8', '', 'text/plain;a="b c";b=D', 'text/html;charset=latin1', '',
    'multipart/form-data; boundary=X']);
});

test('formData() parses multipart/form-data: fields, files, quoted boundaries and names, bare LFs', async () => {
  assert.deepEqual(await run(`(async () => entries(await parse('--B\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nval\\r\\n'
    + '--B\\r\\nContent-Disposition: form-data; name="f"; filename="x.txt"\\r\\nContent-Type: text/plain\\r\\n\\r\\nfile body\\r\\n'
    + '--B\\r\\nContent-Disposition: form-data; name="g"; filename="y"\\r\\n\\r\\nno type\\r\\n--B--\\r\\n', 'multipart/form-data; boundary=B')))()`),
  [['a', 'val'], ['f', { file: 'x.txt', type: 'text/plain', size: 9 }], ['g', { file: 'y', type: '', size: 7 }]]);
  assert.deepEqual(await run(`(async () => [...await parse('--a b\\nContent-Disposition: form-data; name="a\\\\"q"\\n\\nv\\n--a b--', 'multipart/form-data; boundary="a b"')])()`),
    [['a"q', 'v']]);
  assert.deepEqual(await run(`(async () => [...await parse('preamble\\n--B\\nContent-Disposition: form-data; name="a"\\n\\nline1\\r\\nline2\\n--B--epilogue', 'Multipart/Form-Data; Boundary=B')])()`),
    [['a', 'line1\r\nline2']]);
  assert.deepEqual(await run(`(async () => [...await parse('--B\\r\\nContent-Disposition:form-data;name="a";  other="x"  \\r\\n\\r\\nv\\r\\n--B--', 'multipart/form-data; boundary=B')])()`),
    [['a', 'v']]);
  assert.deepEqual(await run(`(async () => { const fd = await parse('--B\\r\\nContent-Disposition: form-data; name="é"; filename="ü.txt"\\r\\nContent-Type:  Text/HTML ; x=y \\r\\n\\r\\n\\xff\\r\\n--B--', 'multipart/form-data; boundary=B');
    const f = fd.get('é'); return [f.name, f.size, f.type, f.lastModified > 0, Array.from(await f.bytes())]; })()`),
  ['ü.txt', 2, 'Text/HTML ; x=y ', true, [0xc3, 0xbf]]);
  assert.deepEqual(await run(`(async () => entries(await new Response((() => { const f = new FormData(); f.append('s', 'héllo\\r\\nworld');
    f.append('f', new File(['bin\\x00ary'], 'ü.bin', { type: 'application/x-thing' })); f.append('b', new Blob(['zz'])); return f; })()).formData()))()`),
  [['s', 'héllo\r\nworld'], ['f', { file: 'ü.bin', type: 'application/x-thing', size: 7 }], ['b', { file: 'b', type: 'application/octet-stream', size: 2 }]]);
});

test("formData() reports malformed multipart bodies with workerd's messages", async () => {
  const error = (message) => ({ error: 'TypeError', message });
  const mp = (body) => run(`parse(${JSON.stringify(body)}, 'multipart/form-data; boundary=B')`);
  assert.deepEqual(await run(`parse('x', 'multipart/form-data')`), error('No boundary string in Content-Type header. The multipart/form-data MIME type requires a boundary parameter, e.g. \'Content-Type: multipart/form-data; boundary="abcd"\'. See RFC 7578, section 4.'));
  assert.deepEqual(await mp('garbage'), error('No initial boundary string (or you have a truncated message).'));
  assert.deepEqual(await mp('--B'), error('No initial boundary string (or you have a truncated message).'));
  assert.deepEqual(await mp('--Bxx'), error("Boundary string was not succeeded by CRLF, LF, or '--'."));
  assert.deepEqual(await mp('--B\r\nContent-Disposition: form-data; name="a"\r\n'), error('No multipart message header termination found.'));
  assert.deepEqual(await mp('--B\r\nX-Y: z\r\n\r\nv\r\n--B--'), error('No valid Content-Disposition header found in FormData part.'));
  assert.deepEqual(await mp('--B\r\nContent-Disposition: ;name="a"\r\n\r\nv\r\n--B--'), error('Invalid Content-Disposition header found in FormData part.'));
  assert.deepEqual(await mp('--B\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n--B--'), error('Content-Disposition header for FormData part must have the value "form-data", possibly followed by parameters. Got: "attachment"'));
  assert.deepEqual(await mp('--B\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--B--'), error('Content-Disposition header in FormData part is missing a name.'));
  assert.deepEqual(await mp('--B\r\nContent-Disposition: form-data; name=""\r\n\r\nv\r\n--B--'), error('Content-Disposition header in FormData part is missing a name.'));
  assert.deepEqual(await mp('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv'), error('No subsequent boundary string after multipart message.'));
  assert.deepEqual(await mp('--B\r\nContent-Disposition form-data\r\n\r\nv\r\n--B--'), error('FormData part had invalid headers.'));
  assert.deepEqual(await mp('--B\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\nv\r\n--B--'), error('FormData part had invalid headers.'));
  assert.deepEqual(await run(`parse(null, 'multipart/form-data; boundary=B')`), error('No initial boundary string (or you have a truncated message).'));
});

test('formData() parses application/x-www-form-urlencoded and refuses other types', async () => {
  const unrecognized = {
    error: 'TypeError',
    message: 'Unrecognized Content-Type header value. FormData can only parse the following MIME types: multipart/form-data, application/x-www-form-urlencoded',
  };
  assert.deepEqual(await run(`(async () => [...await parse('a=1&b=%20x+y&a=&c', 'application/x-www-form-urlencoded')])()`),
    [['a', '1'], ['b', ' x y'], ['a', ''], ['c', '']]);
  assert.deepEqual(await run(`(async () => [...await parse('\\ufeffa=1&\\ufeffb=2', 'Application/X-WWW-Form-Urlencoded;charset=UTF-8')])()`),
    [['a', '1'], ['\ufeffb', '2']]);
  assert.deepEqual(await run(`(async () => [...await parse(new Uint8Array([0x61, 0xff, 0x3d, 0x25, 0x66, 0x66]), 'application/x-www-form-urlencoded')])()`),
    [['a\ufffd', '\ufffd']]);
  assert.deepEqual(await run(`(async () => [...await new Response(null, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }).formData()])()`), []);
  assert.deepEqual(await run(`parse('a=1', 'application/x-www-form-urlencoded; charset=latin1')`), {
    error: 'TypeError', message: 'Non-utf-8 application/x-www-form-urlencoded body.',
  });
  assert.deepEqual(await run(`parse('x')`), {
    error: 'TypeError', message: 'Unrecognized Content-Type header value. FormData can only parse the following MIME types: multipart/form-data, application/x-www-form-urlencoded',
  });
  assert.deepEqual(await run(`parse('x', 'text/plain')`), unrecognized);
  assert.deepEqual(await run(`parse('x', 'garbage')`), unrecognized);
});

test('formData() needs a Content-Type header, checked before the body is read', async () => {
  assert.deepEqual(await run(`(async () => {
    const r = new Response(new Uint8Array([97, 61, 49]));
    let message;
    try { await r.formData(); } catch (e) { message = e.message; }
    const parsed = new Response('a=1', { headers: { 'content-type': 'text/plain' } });
    try { await parsed.formData(); } catch {}
    return [message, r.bodyUsed, parsed.bodyUsed];
  })()`), ['Parsing a Body as FormData requires a Content-Type header.', false, true]);
});

test('bodies and FormData read Blobs without their replaceable accessors', async () => {
  assert.deepEqual(await run(`(async () => {
    const type = Object.getOwnPropertyDescriptor(Blob.prototype, 'type');
    const name = Object.getOwnPropertyDescriptor(File.prototype, 'name');
    Object.defineProperty(Blob.prototype, 'type', { get() { return 'evil/type'; }, configurable: true });
    Object.defineProperty(File.prototype, 'name', { get() { return 'evil-name'; }, configurable: true });
    try {
      const f = new FormData();
      f.append('b', new Blob(['x'], { type: 'a/b' }));
      f.append('f', new File(['y'], 'real.txt', { type: 'c/d' }));
      const body = await new Response(f).text();
      return [new Response(new Blob(['x'], { type: 'a/b' })).headers.get('content-type'),
        body.includes('evil'), body.includes('filename="real.txt"'), body.includes('Content-Type: a/b')];
    } finally {
      Object.defineProperty(Blob.prototype, 'type', type);
      Object.defineProperty(File.prototype, 'name', name);
    }
  })()`), ['a/b', false, true, true]);
});

test('console.log shows FormData like a Map, as workerd does', () => {
  rt.logs.length = 0;
  rt.run(`const shown = new FormData(); shown.append('a', '1'); shown.append('f', new File(['x'], 'f', { lastModified: 7 }));
    console.log(shown); console.log(new FormData());`);
  assert.deepEqual(rt.messages(), [
    "FormData(2) {\n  'a' => '1',\n  'f' => File { name: 'f', lastModified: 7, size: 1, type: '' }\n}",
    'FormData(0) {}',
  ]);
});
