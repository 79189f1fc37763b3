// The nodejs_compat compatibility flag: a Wrangler project with the flag imports the Node.js
// modules (node:buffer, node:events, node:async_hooks, node:util, node:assert, node:path,
// node:string_decoder, node:url, node:process, node:crypto; `buffer` by its bare name too), in its Worker
// and in its Durable Object, and gets the Buffer and process globals; without the flag, the
// deploy is refused with workerd's message. AsyncLocalStorage keeps each request's store across
// awaits, timers, queueMicrotask, storage calls and outbound fetch().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, makeTempDir, assertCliFailure, describeCli } from './lib/dorm.mjs';

// What workerd 2026-10-23 answers for fixtures/nodejs-compat/src/checks.js (runChecks()), run as
// a Worker with compatibilityDate "2025-09-01" and compatibilityFlags ["nodejs_compat"].
const WORKERD_ANSWERS = {
  "buffer": {
    "encodings": {
      "utf8": "h\u00e9llo w\u00f6rld \u20ac",
      "hex": "68c3a96c6c6f2077c3b6726c6420e282ac",
      "base64": "aMOpbGxvIHfDtnJsZCDigqw=",
      "base64url": "aMOpbGxvIHfDtnJsZCDigqw",
      "latin1": "h\u00c3\u00a9llo w\u00c3\u00b6rld \u00e2\u0082\u00ac",
      "binary": "h\u00c3\u00a9llo w\u00c3\u00b6rld \u00e2\u0082\u00ac",
      "ascii": "hC)llo wC6rld b\u0002,",
      "utf16le": "\uc368\u6ca9\u6f6c\u7720\ub6c3\u6c72\u2064\u82e2",
      "ucs2": "\uc368\u6ca9\u6f6c\u7720\ub6c3\u6c72\u2064\u82e2"
    },
    "roundTrips": {
      "hex": [
        72,
        101,
        108,
        108,
        111
      ],
      "base64": [
        72,
        101,
        108,
        108,
        111
      ],
      "base64url": [
        72,
        101,
        108,
        108,
        111
      ],
      "latin1": [
        72,
        233
      ],
      "ascii": [
        72,
        105
      ],
      "utf16le": [
        72,
        0,
        233,
        0,
        172,
        32
      ]
    },
    "alloc": [
      97,
      98,
      97,
      98
    ],
    "allocUnsafeLength": 5,
    "concat": "abc",
    "byteLength": [
      3,
      2,
      2
    ],
    "isBuffer": [
      true,
      false
    ],
    "isEncoding": [
      true,
      true,
      false
    ],
    "numbers": [
      254,
      52,
      18,
      18,
      52,
      239,
      190,
      173,
      222,
      255,
      255,
      255,
      254,
      255,
      0,
      0
    ],
    "reads": [
      254,
      4660,
      4660,
      3735928559,
      -2,
      -1,
      3412498,
      -16777217
    ],
    "written": [
      6,
      [
        0,
        226,
        130,
        172,
        117,
        114,
        111,
        0,
        0,
        0
      ]
    ],
    "sliceShares": 65,
    "subarray": "e282ac",
    "equals": [
      true,
      false
    ],
    "compare": [
      -1,
      1
    ],
    "indexOf": [
      3,
      7,
      11,
      5,
      true,
      false
    ],
    "toJSON": "{\"type\":\"Buffer\",\"data\":[1,2,3]}",
    "fill": "xyxyx",
    "swap16": [
      2,
      1,
      4,
      3
    ],
    "instance": true,
    "bigint": "256",
    "float": 1,
    "bareModuleSame": true,
    "globalBuffer": true,
    "kMaxLength": "number",
    "badEncoding": true
  },
  "events": {
    "log": [
      "first",
      "on 1 2",
      "once 1",
      "first",
      "on 3 4",
      "monitor boom",
      "error boom"
    ],
    "emitted": [
      true,
      true,
      false
    ],
    "unhandled": "unhandled",
    "onceArgs": [
      "a",
      "b"
    ],
    "counts": [
      2,
      2,
      3
    ],
    "maxListeners": [
      10,
      10
    ],
    "captured": "rejected listener",
    "inherited": [[7, 8], true, true, "legacy"],
    "removed": 0
  },
  "util": {
    "format": [
      "a=42 {\"b\":1} %",
      "x 1 y",
      "42|1.5"
    ],
    "inspect": [
      "{ a: [ 1, 2, { b: 'c' } ], d: Map(1) { 1 => 2 } }",
      "'str'",
      "Set(1) { 1 }",
      "<Buffer 61 62>"
    ],
    "types": [
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true
    ],
    "deepStrict": [
      true,
      false,
      true,
      true
    ],
    "promisified": "function",
    "textCodecs": [
      true,
      true
    ],
    "inherits": [
      "hi",
      true
    ]
  },
  "promises": {
    "doubled": 42,
    "failed": "cb failed",
    "viaCallback": [
      null,
      2
    ],
    "viaCallbackError": "async failed"
  },
  "assert": {
    "passing": [
      null,
      null,
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "strictEqual",
        "generatedMessage": false,
        "isAssertionError": true
      },
      null,
      null,
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "deepStrictEqual",
        "generatedMessage": true,
        "isAssertionError": true
      },
      null,
      null,
      null,
      null
    ],
    "failing": [
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "==",
        "generatedMessage": true,
        "isAssertionError": true
      },
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "strictEqual",
        "generatedMessage": false,
        "isAssertionError": true
      },
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "strictEqual",
        "generatedMessage": false,
        "isAssertionError": true
      },
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "deepStrictEqual",
        "generatedMessage": true,
        "isAssertionError": true
      },
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "throws",
        "generatedMessage": false,
        "isAssertionError": true
      },
      {
        "name": "AssertionError",
        "code": "ERR_ASSERTION",
        "operator": "fail",
        "generatedMessage": false,
        "isAssertionError": true
      }
    ],
    "messages": [
      "custom",
      "false == true"
    ],
    "rejects": "ok",
    "rejectsFails": "AssertionError",
    "strictIsStrict": "strictEqual"
  },
  "path": {
    "join": "/a/c/d.txt",
    "resolve": "/a/c",
    "normalize": "/a/c",
    "parts": [
      "y.tar.gz",
      "y",
      "/x/y",
      ".c"
    ],
    "relative": "../../d",
    "parse": {
      "root": "/",
      "dir": "/home/u",
      "base": "file.txt",
      "ext": ".txt",
      "name": "file"
    },
    "format": "/x/f.e",
    "isAbsolute": [
      true,
      false
    ],
    "sep": [
      "/",
      ":",
      true
    ]
  },
  "stringDecoder": {
    "parts": [
      "",
      "\u20ac",
      ""
    ],
    "hex": "01ff",
    "base64": [
      "",
      "YWI="
    ],
    "truncated": "\ufffd",
    "utf16": "h\u00e9"
  },
  "url": {
    "fileURLToPath": [
      "/tmp/a b.txt",
      "/x/y"
    ],
    "pathToFileURL": "file:///tmp/a%20b%23c.txt",
    "notFile": "ERR_INVALID_URL_SCHEME",
    "sameURL": true
  },
  "process": {
    "order": [
      "sync",
      "tick 1"
    ],
    "platform": "linux",
    "envType": "object",
    "globalProcess": true
  },
  "asyncLocalStorage": {
    "seen": [
      "outer",
      "outer",
      "outer",
      "outer",
      "then outer",
      "inner",
      "outer",
      null,
      "bound outer snapshot outer",
      null
    ],
    "returned": 6
  }
};

