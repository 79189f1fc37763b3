import './url_prerequisites.js';
import './idna_cache.js';
import './url_parse_cache.js';
import './url_fast_paths.js';
import {
  URL, URLSearchParams, basicURLParse, serializeURL, serializeURLOrigin,
} from 'whatwg-url';
import URLWrapper from 'whatwg-url/lib/URL.js';
import URLSearchParamsWrapper from 'whatwg-url/lib/URLSearchParams.js';
import { blobInternals } from './blob.js';
import { HOST_REFUSED, newFieldlessHostObject, refusalMessage } from './host_object.js';
import {
  MapCtor, MapPrototypeClear, MapPrototypeGet, MapPrototypeGetSize, MapPrototypeSet, ObjectGetPrototypeOf,
  RegExpPrototypeExec, TypeErrorCtor, inheritsFrom,
} from './primordials.js';
import { inspectCustom } from './webidl.js';

// workerd refuses to serialize a URL or a URLSearchParams. The library makes its objects as plain
// objects, which V8's serializer would copy (as `{}`): every one, whether made by its constructor
// or by the library itself (URL.parse(), a URL's searchParams), goes through the wrapper module's
// `setup`, which is given a host object that structured clone refuses instead.
for (const [wrapperModule, name] of [[URLWrapper, 'URL'], [URLSearchParamsWrapper, 'URLSearchParams']]) {
  const setup = wrapperModule.setup;
  const message = refusalMessage(name);
  // setup's four parameters passed on by name: a spread would run Array.prototype[Symbol.iterator]
  // (and an undefined argument takes setup's default as a missing one does).
  wrapperModule.setup = (wrapper, globalObject, constructorArgs, privateData) => setup(
    newFieldlessHostObject(ObjectGetPrototypeOf(wrapper), HOST_REFUSED, message), globalObject, constructorArgs,
    privateData);
}

// workerd's text for a URL (or base URL) that does not parse; the library names the input.
{
  const setup = URLWrapper.setup;
  URLWrapper.setup = (wrapper, globalObject, constructorArgs, privateData) => {
    try {
      return setup(wrapper, globalObject, constructorArgs, privateData);
    } catch (error) {
      // The captured TypeError: an app may replace the global, or give it a Symbol.hasInstance.
      // (A user's toString() may have thrown anything, null too.)
      if (error !== null && typeof error === 'object' && inheritsFrom(error, TypeErrorCtor.prototype)
          && RegExpPrototypeExec(/^Invalid (base )?URL: /, error.message) !== null) {
        throw new TypeErrorCtor('Invalid URL string.');
      }
      throw error;
    }
  };
}

export { URL, URLSearchParams };

// Blob URLs: as on workerd, the statics exist, check their argument and throw.
const urlStatics = {
  createObjectURL(object) {
    if (!blobInternals.isBlob(object)) {
      throw new TypeError("Failed to execute 'createObjectURL' on 'URL': parameter 1 is not of type 'File or Blob'.");
    }
    throw new Error('URL.createObjectURL() is not implemented');
  },
  revokeObjectURL(url) {
    if (arguments.length < 1) {
      throw new TypeError("Failed to execute 'revokeObjectURL' on 'URL': parameter 1 is not of type 'USVString'.");
    }
    void `${url}`;  // converted as workerd converts it (a Symbol throws)
    throw new Error('URL.revokeObjectURL() is not implemented');
  },
};
for (const name of ['createObjectURL', 'revokeObjectURL']) {
  Object.defineProperty(URL, name, {
    value: urlStatics[name], writable: true, enumerable: true, configurable: true,
  });
}

// Parses an absolute URL (Workers have no base URL to resolve relative ones against). Returns the
// serialized URL, or null when parsing fails. The serializations of the last strings parsed are
// kept (as url_parse_cache.js keeps their records): a Request of a URL seen before costs a
// lookup, and runs none of the library's array code, which goes through members user code may
// have replaced.
const MAX_HREFS = 1024;
const hrefs = new MapCtor();

export function parseAbsoluteURL(input) {
  let href = typeof input === 'string' ? MapPrototypeGet(hrefs, input) : undefined;
  if (href === undefined) {
    const record = basicURLParse(input);
    href = record === null ? null : serializeURL(record);
    if (typeof input === 'string') {
      if (MapPrototypeGetSize(hrefs) >= MAX_HREFS) MapPrototypeClear(hrefs);
      MapPrototypeSet(hrefs, input, href);
    }
  }
  return href === null ? null : { href };
}

// `url` (an absolute URL) without its username and password, as a request sends it: workerd
// sends no credentials that a URL carries. `url` itself when it has none or does not parse.
export function urlWithoutCredentials(url) {
  const record = basicURLParse(url);
  if (record === null || (record.username === '' && record.password === '')) return url;
  record.username = '';
  record.password = '';
  return serializeURL(record);
}

// Resolves `input` against the absolute URL `base` (a redirect's Location): the serialized URL,
// its scheme (without ':') and its origin, or null when parsing fails.
export function resolveURL(input, base) {
  const baseRecord = basicURLParse(base);
  if (baseRecord === null) return null;
  const record = basicURLParse(input, { baseURL: baseRecord });
  if (record === null) return null;
  return { href: serializeURL(record), scheme: record.scheme, origin: serializeURLOrigin(record) };
}

export function isURLSearchParams(value) {
  return value instanceof URLSearchParams;
}

const urlFields = [
  'href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname',
  'search', 'searchParams', 'hash',
];

Object.defineProperty(URL.prototype, inspectCustom, {
  configurable: true,
  writable: true,
  value(depth, options, inspect) {
    const fields = {};
    for (const key of urlFields) fields[key] = this[key];
    return `URL ${inspect(fields, options)}`;
  },
});

Object.defineProperty(URLSearchParams.prototype, inspectCustom, {
  configurable: true,
  writable: true,
  value(depth, options, inspect) {
    const entries = [...this].map(([k, v]) => `${inspect(k)} => ${inspect(v)}`);
    return entries.length === 0 ? 'URLSearchParams {}' : `URLSearchParams { ${entries.join(', ')} }`;
  },
});
