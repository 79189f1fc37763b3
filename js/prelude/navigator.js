import { defineInterface, illegalConstructor } from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const internalToken = Symbol('navigator');

export class Navigator extends Uncloneable {
  constructor(token = undefined) {
    super();
    if (token !== internalToken) throw illegalConstructor();
  }

  get userAgent() {
    return 'Dorm';
  }
}

defineInterface(Navigator, 'Navigator');
hideBase(Navigator);
refuseClone(Navigator, 'Navigator');

export const navigator = new Navigator(internalToken);
