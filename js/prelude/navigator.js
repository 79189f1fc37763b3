import { defineInterface, illegalConstructor } from './webidl.js';

const internalToken = Symbol('navigator');

export class Navigator {
  constructor(token = undefined) {
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

export const navigator = new Navigator(internalToken);
