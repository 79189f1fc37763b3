// The Cache API: `caches.default`, `caches.open(name)`, and their `match`, `put` and `delete`,
// with Cloudflare's rules for what is stored and for how long. The entries live in the server's
// ResponseCache (runtime/response_cache.h), shared by every thread and kept apart per app; this
// module decides what to store, the natives store it.
//
// What is stored, as Cloudflare's cache decides it:
// - only responses to GET requests (anything else is a TypeError, as are 206 responses, error
//   responses and `Vary: *`);
// - not responses with `Cache-Control: no-store`, `no-cache` or `private`, nor with `Set-Cookie`
//   (put() then resolves without storing, as the cache may drop anything at any time);
// - for `s-maxage`, else `max-age`, else `Expires` (against `Date`, else now), else Cloudflare's
//   default time to live for the status (2 hours for 200, 203, 206, 300, 301, 410; 20 minutes for
//   302 and 303; 3 minutes for 404): other statuses without one are not stored.
// A match gets the stored status, headers and body, with `cf-cache-status: HIT`.
import native from './native.js';
import { headersInternals } from './headers.js';
import { Request, isRequest } from './request.js';
import { Response, isResponse } from './response.js';
import { parseAbsoluteURL } from './url.js';
import { defineInterface, illegalConstructor, isObject, requireArgs, toDOMString } from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const internalToken = Symbol('cache');
const maxCacheNameLength = 1024;
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);
const defaultTtlSeconds = new Map([
  [200, 7200], [203, 7200], [206, 7200], [300, 7200], [301, 7200], [410, 7200],
  [302, 1200], [303, 1200], [404, 180],
]);

// The request a key stands for: a Request as given, or one made from a URL string. Cache keys
// must be absolute URLs.
function coerceRequest(input, method, position) {
  if (isRequest(input)) return input;
  if (input === undefined) {
    throw new TypeError(
      `Failed to execute '${method}' on 'Cache': parameter ${position} is not of type 'Request or string'.`);
  }
  const text = toDOMString(input);
  if (parseAbsoluteURL(text) === null) throw new TypeError(`Invalid URL: ${text}`);
  return new Request(text);
}

function ignoresMethod(options) {
  return isObject(options) && Boolean(options.ignoreMethod);
}

// The directives of a Cache-Control value, lowercased: name → value (or true).
function cacheControlDirectives(value) {
  const directives = new Map();
  if (value === null) return directives;
  const parts = value.split(',');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i].trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const argument = eq < 0 ? true : part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    directives.set(name, argument);
  }
  return directives;
}

function headerValue(list, lowerName) {
  let found = null;
  for (let i = 0; i < list.length; i++) {
    if (list[i][0] === lowerName) found = found === null ? list[i][1] : `${found}, ${list[i][1]}`;
  }
  return found;
}

function seconds(text) {
  return /^\d+$/.test(text) ? Number(text) : null;
}

// How long the response may be kept, in seconds; 0: not at all.
function timeToLive(status, list, nowMs) {
  const directives = cacheControlDirectives(headerValue(list, 'cache-control'));
  if (directives.has('no-store') || directives.has('no-cache') || directives.get('private') === true) {
    return 0;
  }
  if (headerValue(list, 'set-cookie') !== null) return 0;
  for (const name of ['s-maxage', 'max-age']) {
    if (directives.has(name)) {
      const value = seconds(String(directives.get(name)));
      return value === null ? 0 : value;
    }
  }
  const expires = headerValue(list, 'expires');
  if (expires !== null) {
    const at = Date.parse(expires);
    if (Number.isNaN(at)) return 0;
    const date = Date.parse(headerValue(list, 'date') ?? '');
    return Math.max(0, Math.floor((at - (Number.isNaN(date) ? nowMs : date)) / 1000));
  }
  return defaultTtlSeconds.get(status) ?? 0;
}

function notImplemented(method, cls) {
  return new Error(`Failed to execute '${method}' on '${cls}': the method is not implemented.`);
}

export class Cache extends Uncloneable {
  #name;

  constructor(token = undefined, name = '') {
    super();
    if (token !== internalToken) throw illegalConstructor();
    this.#name = name;
  }

