// Requests to one object carry the same few URLs over and over, and whatwg-url's parser is the
// costliest step of `new URL(request.url)`. whatwg-url calls `basicURLParse` through its module
// object, so a memoized version installed there serves repeated absolute URLs from a cache of
// parsed records; every caller still gets its own copy of the record, which URL setters mutate.
import usm from 'whatwg-url/lib/url-state-machine.js';

const MAX_ENTRIES = 1024;
const original = usm.basicURLParse;
const cache = new Map();

function copyRecord(record) {
  return {
    ...record,
    host: Array.isArray(record.host) ? record.host.slice() : record.host,
    path: Array.isArray(record.path) ? record.path.slice() : record.path,
  };
}

usm.basicURLParse = function basicURLParseMemoized(input, options) {
  // Only plain parses of a string without a base are cached; setters and relative parses go to
  // the parser every time.
  if (typeof input !== 'string' || (options !== undefined &&
      (options.baseURL || options.url !== undefined || options.stateOverride !== undefined ||
       options.encodingOverride !== undefined))) {
    return original(input, options);
  }
  let record = cache.get(input);
  if (record === undefined) {
    record = original(input, options);
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(input, record);
  }
  return record === null ? null : copyRecord(record);
};
