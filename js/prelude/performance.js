// `performance`, as workerd offers it without Node.js compatibility: a time origin of 0 and a
// now() that returns exactly what Date.now() returns, so that timing reveals nothing Date.now()
// does not (workerd's Spectre rule). Dorm's Date.now() is V8's, which, as in workerd, is not
// frozen between I/O. The Performance interface is not a global there (only with Node.js
// compatibility), so it is not one here either.
import {
  defineInterface, illegalConstructor, illegalInvocation, inspectCustom, isObject,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const dateNow = Date.now;
const internalToken = Symbol('Performance');
let isPerformance;

export class Performance extends Uncloneable {
  #brand = true;

  constructor(token = undefined) {
    super();
    if (token !== internalToken) throw illegalConstructor();
  }

  static {
    isPerformance = (value) => isObject(value) && #brand in value;
  }

  get timeOrigin() {
    if (!isPerformance(this)) throw illegalInvocation();
    return 0;
  }

  now() {
    if (!isPerformance(this)) throw illegalInvocation();
    return dateNow();
  }

  [inspectCustom](depth, options, inspect) {
    return `Performance ${inspect({ timeOrigin: 0 }, options)}`;
  }
}

defineInterface(Performance, 'Performance');
hideBase(Performance);
refuseClone(Performance, 'Performance');

export const performance = new Performance(internalToken);
