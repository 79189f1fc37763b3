// Two shortcuts for the work `new URL(request.url)` repeats on every request, installed on the
// modules whatwg-url calls through (it looks their functions up at each call, as
// url_parse_cache.js relies on too). Results are identical to the originals':
// - webidl-conversions' USVString copies a string one code unit at a time to replace lone
//   surrogates; a string without any surrogate is already a USVString and is returned as it is.
// - Every URL builds its searchParams from its query, usually empty; parsing "" always gives an
//   empty list, so it skips UTF-8 encoding an empty string.
import conversions from 'webidl-conversions';
import urlencoded from 'whatwg-url/lib/urlencoded.js';
import { RegExpPrototypeExec } from './primordials.js';

const anySurrogate = /[\uD800-\uDFFF]/;
const usvStringSlow = conversions.USVString;
const domString = conversions.DOMString;

conversions.USVString = function USVString(value, options = {}) {
  const string = domString(value, options);
  return RegExpPrototypeExec(anySurrogate, string) !== null ? usvStringSlow(string, options) : string;
};

const parseUrlencodedStringSlow = urlencoded.parseUrlencodedString;

urlencoded.parseUrlencodedString = function parseUrlencodedString(input) {
  return input === '' ? [] : parseUrlencodedStringSlow(input);
};
