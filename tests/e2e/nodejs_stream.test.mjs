// node:stream for nodejs_compat projects: node:stream (Readable, Writable, Duplex, Transform,
// PassThrough, pipeline, finished, Readable.from, toWeb/fromWeb, Duplex.fromWeb, duplexPair, the
// legacy node:_stream_readable family), node:stream/promises,
// node:stream/web and node:stream/consumers answer as on workerd, in a Worker and in a Durable
// Object, and CommonJS code require()s them by either name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, describeCli } from './lib/dorm.mjs';

// What workerd 2026-10-23 answers for fixtures/nodejs-stream/src/index.js (runChecks()), run as a
// Worker and as a Durable Object (the same answers) with compatibilityDate "2025-09-01" and
// compatibilityFlags ["nodejs_compat"].
const WORKERD_ANSWERS = {
  "pipeline": {
    "error": null,
    "chunks": [
      "AB",
      "CD",
      "EF"
    ],
    "ended": true
  },
  "backpressure": {
    "first": true,
    "second": false,
    "length": 6,
    "needDrain": true,
    "events": [
      "write ab",
      "write cdef",
      "drain"
    ],
    "lengthAfter": 0,
    "hwm": 4
  },
  "readableBackpressure": {
    "items": [
      {
        "n": 1
      },
      {
        "n": 2
      },
      {
        "n": 3
      },
      {
        "n": 4
      },
      {
        "n": 5
      }
    ],
    "reads": 6,
    "pushResults": [
      true,
      false,
      false
    ],
    "manualLength": 6,
    "hwm": 2
  },
  "errors": {
    "error": {
      "name": "Error",
      "code": null,
      "message": "bad chunk x"
    },
    "destroyed": [
      true,
      true,
      true
    ],
    "errored": {
      "name": "Error",
      "code": null,
      "message": "bad chunk x"
    }
  },
  "destroy": {
    "events": [
      "sync destroyed=true",
      "error boom",
      "close"
    ],
    "errored": {
      "name": "Error",
      "code": null,
      "message": "boom"
    },
    "writeErrors": [
      "callback ERR_STREAM_WRITE_AFTER_END",
      {
        "name": "Error",
        "code": "ERR_STREAM_WRITE_AFTER_END",
        "message": "write after end"
      }
    ],
    "pushErrors": [
      {
        "name": "Error",
        "code": "ERR_STREAM_PUSH_AFTER_EOF",
        "message": "stream.push() after EOF"
      }
    ]
  },
  "objectMode": {
    "values": [
      {
        "a": 1
      },
      [
        2
      ],
      "three"
    ],
    "chunks": [
      {
        "double": 2
      },
      {
        "double": 4
      },
      {
        "double": 6
      }
    ],
    "hwm": 16,
    "objectMode": true,
    "defaults": [
      65536,
      16
    ]
  },
  "fromAsyncIterable": {
    "seen": [
      [
        "string",
        false,
        "one"
      ],
      [
        "object",
        true,
        "two"
      ],
      [
        "string",
        false,
        "three"
      ]
    ],
    "objectMode": true,
    "whole": [
      "buffer whole"
    ],
    "bad": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"iterable\" argument must be an instance of Iterable. Received type number (123)"
      }
    }
  },
  "promises": {
    "out": [
      "a!",
      "b!"
    ],
    "rejected": {
      "name": "Error",
      "code": null,
      "message": "no a"
    },
    "finished": true,
    "same": true
  },
  "finished": {
    "error": null,
    "calls": [
      "write x"
    ],
    "premature": {
      "name": "TypeError",
      "code": "ERR_STREAM_PREMATURE_CLOSE",
      "message": "Premature close"
    }
  },
  "encoding": {
    "parts": [
      "\u20acx"
    ],
    "encoding": "utf8"
  },
  "web": {
    "chunks": [
      [
        "Buffer",
        true,
        "ab"
      ],
      [
        "Buffer",
        true,
        "cd"
      ]
    ],
    "back": [
      [
        true,
        "he"
      ],
      [
        true,
        "llo"
      ]
    ],
    "objectValues": [
      {
        "a": 1
      },
      {
        "b": 2
      }
    ],
    "isWeb": true,
    "toWebBad": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"streamReadable\" argument must be an stream.Readable. Received an instance of Object"
      }
    },
    "fromWebBad": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"readableStream\" argument must be an instance of ReadableStream. Received type string ('x')"
      }
    },
    "webSame": true
  },
  "writableWeb": {
    "chunks": [
      "to",
      "web"
    ],
    "finished": true,
    "slow": [
      "abc"
    ],
    "sizes": [
      2,
      1
    ],
    "settledEarly": "waiting",
    "received": [
      [
        "Buffer",
        "he"
      ],
      [
        "Buffer",
        "y"
      ],
      [
        "Buffer",
        "!"
      ],
      "closed"
    ],
    "aborted": [
      "abort stop",
      "error stop"
    ],
    "duplexKeys": [
      "writable",
      "readable"
    ],
    "echoed": [
      "echo one"
    ],
    "duplexBad": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"duplex\" argument must be an stream.Duplex. Received an instance of Readable"
      }
    },
    "toWebBad": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"streamWritable\" argument must be an stream.Writable. Received an instance of Object"
      }
    },
    "fromWebBad": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"writableStream\" argument must be an instance of WritableStream. Received type string ('x')"
      }
    },
    "fromWebOptions": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"options.objectMode\" property must be of type boolean. Received type number (1)"
      }
    }
  },
  "consumers": {
    "text": "a\u00e9",
    "json": {
      "k": [
        1,
        2
      ]
    },
    "buffer": [
      1,
      2,
      3
    ],
    "webText": "web body"
  },
  "argumentErrors": {
    "negativeHwm": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_VALUE",
        "message": "The property 'options.highWaterMark' is invalid. Received -1"
      }
    },
    "writeNull": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_STREAM_NULL_VALUES",
        "message": "May not write null values to stream"
      }
    },
    "writeNumber": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"chunk\" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (1)"
      }
    },
    "noRead": {
      "ok": null
    },
    "setHwm": {
      "threw": {
        "name": "RangeError",
        "code": "ERR_OUT_OF_RANGE",
        "message": "The value of \"value\" is out of range. It must be >= 0 && <= 9007199254740991. Received -1"
      }
    }
  },
  "noImplementation": {
    "read": {
      "ok": null
    },
    "write": {
      "threw": {
        "name": "Error",
        "code": "ERR_METHOD_NOT_IMPLEMENTED",
        "message": "The _write() method is not implemented"
      }
    },
    "errors": [
      {
        "name": "Error",
        "code": "ERR_METHOD_NOT_IMPLEMENTED",
        "message": "The _read() method is not implemented"
      }
    ]
  },
  "duplexPair": {
    "received": [
      "right ping",
      "left pong"
    ],
    "written": [
      true,
      true
    ],
    "rightEnded": true
  },
  "duplexFromWeb": {
    "chunks": [
      "hello ",
      "world"
    ],
    "ctor": true,
    "encoding": "utf8",
    "objectMode": [
      true,
      true
    ],
    "objectsRead": [
      {
        "n": 1
      }
    ],
    "error": {
      "name": "Error",
      "code": null,
      "message": "gone"
    },
    "cancelled": [
      "Error: stop"
    ],
    "locked": [
      true,
      true
    ],
    "notObject": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"pair\" argument must be of type object. Received type number (1)"
      }
    },
    "empty": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"pair.readable\" property must be an instance of ReadableStream. Received undefined"
      }
    },
    "badWritable": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"pair.writable\" property must be an instance of WritableStream. Received type string ('x')"
      }
    },
    "badOptions": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"options\" argument must be of type object. Received type number (1)"
      }
    },
    "badObjectMode": {
      "threw": {
        "name": "TypeError",
        "code": "ERR_INVALID_ARG_TYPE",
        "message": "The \"options.objectMode\" property must be of type boolean. Received type number (1)"
      }
    }
  },
  "legacyModules": {
    "readable": [
      "Readable",
      "ReadableState",
      "default",
      "from",
      "fromWeb",
      "toWeb",
      "wrap"
    ],
    "writable": [
      "Writable",
      "WritableState",
      "default",
      "fromWeb",
      "toWeb"
    ],
    "duplex": [
      "Duplex",
      "default",
      "from",
      "fromWeb",
      "toWeb"
    ],
    "transform": [
      "Transform",
      "default"
    ],
    "passThrough": [
      "PassThrough",
      "default"
    ],
    "same": [
      true,
      true,
      true,
      true,
      true,
      "function",
      "function",
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true
    ]
  },
  "shape": {
    "stream": [
      "Duplex",
      "PassThrough",
      "Readable",
      "Stream",
      "Transform",
      "Writable",
      "_isArrayBufferView",
      "_isUint8Array",
      "_uint8ArrayToBuffer",
      "addAbortSignal",
      "compose",
      "default",
      "destroy",
      "duplexPair",
      "finished",
      "getDefaultHighWaterMark",
      "isDestroyed",
      "isDisturbed",
      "isErrored",
      "isReadable",
      "isWritable",
      "pipeline",
      "promises",
      "setDefaultHighWaterMark"
    ],
    "promises": [
      "default",
      "finished",
      "pipeline",
      "promises"
    ],
    "web": [
      "ByteLengthQueuingStrategy",
      "CompressionStream",
      "CountQueuingStrategy",
      "DecompressionStream",
      "ReadableByteStreamController",
      "ReadableStream",
      "ReadableStreamBYOBReader",
      "ReadableStreamBYOBRequest",
      "ReadableStreamDefaultController",
      "ReadableStreamDefaultReader",
      "TextDecoderStream",
      "TextEncoderStream",
      "TransformStream",
      "TransformStreamDefaultController",
      "WritableStream",
      "WritableStreamDefaultController",
      "WritableStreamDefaultWriter",
      "default"
    ],
    "defaultIsStream": true,
    "readableStatics": [
      "function",
      "function",
      "function",
      "function"
    ],
    "inheritance": [
      true,
      true,
      true,
      true,
      true,
      true
    ]
  }
};

