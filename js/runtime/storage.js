// DurableObjectStorage: the asynchronous key-value API over the object's SQLite database.
// The host's operations are synchronous (SQLite is local), so every promise returned here is
// already settled: awaiting one never lets another event in, which is the input gate's promise.
import { native } from './native.js';
import { SqlStorage } from './sql.js';
import { SyncKvStorage } from './sync_kv.js';

const PUT_SIGNATURE_MESSAGE =
  'put() may only be called with a single key-value pair and optional options as ' +
  'put(key, value, options) or with multiple key-value pairs and optional options as ' +
  'put(entries, options)';

function settle(fn) {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

function isOptionsLike(value) {
  return value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value));
}

export function listArgs(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') {
    throw new TypeError('Failed to execute \'list\' on \'DurableObjectStorage\': parameter 1 is not of type \'ListOptions\'.');
  }
  const str = (name) => {
    const v = options[name];
    return v === undefined ? undefined : String(v);
  };
  let limit = options.limit;
  if (limit !== undefined) {
    limit = Number(limit);
    if (!Number.isFinite(limit)) throw new TypeError('List limit must be positive.');
    limit = Math.trunc(limit);
  }
  return [str('start'), str('startAfter'), str('end'), str('prefix'), Boolean(options.reverse), limit];
}

// Operations shared by the storage object and a transaction's `txn`.
export class StorageOperations {
  constructor(slot) {
    this._slot = slot;
  }

  get(keys, options) {
    return settle(() => {
      if (Array.isArray(keys)) return native.kvGetMany(this._slot, keys.map(String));
      return native.kvGet(this._slot, String(keys));
    });
  }

  put(keyOrEntries, value, options) {
    return settle(() => {
      if (keyOrEntries !== null && typeof keyOrEntries === 'object' && !Array.isArray(keyOrEntries)) {
        if (!isOptionsLike(value)) throw new TypeError(PUT_SIGNATURE_MESSAGE);
        const keys = [];
        const values = [];
        for (const [k, v] of Object.entries(keyOrEntries)) {
          // As on Cloudflare, entries whose value is undefined are dropped.
          if (v === undefined) continue;
          keys.push(k);
          values.push(v);
        }
        native.kvPutMany(this._slot, keys, values);
        return undefined;
      }
      if (value === undefined) throw new TypeError('put() called with undefined value.');
      native.kvPut(this._slot, String(keyOrEntries), value);
      return undefined;
    });
  }

  delete(keys, options) {
    return settle(() => {
      if (Array.isArray(keys)) return native.kvDeleteMany(this._slot, keys.map(String));
      return native.kvDelete(this._slot, String(keys));
    });
  }

  list(options) {
    return settle(() => native.kvList(this._slot, ...listArgs(options)));
  }

  getAlarm(options) {
    return settle(() => native.alarmGet(this._slot));
  }

  setAlarm(scheduledTime, options) {
    return settle(() => {
      const time = scheduledTime instanceof Date ? scheduledTime.getTime() : Number(scheduledTime);
      if (!(time > 0)) throw new TypeError('setAlarm() cannot be called with an alarm time <= 0');
      native.alarmSet(this._slot, time);
      return undefined;
    });
  }

  deleteAlarm(options) {
    return settle(() => {
      native.alarmDelete(this._slot);
      return undefined;
    });
  }
}

export class DurableObjectTransaction {
  #ops;
  #slot;
  #depth;
  #state = 'open';  // 'open' | 'rolledBack' | 'done'
  constructor(slot, depth) {
    this.#ops = new StorageOperations(slot);
    this.#slot = slot;
    this.#depth = depth;
  }

  #check(op) {
    if (this.#state === 'rolledBack') throw new Error(`Cannot ${op} on rolled back transaction`);
    if (this.#state === 'done') {
      throw new Error(`Cannot call ${op} on transaction that has already committed: did you move \`txn\` outside of the closure?`);
    }
  }
  #run(op, fn) {
    try {
      this.#check(op);
    } catch (error) {
      return Promise.reject(error);
    }
    return fn();
  }

  get(keys, options) { return this.#run('get()', () => this.#ops.get(keys, options)); }
  put(key, value, options) { return this.#run('put()', () => this.#ops.put(key, value, options)); }
  delete(keys, options) { return this.#run('delete()', () => this.#ops.delete(keys, options)); }
  list(options) { return this.#run('list()', () => this.#ops.list(options)); }
  getAlarm(options) { return this.#run('getAlarm()', () => this.#ops.getAlarm(options)); }
  setAlarm(time, options) { return this.#run('setAlarm()', () => this.#ops.setAlarm(time, options)); }
  deleteAlarm(options) { return this.#run('deleteAlarm()', () => this.#ops.deleteAlarm(options)); }
  deleteAll() { return Promise.reject(new Error('Cannot call deleteAll() within a transaction')); }

  rollback() {
    if (this.#state === 'rolledBack') return;
    this.#check('rollback()');
    native.txnRollback(this.#slot, this.#depth);
    this.#state = 'rolledBack';
  }

  // Called by transaction() when the closure has settled.
  _finish(ok) {
    if (this.#state === 'open') {
      if (ok) native.txnCommit(this.#slot, this.#depth);
      else native.txnRollback(this.#slot, this.#depth);
    }
    this.#state = 'done';
  }
}

export class DurableObjectStorage extends StorageOperations {
  #inTransaction = 0;
  #sql;
  #kv;

  get sql() {
    if (this.#sql === undefined) this.#sql = new SqlStorage(this._slot);
    return this.#sql;
  }

  get kv() {
    if (this.#kv === undefined) this.#kv = new SyncKvStorage(this._slot);
    return this.#kv;
  }

  deleteAll(options) {
    return settle(() => {
      if (this.#inTransaction > 0) throw new Error('Cannot call deleteAll() within a transaction');
      native.kvDeleteAll(this._slot);
      return undefined;
    });
  }

  // Runs `closure(txn)` atomically with the input gate held; if it throws (or calls
  // txn.rollback()) nothing it wrote is kept. The object is not reset by a throw.
  async transaction(closure) {
    const slot = this._slot;
    native.gateLock(slot);
    try {
      const depth = native.txnBegin(slot);
      const txn = new DurableObjectTransaction(slot, depth);
      this.#inTransaction++;
      try {
        const result = await closure(txn);
        txn._finish(true);
        return result;
      } catch (error) {
        txn._finish(false);
        throw error;
      } finally {
        this.#inTransaction--;
      }
    } finally {
      native.gateUnlock(slot);
    }
  }

  transactionSync(closure) {
    const slot = this._slot;
    const depth = native.txnBegin(slot);
    let result;
    try {
      result = closure();
    } catch (error) {
      native.txnRollback(slot, depth);
      throw error;
    }
    native.txnCommit(slot, depth);
    return result;
  }

  // Resolves once every write made before the call is durable on disk.
  sync() {
    try {
      return native.sync(this._slot);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
