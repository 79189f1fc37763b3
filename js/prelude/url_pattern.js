// URLPattern with the semantics of workerd's standard implementation (compatibility flag
// urlpattern_standard), on top of npm's urlpattern-polyfill. workerd reports every failure with
// one TypeError per operation ("Failed to construct URLPattern", "Failed to test URLPattern",
// "Failed to exec URLPattern"), so the polyfill's own errors are replaced by those.
import { URLPattern as PolyfillURLPattern } from 'urlpattern-polyfill/urlpattern';
import { URL } from './url.js';
import {
  defineInterface, illegalInvocation, inspectCustom, isObject, toUSVString,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const components = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'];
const OriginalRegExp = RegExp;

// The polyfill looks up `URL` and `RegExp` on the global object when it runs. User code may have
// replaced either, so the prelude's own are put in place for the duration of each call (when the
// global property can be changed at all) and the user's value is restored afterwards.
const ownGlobals = { URL, RegExp: OriginalRegExp };
function withOwnGlobals(fn) {
  const saved = [];
  for (const name of Object.keys(ownGlobals)) {
    const desc = Reflect.getOwnPropertyDescriptor(globalThis, name);
    if (desc !== undefined && desc.value === ownGlobals[name]) continue;
    if (desc !== undefined && !desc.configurable) continue;
    Reflect.defineProperty(globalThis, name, {
      value: ownGlobals[name], writable: true, enumerable: false, configurable: true,
    });
    saved.push([name, desc]);
  }
  try {
    return fn();
  } finally {
    for (const [name, desc] of saved) {
      if (desc === undefined) Reflect.deleteProperty(globalThis, name);
      else Reflect.defineProperty(globalThis, name, desc);
    }
  }
}

// URLPatternInit: the members are read in WebIDL's (alphabetical) order and converted to
// USVStrings; absent members stay absent.
function toInit(value) {
  const init = {};
  for (const key of ['baseURL', 'hash', 'hostname', 'password', 'pathname', 'port', 'protocol', 'search', 'username']) {
    const member = value[key];
    if (member !== undefined) init[key] = toUSVString(member);
  }
  return init;
}

// A pattern or URL: a string, or a URLPatternInit (undefined and null are an empty one).
function toInput(value) {
  if (value === undefined || value === null) return {};
  return isObject(value) ? toInit(value) : toUSVString(value);
}

function toOptions(value) {
  const ignoreCase = value === undefined || value === null ? undefined : value.ignoreCase;
  return ignoreCase === undefined ? {} : { ignoreCase: Boolean(ignoreCase) };
}

function componentResult(result) {
  const groups = {};
  for (const key of Object.keys(result.groups)) groups[key] = result.groups[key];
  return { input: result.input, groups };
}

let innerOf;

export class URLPattern extends Uncloneable {
  #inner;

  constructor(input = undefined, baseURL = undefined, options = undefined) {
    super();
    const args = [toInput(input)];
    // The second argument is the base URL, or the options when it is a dictionary.
    if (isObject(baseURL) || baseURL === null) {
      args.push(toOptions(baseURL));
    } else {
      if (baseURL !== undefined) args.push(toUSVString(baseURL));
      if (options !== undefined && options !== null) {
        if (baseURL === undefined) args.push(undefined);
        args.push(toOptions(options));
      }
    }
    try {
      this.#inner = withOwnGlobals(() => new PolyfillURLPattern(...args));
    } catch {
      throw new TypeError('Failed to construct URLPattern');
    }
  }

  static {
    innerOf = (value) => {
      if (!isObject(value) || !(#inner in value)) throw illegalInvocation();
      return value.#inner;
    };
  }

  get hasRegExpGroups() {
    return innerOf(this).hasRegExpGroups;
  }

  test(input = undefined, baseURL = undefined) {
    const inner = innerOf(this);
    const args = [toInput(input)];
    if (baseURL !== undefined) args.push(toUSVString(baseURL));
    try {
      return withOwnGlobals(() => inner.test(...args));
    } catch {
      throw new TypeError('Failed to test URLPattern');
    }
  }

  // The match as workerd shapes it: `inputs`, then each component's input and groups; null when
  // the input does not match.
  exec(input = undefined, baseURL = undefined) {
    const inner = innerOf(this);
    const args = [toInput(input)];
    if (baseURL !== undefined) args.push(toUSVString(baseURL));
    let result;
    try {
      result = withOwnGlobals(() => inner.exec(...args));
    } catch {
      throw new TypeError('Failed to exec URLPattern');
    }
    if (result === null || result === undefined) return null;
    const out = { inputs: [...result.inputs] };
    for (const name of components) out[name] = componentResult(result[name]);
    return out;
  }

  // The components and hasRegExpGroups, as workerd's console shows them.
  [inspectCustom](depth, options, inspect) {
    const inner = innerOf(this);
    const fields = {};
    for (const name of components) fields[name] = inner[name];
    fields.hasRegExpGroups = inner.hasRegExpGroups;
    return `URLPattern ${inspect(fields, options)}`;
  }
}

// The component getters, in workerd's order, before hasRegExpGroups, test and exec.
const componentDescriptors = {};
for (const name of components) {
  componentDescriptors[name] = {
    get: { [name]() { return innerOf(this)[name]; } }[name],
    enumerable: true,
    configurable: true,
  };
}
const ownDescriptors = Object.getOwnPropertyDescriptors(URLPattern.prototype);
for (const key of Reflect.ownKeys(ownDescriptors)) Reflect.deleteProperty(URLPattern.prototype, key);
Object.defineProperties(URLPattern.prototype, componentDescriptors);
Object.defineProperties(URLPattern.prototype, ownDescriptors);
defineInterface(URLPattern, 'URLPattern');
hideBase(URLPattern);
refuseClone(URLPattern, 'URLPattern');
