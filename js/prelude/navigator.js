import { defineInterface, illegalConstructor } from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const internalToken = Symbol('navigator');

export class Navigator extends Uncloneable {
  constructor(token = undefined) {
    super();
    if (token !== internalToken) throw illegalConstructor();
  }

  // As on Cloudflare: code that checks the runtime by its user agent takes the Workers path.
  get userAgent() {
    return 'Cloudflare-Workers';
  }

  get hardwareConcurrency() {
    return 1;
  }
}

defineInterface(Navigator, 'Navigator');
hideBase(Navigator);
refuseClone(Navigator, 'Navigator');

export const navigator = new Navigator(internalToken);
