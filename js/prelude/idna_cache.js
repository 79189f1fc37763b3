// Host names repeat from request to request (every request to an object names the same host), and
// IDNA processing (tr46.toASCII) dominates URL parsing. whatwg-url calls `tr46.toASCII` through
// the module object on every parse, so replacing that member with a memoized version makes
// repeated hosts cheap while every result still comes from tr46 itself. It calls only captured
// built-ins (user code may have replaced Map's or Function.prototype's members).
import tr46 from 'tr46';
import {
  MapCtor, MapPrototypeClear, MapPrototypeGet, MapPrototypeGetSize, MapPrototypeHas, MapPrototypeSet, ReflectApply,
} from './primordials.js';

const MAX_ENTRIES = 512;
const original = tr46.toASCII;
const cache = new MapCtor();
const OPTION_NAMES = [
  'checkHyphens', 'checkBidi', 'checkJoiners', 'useSTD3ASCIIRules', 'transitionalProcessing',
  'verifyDNSLength', 'ignoreInvalidPunycode',
];

tr46.toASCII = function toASCIIMemoized(domain, options) {
  let key = '';
  for (let i = 0; i < OPTION_NAMES.length; i++) key += options && options[OPTION_NAMES[i]] ? '1' : '0';
  key += domain;
  if (MapPrototypeHas(cache, key)) return MapPrototypeGet(cache, key);
  const result = ReflectApply(original, this, [domain, options]);
  if (MapPrototypeGetSize(cache) >= MAX_ENTRIES) MapPrototypeClear(cache);
  MapPrototypeSet(cache, key, result);
  return result;
};