  // The methods Cloudflare's cache does not have throw at once, as workerd's do.
  add() {
    throw notImplemented('add', 'Cache');
  }

  addAll() {
    throw notImplemented('addAll', 'Cache');
  }

  keys() {
    throw notImplemented('keys', 'Cache');
  }

  matchAll() {
    throw notImplemented('matchAll', 'Cache');
  }

  async match(request, options = undefined) {
    const key = coerceRequest(request, 'match', 1);
    if (!ignoresMethod(options) && key.method !== 'GET') return undefined;
    const found = native.cacheMatch(this.#name, key.url);
    if (found === undefined) return undefined;
    const [status, statusText, flat, body] = found;
    const headers = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (flat[i] !== 'cf-cache-status') headers.push([flat[i], flat[i + 1]]);
    }
    headers.push(['cf-cache-status', 'HIT']);
    const empty = body.byteLength === 0 && nullBodyStatuses.has(status);
    return new Response(empty ? null : body, { status, statusText, headers });
  }

  async put(request, response) {
    requireArgs(arguments.length, 2, "Failed to execute 'put' on 'Cache'");
    const key = coerceRequest(request, 'put', 1);
    if (!isResponse(response)) {
      throw new TypeError("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'.");
    }
    if (key.method !== 'GET') throw new TypeError('Cannot cache response to non-GET request.');
    if (response.type === 'error') throw new TypeError('Cache is unable to store an error response');
    const status = response.status;
    if (status === 206) {
      throw new TypeError('Cannot cache response to a range request (206 Partial Content).');
    }
    const list = headersInternals.list(response.headers);
    const vary = headerValue(list, 'vary');
    if (vary !== null && vary.includes('*')) {
      throw new TypeError("Cannot cache response with 'Vary: *' header.");
    }
    if (response.webSocket !== null && response.webSocket !== undefined) {
      throw new TypeError('Cannot cache WebSocket upgrade response.');
    }
    const statusText = response.statusText;
    const flat = [];
    // A header with an empty name is not stored, as it is not sent.
    for (let i = 0; i < list.length; i++) if (list[i][0] !== '') flat.push(list[i][0], list[i][1]);
    // The body is read (and so used up) whatever is decided, as Cloudflare reads it.
    const body = await response.arrayBuffer();
    const nowMs = Date.now();
    const ttl = timeToLive(status, list, nowMs);
    if (ttl <= 0) return undefined;
    native.cachePut(this.#name, key.url, status, statusText, flat, body, nowMs + ttl * 1000);
    return undefined;
  }

  async delete(request, options = undefined) {
    const key = coerceRequest(request, 'delete', 1);
    if (!ignoresMethod(options) && key.method !== 'GET') return false;
    return native.cacheDelete(this.#name, key.url);
  }
}

defineInterface(Cache, 'Cache');
hideBase(Cache);
refuseClone(Cache, 'Cache');

// `caches.default` has no name; the names of caches.open() are kept apart from it by a prefix.
const defaultCache = new Cache(internalToken, '');

export class CacheStorage extends Uncloneable {
  // `default` is an own property of `caches`, as on workerd.
  constructor(token = undefined) {
    super();
    if (token !== internalToken) throw illegalConstructor();
    Object.defineProperty(this, 'default', {
      value: defaultCache, writable: false, enumerable: true, configurable: true,
    });
  }

  delete() {
    throw notImplemented('delete', 'CacheStorage');
  }

  has() {
    throw notImplemented('has', 'CacheStorage');
  }

  keys() {
    throw notImplemented('keys', 'CacheStorage');
  }

  match() {
    throw notImplemented('match', 'CacheStorage');
  }

  async open(cacheName) {
    requireArgs(arguments.length, 1, "Failed to execute 'open' on 'CacheStorage'");
    const name = toDOMString(cacheName);
    if (name.length >= maxCacheNameLength) throw new TypeError('Cache name is too long.');
    return new Cache(internalToken, `named:${name}`);
  }
}

defineInterface(CacheStorage, 'CacheStorage');
hideBase(CacheStorage);
refuseClone(CacheStorage, 'CacheStorage');

export const caches = new CacheStorage(internalToken);
