'use strict';

// Builds the prelude bundle with esbuild (the flags and the streams library's rewrite of
// CMakeLists.txt, the URL libraries' rewrite, plus
// --global-name=__dormPrelude, as docs/contracts.md describes) and runs it in fresh V8 contexts,
// with a __dormNative written with Node's own APIs in place of the C++ host. Set ESBUILD to use
// another esbuild binary.

const childProcess = require('node:child_process');
const nodeCrypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const v8 = require('node:v8');
const vm = require('node:vm');
const { createCryptoNatives } = require('./fake_crypto_natives.js');

const jsDir = path.resolve(__dirname, '../../js');

// The esbuild on PATH, as CMakeLists.txt bundles the prelude with it (js/node_modules has a newer
// one, which deploys use for tenant code: it would build a prelude other than the one shipped).
function findEsbuild() {
  return process.env.ESBUILD || 'esbuild';
}

let bundleSource = null;
let compiled = null;

// The bundle's source, built once per process. With `globalName: false` it is built without
// --global-name=__dormPrelude, exactly as CMakeLists.txt does today (not cached).
function buildBundle({ globalName = false } = {}) {
  if (!globalName && bundleSource !== null) return bundleSource;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-prelude-'));
  const outfile = path.join(dir, 'prelude.js');
  let source;
  try {
    // The streams library rewritten as CMakeLists.txt has it (js/build/streams_library.mjs).
    const streamsLibrary = path.join(dir, 'web_streams_library.mjs');
    childProcess.execFileSync(process.execPath, [path.join(jsDir, 'build/streams_library.mjs'), streamsLibrary],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    // And the URL libraries (js/build/url_library.mjs).
    const urlLibraries = path.join(dir, 'url_libraries');
    childProcess.execFileSync(process.execPath, [path.join(jsDir, 'build/url_library.mjs'), urlLibraries],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    childProcess.execFileSync(findEsbuild(), [
      'prelude/index.js', '--bundle', '--format=iife', ...(globalName ? ['--global-name=__dormPrelude'] : []),
      `--alias:web-streams-polyfill=${streamsLibrary}`,
      ...['whatwg-url', 'tr46', 'webidl-conversions', 'punycode'].map((name) => `--alias:${name}=${path.join(urlLibraries, name)}`),
      '--target=es2022', '--platform=neutral', '--main-fields=main,module', '--log-level=warning',
      `--inject:${path.join(jsDir, 'shared/captured_globals.js')}`,
      `--outfile=${outfile}`,
    ], { cwd: jsDir, stdio: ['ignore', 'pipe', 'pipe'] });
    source = fs.readFileSync(outfile, 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (!globalName) bundleSource = source;
  return source;
}

const digestNames = {
  'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512', MD5: 'md5',
};
const logLevels = new Set(['debug', 'log', 'info', 'warn', 'error']);

function createRuntime() {
  if (compiled === null) compiled = new vm.Script(buildBundle(), { filename: 'prelude.js' });
  const context = vm.createContext({});
  const realm = vm.runInContext('({ Array, ArrayBuffer, TypeError, Uint8Array })', context);
  const logs = [];
  const reported = [];
  const timers = new Map();
  // Outbound exchanges fetch() started: { method, url, headers, body } each. The answer is
  // [status, statusText, headers, body] from `fetchAnswer` (an echo of the request body when unset).
  const fetches = [];
  const fetchState = { answer: null };
  // Streamed request bodies being written, by fetch id.
  const uploads = new Map();
  let nextTimerId = 1;
  let asyncContext;
  let now = 0;
  let internals = null;

  const toRealmBytes = (bytes) => {
    const out = new realm.Uint8Array(bytes.length);
    out.set(bytes);
    return out;
  };

  // Each function checks its arguments as strictly as the C++ host will, so that the prelude is
  // caught passing something the contract does not allow.
  const expect = (condition, what) => {
    if (!condition) throw new Error(`fake __dormNative: ${what}`);
  };
  const isRealmUint8Array = (v) => util.types.isUint8Array(v);

  const native = {
    utf8Encode(s) {
      expect(typeof s === 'string', 'utf8Encode expects a string');
      return toRealmBytes(Buffer.from(s, 'utf8'));
    },
    utf8EncodeInto(s, u8) {
      expect(typeof s === 'string' && isRealmUint8Array(u8), 'utf8EncodeInto(string, Uint8Array)');
      const { read, written } = new util.TextEncoder().encodeInto(s, u8);
      return realm.Array.of(read, written);
    },
    utf8Decode(u8, fatal) {
      expect(isRealmUint8Array(u8) && typeof fatal === 'boolean', 'utf8Decode(Uint8Array, boolean)');
      try {
        return new util.TextDecoder('utf-8', { fatal, ignoreBOM: true }).decode(u8);
      } catch {
        throw new realm.TypeError('Failed to decode input.');
      }
    },
    getRandomValues(view) {
      expect(ArrayBuffer.isView(view) && view.byteLength <= 65536, 'getRandomValues(view <= 65536 bytes)');
      nodeCrypto.randomFillSync(view);
    },
    randomUUID() {
      return nodeCrypto.randomUUID();
    },
    digest(alg, u8) {
      expect(alg in digestNames && isRealmUint8Array(u8), 'digest(known algorithm, Uint8Array)');
      const hash = nodeCrypto.createHash(digestNames[alg]).update(u8).digest();
      return toRealmBytes(hash).buffer;
    },
    serialize(value) {
      let bytes;
      try {
        bytes = v8.serialize(value);
      } catch (error) {
        throw internals.makeDOMException(error.message, 'DataCloneError');
      }
      return toRealmBytes(bytes).buffer;
    },
    deserialize(ab) {
      expect(util.types.isArrayBuffer(ab), 'deserialize(ArrayBuffer)');
      return v8.deserialize(Buffer.from(new Uint8Array(ab)));
    },
    // The real one makes an API object with internal fields (src/js/host_objects.h), which only
    // V8's serializer tells apart; here an ordinary object with the same prototype.
    newHostObject(prototype, kind, first, second) {
      expect(prototype !== null && (typeof prototype === 'object' || typeof prototype === 'function'),
        'newHostObject(prototype, kind, ...): wrong argument types');
      expect(kind === 0 || kind === 2 || kind === 3 ? typeof first === 'string'
        : kind === 1 && util.types.isUint8Array(first) && typeof second === 'string',
      'newHostObject(prototype, kind, ...): wrong argument types');
      return Object.create(prototype);
    },
    // A copy of a host object made above: here a new object with the same prototype.
    copyHostObject(exemplar) {
      expect(exemplar !== null && typeof exemplar === 'object', 'copyHostObject(exemplar): not a host object');
      return Object.create(Object.getPrototypeOf(exemplar));
    },
    // Node's vm gives no way to set an accessor's read-only bit: attributes stay as they are.
    markReadOnly(object, name) {
      expect(object !== null && typeof object === 'object' && typeof name === 'string',
        'markReadOnly(object, name): wrong argument types');
      return false;
    },
    detachArrayBuffer(ab) {
      if (!util.types.isArrayBuffer(ab)) return false;
      try {
        structuredClone(ab, { transfer: [ab] });
        return true;
      } catch {
        return false;
      }
    },
    // The runtime moves the memory; here a copy in the context's realm, the original detached.
    transferArrayBuffer(ab) {
      if (!util.types.isArrayBuffer(ab)) return undefined;
      try {
        const bytes = new Uint8Array(ab).slice();
        structuredClone(ab, { transfer: [ab] });
        const moved = new realm.ArrayBuffer(bytes.length);
        new realm.Uint8Array(moved).set(bytes);
        return moved;
      } catch {
        return undefined;  // detached
      }
    },
    setTimer(fn, delay, repeat) {
      expect(typeof fn === 'function' && typeof delay === 'number' && delay >= 0
        && typeof repeat === 'boolean', 'setTimer(function, number >= 0, boolean)');
      const id = nextTimerId++;
      timers.set(id, { fn, delay, repeat, due: now + delay });
      return id;
    },
    clearTimer(id) {
      expect(typeof id === 'number', 'clearTimer(number)');
      timers.delete(id);
    },
    log(level, message) {
      expect(logLevels.has(level) && typeof message === 'string', 'log(level, string)');
      logs.push({ level, message });
    },
    enqueueMicrotask(fn) {
      expect(typeof fn === 'function', 'enqueueMicrotask(function)');
      queueMicrotask(fn);
    },
    // The async context (V8's continuation-preserved embedder data in the host): here a plain
    // value, which promise reactions do not carry, but timers and queueMicrotask do, through
    // the prelude's own binding of their callbacks.
    getAsyncContext() {
      return asyncContext;
    },
    setAsyncContext(value) {
      asyncContext = value;
    },
    // The host's values (src/runtime/web_socket_limits.h), which the WebSocket modules read once
    // as they load.
    wsLimits() {
      return {
        maxTags: 10, maxTagLength: 256, maxAttachmentBytes: 16384, maxAutoResponseBytes: 2048,
        maxEventTimeoutMs: 604800000, maxHibernatableSockets: 32768,
      };
    },
    reportError(error) {
      reported.push(error);
    },
    startFetch(method, url, headers, body) {
      expect(typeof method === 'string' && typeof url === 'string' && Array.isArray(headers)
        && (body === null || typeof body === 'string' || util.types.isArrayBuffer(body)
          || (typeof body === 'number' && (body === -1 || (Number.isInteger(body) && body >= 0)))),
      'startFetch(string, string, string[], ArrayBuffer | string | null | number)');
      const streamed = typeof body === 'number';
      const request = {
        method, url, headers: [...headers], body: body === null || streamed ? null : Buffer.from(body),
        streamedLength: streamed ? body : undefined,
      };
      fetches.push(request);
      const id = fetches.length;
      const respond = () => {
        const whole = request.body === null ? new ArrayBuffer(0)
          : request.body.buffer.slice(request.body.byteOffset, request.body.byteOffset + request.body.length);
        return fetchState.answer !== null ? fetchState.answer(request)
          : [200, 'OK', ['content-type', 'application/octet-stream'], whole];
      };
      if (!streamed) return realm.Array.of(id, Promise.resolve(realm.Array.of(...respond())));
      // A streamed body: the fake host answers once it has all of it, as an echo server would.
      const chunks = [];
      const answered = new Promise((resolve, reject) => {
        uploads.set(id, {
          write(bytes) { chunks.push(Buffer.from(bytes)); },
          end(ok) {
            uploads.delete(id);
            if (!ok) {
              reject(realm.Array.of(7, 'The request body failed.'));
              return;
            }
            request.body = Buffer.concat(chunks);
            resolve(realm.Array.of(...respond()));
          },
        });
      });
      return realm.Array.of(id, answered);
    },
    writeFetchBody(id, bytes) {
      expect(typeof id === 'number' && (ArrayBuffer.isView(bytes) || util.types.isArrayBuffer(bytes)),
        'writeFetchBody(number, ArrayBufferView | ArrayBuffer)');
      const upload = uploads.get(id);
      if (upload === undefined) return false;
      upload.write(ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes));
      return true;
    },
    endFetchBody(id, ok) {
      expect(typeof id === 'number' && typeof ok === 'boolean', 'endFetchBody(number, boolean)');
      uploads.get(id)?.end(ok);
    },
    cancelFetch(id) {
      expect(typeof id === 'number', 'cancelFetch(number)');
    },
    ...createCryptoNatives(realm),
  };

  context.__dormNative = native;
  compiled.runInContext(context);
  const exported = context.__dormPrelude;
  internals = exported.default;

  return {
    context,
    // The fake host's natives (as the prelude captured them).
    native,
    exported,
    internals,
    logs,
    reported,
    timers,
    fetches,
    // Sets how the fake host answers fetch(): (request) => [status, statusText, headers, ArrayBuffer].
    answerFetches(fn) {
      fetchState.answer = fn;
    },
    run(code) {
      return vm.runInContext(code, context);
    },
    // Moves the fake clock forward, firing due timers in order of due time, then id.
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let nextId = null;
        let next = null;
        for (const [id, timer] of timers) {
          if (timer.due > end) continue;
          if (next === null || timer.due < next.due || (timer.due === next.due && id < nextId)) {
            next = timer;
            nextId = id;
          }
        }
        if (next === null) break;
        now = next.due;
        if (next.repeat) next.due += Math.max(1, next.delay);
        else timers.delete(nextId);
        next.fn();
      }
      now = end;
    },
    messages() {
      return logs.map((entry) => entry.message);
    },
  };
}

module.exports = { buildBundle, createRuntime };
