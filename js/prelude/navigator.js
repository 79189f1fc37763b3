import { fetch } from './fetch.js';
import { defineInterface, illegalConstructor } from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const internalToken = Symbol('navigator');

export class Navigator extends Uncloneable {
  // The attributes are own read-only properties of the instance, as on workerd. The user agent is
  // Cloudflare's: code that checks the runtime by it takes the Workers path.
  constructor(token = undefined) {
    super();
    if (token !== internalToken) throw illegalConstructor();
    const attributes = [
      ['languages', ['en']], ['language', 'en'], ['platform', ''], ['hardwareConcurrency', 1],
      ['userAgent', 'Cloudflare-Workers'],
    ];
    for (const [name, value] of attributes) {
      Object.defineProperty(this, name, { value, writable: false, enumerable: true, configurable: true });
    }
  }

  // As workerd: the POST is sent in the background and true is returned whatever becomes of it.
  sendBeacon(url, data = undefined) {
    if (arguments.length < 1) {
      throw new TypeError("Failed to execute 'sendBeacon' on 'Navigator': parameter 1 is not of type 'string'.");
    }
    const target = `${url}`;
    const init = data === undefined || data === null ? { method: 'POST' } : { method: 'POST', body: data };
    fetch(target, init).then(() => {}, () => {});
    return true;
  }
}

defineInterface(Navigator, 'Navigator');
hideBase(Navigator);
refuseClone(Navigator, 'Navigator');

export const navigator = new Navigator(internalToken);
