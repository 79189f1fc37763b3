// node:url: the WHATWG URL classes (the global ones), Node's file: URL helpers (POSIX only) and
// domainToASCII/domainToUnicode.
import { idnaToUnicode } from '../prelude_hooks.js';

const URLClass = globalThis.URL;
const URLSearchParamsClass = globalThis.URLSearchParams;

function invalidArg(message) {
  const error = new TypeError(message);
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

export function fileURLToPath(href) {
  const url = typeof href === 'string' ? new URLClass(href) : href;
  if (!(url instanceof URLClass)) {
    throw invalidArg('The "path" argument must be of type string or an instance of URL.');
  }
  if (url.protocol !== 'file:') {
    const error = new TypeError('The URL must be of scheme file');
    error.code = 'ERR_INVALID_URL_SCHEME';
    throw error;
  }
  if (url.hostname !== '') {
    const error = new TypeError('File URL host must be "localhost" or empty on linux');
    error.code = 'ERR_INVALID_FILE_URL_HOST';
    throw error;
  }
  const pathname = url.pathname;
  for (let n = 0; n < pathname.length; n++) {
    if (pathname[n] === '%') {
      const third = pathname.codePointAt(n + 2) | 0x20;
      if (pathname[n + 1] === '2' && third === 102) {
        const error = new TypeError('File URL path must not include encoded / characters');
        error.code = 'ERR_INVALID_FILE_URL_PATH';
        throw error;
      }
    }
  }
  return decodeURIComponent(pathname);
}

export function pathToFileURL(path) {
  if (typeof path !== 'string') {
    throw invalidArg('The "path" argument must be of type string.');
  }
  const url = new URLClass('file://');
  // The characters URL's pathname setter would not escape but a path may hold.
  url.pathname = (path.startsWith('/') ? path : `/${path}`)
    .replace(/%/g, '%25').replace(/\\/g, '%5C').replace(/\n/g, '%0A').replace(/\r/g, '%0D')
    .replace(/\t/g, '%09').replace(/#/g, '%23').replace(/\?/g, '%3F');
  return url;
}

// As Node does it: the host that setting `domain` as the hostname of a "ws:" URL gives, or ''
// when that fails (the setter then leaves the URL's host as it was).
export function domainToASCII(domain) {
  const text = String(domain);
  const url = new URLClass('ws://x');
  url.hostname = text;
  if (url.hostname === 'x' && text.toLowerCase() !== 'x') return '';
  return url.hostname;
}

export function domainToUnicode(domain) {
  const ascii = domainToASCII(domain);
  return ascii === '' ? '' : idnaToUnicode(ascii);
}

export default {
  domainToASCII,
  domainToUnicode,
  URL: URLClass,
  URLSearchParams: URLSearchParamsClass,
  fileURLToPath,
  pathToFileURL,
};
