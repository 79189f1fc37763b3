import { defineInterface, illegalConstructor } from './webidl.js';

const internalToken = Symbol('navigator');

export class Navigator {
  constructor(token = undefined) {
    if (token !== internalToken) throw illegalConstructor();
  }

  get userAgent() {
    return 'Dorm';
  }
}

defineInterface(Navigator, 'Navigator');

export const navigator = new Navigator(internalToken);