let server;
const app = (p, opts = {}) =>
  server.request(p, { ...opts, headers: { host: `node-app.localhost:${server.port}`, ...(opts.headers ?? {}) } });

before(async () => {
  server = await startServer({ flags: ['--threads', '1'] });
  const deployed = await server.cli(['deploy', fixture('nodejs-compat/wrangler.toml')]);
  assert.equal(deployed.code, 0, describeCli(deployed));
});

after(async () => {
  await server?.stop();
});

for (const [where, route] of [['the Worker', '/checks'], ['the Durable Object', '/object-checks']]) {
  test(`the Node.js modules answer in ${where} as on workerd`, async () => {
    const res = await app(route);
    assert.equal(res.status, 200, res.text);
    const answers = res.json();
    for (const module of Object.keys(WORKERD_ANSWERS)) {
      assert.deepEqual(answers[module], WORKERD_ANSWERS[module], `${module} differs from workerd`);
    }
  });
}

// What workerd 2026-10-23 answers for fixtures/nodejs-compat/src/crypto_checks.js, run as above.
const WORKERD_CRYPTO_ANSWERS = {
  "hashes": {
    "sha1": "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
    "sha256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    "sha384": "fdbd8e75a67f29f701a4e040385e2e23986303ea10239211af907fcbb83578b3e417cb71ce646efd0819dd8c088de1bd",
    "sha512": "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f",
    "md5": "5eb63bbbe01eeed093cb22bb8f5acdc3",
    "SHA256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    "RSA-SHA256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
  },
  "encodings": [
    "EfatjsUqKYSrqv18O1FlA3hcIHI=",
    "vKU_3kZqdre-4-GJl-lKeg",
    "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
    20,
    20
  ],
  "copy": [
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721"
  ],
  "digestTwice": {
    "name": "Error",
    "code": "ERR_CRYPTO_HASH_FINALIZED",
    "message": "Digest already called"
  },
  "updateAfter": {
    "name": "Error",
    "code": "ERR_CRYPTO_HASH_FINALIZED",
    "message": "Digest already called"
  },
  "unknown": {
    "name": "Error",
    "message": "Digest method not supported"
  },
  "hmac": [
    "5031fe3d989c6d1537a013fa6e739da23463fdaec3b70137d828e36ace221bd0",
    "K5DkHnwMyOL3XAKRDDiZzEaLoxY=",
    "74e6f7298a9c2d168935f58c001bad88",
    128
  ],
  "random": [
    true,
    16,
    {
      "name": "QuotaExceededError",
      "code": 22,
      "message": "getRandomValues() only accepts buffers of size <= 64K but provided 70000 bytes."
    },
    true
  ],
  "timingSafeEqual": [
    true,
    false,
    {
      "name": "TypeError",
      "message": "Input buffers must have the same byte length."
    }
  ],
  "webcrypto": [
    true,
    true,
    "function"
  ],
  "hashesList": [
    true,
    true,
    true,
    true
  ],
  "pbkdf2": [
    "0a38253555ce37f5c72a6b703f996814ebf241f203af146e93dcdeb031c5567e",
    "95c9338ea3a049dc400b5ed6617b5c45bdda0c14",
    "9bbcdf4f0b03e358d9a6f311a95c29f8df1dfac308b5b4734bb2a52f712fd3f3380a648301abd4796bbc873c3c18c2d7ee5ce68818d1eeb631a59ba9208eb3a5",
    "9887054ca80d1507d8b6e84a29476d04",
    0,
    {
      "name": "TypeError",
      "message": "Invalid Pbkdf2 digest: nope."
    },
    {
      "name": "RangeError",
      "code": "ERR_OUT_OF_RANGE",
      "message": "The value of \"iterations\" is out of range. It must be >= 1 && <= 2147483647. Received 0"
    },
    [
      null,
      "21666cdc0723a960de8307513199d3f1"
    ]
  ],
  "hkdf": [
    "9ca0d662557439e3b83365f2da4626d35da195c6d9d1779f09838cf9e408966e",
    true,
    {
      "name": "RangeError",
      "message": "Invalid Hkdf key length"
    }
  ],
  "randomCallback": [
    null,
    8
  ]
};