let server;
const app = (p, opts = {}) =>
  server.request(p, { ...opts, headers: { host: `node-stream-app.localhost:${server.port}`, ...(opts.headers ?? {}) } });

before(async () => {
  server = await startServer({ flags: ['--threads', '1'] });
  const deployed = await server.cli(['deploy', fixture('nodejs-stream/wrangler.toml')]);
  assert.equal(deployed.code, 0, describeCli(deployed));
});

after(async () => {
  await server?.stop();
});

for (const [where, route] of [['the Worker', '/checks'], ['the Durable Object', '/object-checks']]) {
  test(`node:stream answers in ${where} as on workerd`, async () => {
    const res = await app(route);
    assert.equal(res.status, 200, res.text);
    const answers = res.json();
    assert.deepEqual(Object.keys(answers), Object.keys(WORKERD_ANSWERS));
    for (const check of Object.keys(WORKERD_ANSWERS)) {
      assert.deepEqual(answers[check], WORKERD_ANSWERS[check], `${check} differs from workerd`);
    }
  });
}

test('CommonJS code require()s the stream modules, by either name', async () => {
  const res = await app('/legacy');
  assert.equal(res.status, 200, res.text);
  // workerd 2026-10-23 answers the same.
  assert.deepEqual(res.json(), { seen: ['<x><y>'], sameModule: true });
});
