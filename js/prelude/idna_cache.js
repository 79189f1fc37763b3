// Host names repeat from request to request (every request to an object names the same host), and
// IDNA processing (tr46.toASCII) dominates URL parsing. whatwg-url calls `tr46.toASCII` through
// the module object on every parse, so replacing that member with a memoized version makes
// repeated hosts cheap while every result still comes from tr46 itself.
import tr46 from 'tr46';

const MAX_ENTRIES = 512;
const original = tr46.toASCII;
const cache = new Map();
const OPTION_NAMES = [
  'checkHyphens', 'checkBidi', 'checkJoiners', 'useSTD3ASCIIRules', 'transitionalProcessing',
  'verifyDNSLength', 'ignoreInvalidPunycode',
];

tr46.toASCII = function toASCIIMemoized(domain, options) {
  let key = '';
  for (const name of OPTION_NAMES) key += options && options[name] ? '1' : '0';
  key += domain;
  if (cache.has(key)) return cache.get(key);
  const result = original.call(this, domain, options);
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(key, result);
  return result;
};