test('node:crypto answers as on workerd', async () => {
  const res = await app('/crypto');
  assert.equal(res.status, 200, res.text);
  const answers = res.json();
  for (const key of Object.keys(WORKERD_CRYPTO_ANSWERS)) {
    assert.deepEqual(answers[key], WORKERD_CRYPTO_ANSWERS[key], `${key} differs from workerd`);
  }
});

// What workerd 2026-10-23 answers for fixtures/nodejs-compat/src/extra_checks.js, run as above.
const WORKERD_EXTRA_ANSWERS = {
  "isAscii": [
    true,
    false,
    {
      "error": "TypeError",
      "message": "Failed to execute 'isAscii' on 'BufferUtil': parameter 1 is not of type 'Uint8Array'."
    }
  ],
  "isUtf8": [
    true,
    false,
    {
      "error": "TypeError",
      "message": "Failed to execute 'isUtf8' on 'BufferUtil': parameter 1 is not of type 'Uint8Array'."
    }
  ],
  "transcode": [
    [
      104,
      233
    ],
    "6800e900"
  ],
  "abort": [
    [
      "aborted"
    ],
    "object",
    [
      "at once"
    ]
  ],
  "strip": "red bold",
  "usv": [
    "a\ufffdb",
    "\ud83d\ude00"
  ],
  "extend": {
    "a": 1,
    "b": 2
  },
  "debuglog": [
    true,
    true,
    "function",
    "logger",
    0
  ],
  "formatWithOptions": [
    "a=1",
    "{ a: [Object] }",
    "{ a: [Object] }"
  ],
  "namespaced": "/a/b",
  "domains": [
    "xn--espaol-zwa.com",
    "espa\u00f1ol.com",
    "",
    "example.com",
    "",
    "",
    "x",
    "b\u00fccher.example"
  ],
  "asyncHooks": [
    "object",
    true,
    true,
    0,
    0,
    "{}"
  ],
  "getBuiltinModule": [
    "function",
    true,
    true,
    true,
    true
  ]
};

