// Requests to one object carry the same few URLs over and over, and whatwg-url's parser is the
// costliest step of `new URL(request.url)`. whatwg-url calls `basicURLParse` through its module
// object, so a memoized version installed there serves repeated absolute URLs from a cache of
// parsed records; every caller still gets its own copy of the record, which URL setters mutate.
import usm from 'whatwg-url/lib/url-state-machine.js';
import {
  ArrayIsArray, MapCtor, MapPrototypeClear, MapPrototypeGet, MapPrototypeGetSize, MapPrototypeSet,
  arrayFromList,
} from './primordials.js';

const MAX_ENTRIES = 1024;
const original = usm.basicURLParse;
const cache = new MapCtor();

function copyRecord(record) {
  // Arrays copied with arrayFromList: slice() and push() may have been replaced by user code, or
  // Array.prototype given index setters.
  return {
    ...record,
    host: ArrayIsArray(record.host) ? arrayFromList(record.host) : record.host,
    path: ArrayIsArray(record.path) ? arrayFromList(record.path) : record.path,
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
  let record = MapPrototypeGet(cache, input);
  if (record === undefined) {
    record = original(input, options);
    if (MapPrototypeGetSize(cache) >= MAX_ENTRIES) MapPrototypeClear(cache);
    MapPrototypeSet(cache, input, record);
  }
  return record === null ? null : copyRecord(record);
};