test('the smaller helpers (isAscii, transcode, addAbortListener, debuglog, getBuiltinModule...) answer as on workerd', async () => {
  const res = await app('/extra');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), WORKERD_EXTRA_ANSWERS);
});

test('CommonJS code require()s the Node.js modules, by either name', async () => {
  const res = await app('/legacy');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    heard: [1],
    hex: '6869',
    sha1: '11f6ad8ec52a2984abaafd7c3b516503785c2072',
    // A module the runtime does not provide stays esbuild's dynamic require, which throws.
    missing: 'Dynamic require of "fs" is not supported',
  });
});

test('process.env holds the vars as strings, not the bindings, as on workerd', async () => {
  // workerd 2026-10-23 (compatibility date 2025-09-01) answers the same for a text binding and a
  // JSON binding: the JSON var as its JSON text.
  const res = await app('/env');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { env: { GREETING: 'hi', LIMITS: '{"max":3}' }, same: true });
});

test('Cloudflare.compatibilityFlags shows the nodejs_compat flags on, but not those of modules Dorm lacks', async () => {
  // workerd at this date also turns on nodejs_zlib and enable_nodejs_fs_module, whose modules
  // Dorm does not have (README "Known differences from workerd").
  const res = await app('/flags');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), [true, true, true, false, false, true]);
});

test('AsyncLocalStorage keeps the store across storage calls and timers in an object', async () => {
  const res = await app('/object-context?label=alpha');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { seen: ['alpha', 'alpha', 'alpha', 'alpha'], stored: 'alpha' });
});

test('two concurrent requests each see their own AsyncLocalStorage store', async () => {
  const [slow, fast, object1, object2] = await Promise.all([
    app('/context?label=slow&delay=60'),
    app('/context?label=fast&delay=5'),
    app('/object-context?label=one'),
    app('/object-context?label=two'),
  ]);
  assert.deepEqual(slow.json(), ['slow', 'slow', 'slow']);
  assert.deepEqual(fast.json(), ['fast', 'fast', 'fast']);
  assert.deepEqual(object1.json().seen, ['one', 'one', 'one', 'one']);
  assert.deepEqual(object2.json().seen, ['two', 'two', 'two', 'two']);
});

test('a store set with enterWith() does not reach the next request', async () => {
  assert.deepEqual((await app('/enter?label=first')).json(), 'first');
  assert.deepEqual((await app('/peek')).json(), null);
});

test('without the flag, importing a Node.js module fails the deploy with workerd\'s message', async () => {
  for (const specifier of ['node:buffer', 'buffer']) {
    const dir = makeTempDir('no-flag');
    fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), JSON.stringify({
      name: 'no-flag-app', main: 'index.js', compatibility_date: '2025-09-01',
    }));
    fs.writeFileSync(path.join(dir, 'index.js'),
      `import { Buffer } from '${specifier}';\nexport default { fetch() { return new Response(Buffer.from('x').toString('hex')); } };\n`);
    const result = await server.cli(['deploy', dir]);
    if (specifier === 'node:buffer') {
      assertCliFailure(assert, result, 'No such module "node:buffer".\n  imported from "index.js"');
    } else {
      // The bare name is a package to esbuild, as it is to Wrangler without the flag.
      assertCliFailure(assert, result, /buffer/);
    }
  }
});

test('a single-file class may import the node:* modules (it has no flags), without the globals', async () => {
  const file = path.join(makeTempDir('single'), 'hasher.js');
  fs.writeFileSync(file, `import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
export class Hasher {
  fetch() {
    return Response.json([Buffer.from('hi').toString('hex'), createHash('sha1').update('x').digest('hex'), typeof globalThis.Buffer,
      Cloudflare.compatibilityFlags.nodejs_compat]);
  }
}
`);
  await server.deploy(file, { app: 'single-node' });
  const res = await server.request('/_do/hasher/a', { headers: { host: `single-node.localhost:${server.port}` } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), ['6869', '11f6ad8ec52a2984abaafd7c3b516503785c2072', 'undefined', false]);
});

test('importing a name a Node.js module does not export fails the deploy', async () => {
  const dir = makeTempDir('missing-export');
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), JSON.stringify({
    name: 'missing-export-app', main: 'index.js', compatibility_date: '2025-09-01', compatibility_flags: ['nodejs_compat'],
  }));
  fs.writeFileSync(path.join(dir, 'index.js'),
    `import { resolveObjectURL } from 'node:buffer';\nexport default { fetch() { return new Response(String(resolveObjectURL)); } };\n`);
  const result = await server.cli(['deploy', dir]);
  assertCliFailure(assert, result, /resolveObjectURL/);
});
