// DurableObjectStorage: the asynchronous key-value API over the object's SQLite database.
// The host's operations are synchronous (SQLite is local), so every promise returned here is
// already settled: awaiting one never lets another event in, which is the input gate's promise.
//
// Handles: the object's slot is held in private fields and every constructor demands the
// runtime's token, so user code can neither read a handle nor make one; the host also checks that
// a slot passed to it names the object whose turn is running (ThreadEngine::ResolveObjectHandle).
// Built-ins are the copies in primordials.js: user code may replace the global ones.
import { native } from './native.js';
import {
  ArrayIsArray, DateCtor, DatePrototypeGetTime, NumberIsFinite, MathTrunc, ObjectEntries,
  PromiseReject, PromiseResolve, TypeErrorCtor, ErrorCtor, checkToken, kRuntimeToken, keyString,
  newList, stringsOf, thenOriginal,
} from './primordials.js';
import { SqlStorage } from './sql.js';
import { SyncKvStorage } from './sync_kv.js';

const PUT_SIGNATURE_MESSAGE =
  'put() may only be called with a single key-value pair and optional options as ' +
  'put(key, value, options) or with multiple key-value pairs and optional options as ' +
  'put(entries, options)';

function settle(fn) {
  try {
    return PromiseResolve(fn());
  } catch (error) {
    return PromiseReject(error);
  }
}

const INT_RANGE_MESSAGE = 'Value out of range. Must be between -2147483648 and 2147483647 (inclusive).';

// setAlarm()'s argument as workerd converts it to a date: a number or a Date only (a numeric
// string is refused, not coerced), finite, within what 64-bit nanoseconds hold, and then whole
// milliseconds (0.5 is 0, refused as a time <= 0).
function alarmTime(value) {
  let ms;
  if (typeof value === 'number') {
    ms = value;
  } else if (value instanceof DateCtor) {
    ms = DatePrototypeGetTime(value);
  } else {
    throw new TypeErrorCtor("Failed to execute 'setAlarm' on 'DurableObjectStorage': parameter 1 is not of type 'date'.");
  }
  if (!NumberIsFinite(ms)) throw new TypeErrorCtor('The value cannot be converted because it is not a valid Date.');
  if (!(ms * 1e6 < 9223372036854775807)) throw new TypeErrorCtor("This API doesn't support dates after 2189.");
  if (!(ms * 1e6 > -9223372036854775808)) throw new TypeErrorCtor("This API doesn't support dates before 1687.");
  return MathTrunc(ms);
}

function requireFunction(value, method) {
  if (typeof value !== 'function') {
    throw new TypeErrorCtor(`Failed to execute '${method}' on 'DurableObjectStorage': parameter 1 is not of type 'function'.`);
  }
}

function isOptionsLike(value) {
  return value === undefined || value === null || (typeof value === 'object' && !ArrayIsArray(value));
}

export function listArgs(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') {
    throw new TypeErrorCtor('Failed to execute \'list\' on \'DurableObjectStorage\': parameter 1 is not of type \'ListOptions\'.');
  }
  const str = (name) => {
    const v = options[name];
    return v === undefined ? undefined : keyString(v);
  };
  let limit = options.limit;
  if (limit !== undefined) {
    // ToNumber, as workerd converts it: a BigInt is refused (Number() would take 1n as 1).
    limit = +limit;
    if (!NumberIsFinite(limit)) throw new TypeErrorCtor('List limit must be positive.');
    // workerd reads the limit as a 32-bit int: a finite value past it is a range error, not a cap.
    if (limit > 2147483647 || limit < -2147483648) throw new TypeErrorCtor(INT_RANGE_MESSAGE);
    limit = MathTrunc(limit);
  }
  return [str('start'), str('startAfter'), str('end'), str('prefix'), !!options.reverse, limit];
}

// Operations shared by the storage object and a transaction's `txn`.
// Its slot is private; `slotOf` is how the subclasses and transactions read it.
let slotOf;
export class StorageOperations {
  #slot;
  constructor(token, slot) {
    checkToken(token);
    this.#slot = slot;
  }
  static {
    slotOf = (ops) => ops.#slot;
  }

  get(keys, options) {
    return settle(() => {
      if (arguments.length === 0) {
        throw new TypeErrorCtor("Failed to execute 'get' on 'DurableObjectStorage': parameter 1 is not of type 'variant'.");
      }
      if (ArrayIsArray(keys)) return native.kvGetMany(this.#slot, stringsOf(keys));
      return native.kvGet(this.#slot, keyString(keys));
    });
  }

  put(keyOrEntries, value, options) {
    return settle(() => {
      if (keyOrEntries !== null && typeof keyOrEntries === 'object' && !ArrayIsArray(keyOrEntries)) {
        if (!isOptionsLike(value)) throw new TypeErrorCtor(PUT_SIGNATURE_MESSAGE);
        const keys = newList();
        const values = newList();
        const list = ObjectEntries(keyOrEntries);
        for (let i = 0; i < list.length; i++) {
          const k = list[i][0];
          const v = list[i][1];
          // As on Cloudflare, entries whose value is undefined are dropped.
          if (v === undefined) continue;
          keys[keys.length] = k;
          values[values.length] = v;
        }
        native.kvPutMany(this.#slot, keys, values);
        return undefined;
      }
      if (value === undefined) throw new TypeErrorCtor('put() called with undefined value.');
      native.kvPut(this.#slot, keyString(keyOrEntries), value);
      return undefined;
    });
  }

  delete(keys, options) {
    return settle(() => {
      if (ArrayIsArray(keys)) return native.kvDeleteMany(this.#slot, stringsOf(keys));
      return native.kvDelete(this.#slot, keyString(keys));
    });
  }

  list(options) {
    return settle(() => native.kvList(this.#slot, ...listArgs(options)));
  }

  getAlarm(options) {
    return settle(() => native.alarmGet(this.#slot));
  }

  setAlarm(scheduledTime, options) {
    return settle(() => {
      const time = alarmTime(scheduledTime);
      if (!(time > 0)) throw new TypeErrorCtor('setAlarm() cannot be called with an alarm time <= 0');
      native.alarmSet(this.#slot, time);
      return undefined;
    });
  }

  deleteAlarm(options) {
    return settle(() => {
      native.alarmDelete(this.#slot);
      return undefined;
    });
  }
}

export class DurableObjectTransaction {
  #ops;
  #slot;
  #depth;
  #state = 'open';  // 'open' | 'rolledBack' | 'done'
  constructor(token, slot, depth) {
    checkToken(token);
    this.#ops = new StorageOperations(kRuntimeToken, slot);
    this.#slot = slot;
    this.#depth = depth;
  }

  #check(op) {
    if (this.#state === 'rolledBack') throw new ErrorCtor(`Cannot ${op} on rolled back transaction`);
    if (this.#state === 'done') {
      throw new ErrorCtor(`Cannot call ${op} on transaction that has already committed: did you move \`txn\` outside of the closure?`);
    }
  }
  #run(op, fn) {
    try {
      this.#check(op);
    } catch (error) {
      return PromiseReject(error);
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
  deleteAll() { return PromiseReject(new ErrorCtor('Cannot call deleteAll() within a transaction')); }

  rollback() {
    if (this.#state === 'rolledBack') return;
    this.#check('rollback()');
    native.txnRollback(this.#slot, this.#depth);
    this.#state = 'rolledBack';
  }

  // Called by transaction() when the closure has settled.
  static {
    finishTransaction = (txn, ok) => {
      if (txn.#state === 'open') {
        if (ok) native.txnCommit(txn.#slot, txn.#depth);
        else native.txnRollback(txn.#slot, txn.#depth);
      }
      txn.#state = 'done';
    };
  }
}
let finishTransaction;

// Cloudflare's errors for the SQLite-only APIs of an object whose class was created by a
// `new_classes` migration.
const NO_SQL_MESSAGE =
  'This Durable Object is not backed by SQLite storage, so the SQL API is not available. ' +
  'SQL can be enabled on a new Durable Object class by using the `new_sqlite_classes` ' +
  'instead of `new_classes` under `[[migrations]]` in your wrangler.toml, but an ' +
  'already-deployed class cannot be converted to SQLite (except by deleting the existing ' +
  'data).';
const NO_SYNC_KV_MESSAGE =
  'The storage.kv (synchronous KV) API is only available for SQLite-backed Durable ' +
  'Objects, but this object\'s namespace is not declared to use SQLite. You can use ' +
  'the older, asyncronous interface via methods of `storage` itself (e.g. ' +
  '`storage.get()`). SQLite can be enabled on a new Durable Object class by using the ' +
  '`new_sqlite_classes` instead of `new_classes` under `migrations` in your ' +
  'wrangler.jsonc or wrangler.toml, but an already-deployed class cannot be converted ' +
  'to SQLite (except by deleting the existing data).';

export class DurableObjectStorage extends StorageOperations {
  #inTransaction = 0;
  #sqlEnabled;
  #sql;
  #kv;

  constructor(token, slot, sqlEnabled = true) {
    super(token, slot);
    this.#sqlEnabled = sqlEnabled;
  }

  get sql() {
    if (this.#sql === undefined) {
      this.#sql = new SqlStorage(kRuntimeToken, slotOf(this), this.#sqlEnabled ? undefined : NO_SQL_MESSAGE);
    }
    return this.#sql;
  }

  get kv() {
    if (this.#kv === undefined) {
      this.#kv = new SyncKvStorage(kRuntimeToken, slotOf(this), this.#sqlEnabled ? undefined : NO_SYNC_KV_MESSAGE);
    }
    return this.#kv;
  }

  deleteAll(options) {
    return settle(() => {
      if (this.#inTransaction > 0) throw new ErrorCtor('Cannot call deleteAll() within a transaction');
      native.kvDeleteAll(slotOf(this));
      return undefined;
    });
  }

  // Runs `closure(txn)` atomically with the input gate held; if it throws (or calls
  // txn.rollback()) nothing it wrote is kept. The object is not reset by a throw.
  async transaction(closure) {
    requireFunction(closure, 'transaction');
    const slot = slotOf(this);
    native.gateLock(slot);
    try {
      const depth = native.txnBegin(slot);
      const txn = new DurableObjectTransaction(kRuntimeToken, slot, depth);
      this.#inTransaction++;
      try {
        const result = await closure(txn);
        finishTransaction(txn, true);
        return result;
      } catch (error) {
        finishTransaction(txn, false);
        throw error;
      } finally {
        this.#inTransaction--;
      }
    } finally {
      native.gateUnlock(slot);
    }
  }

  transactionSync(closure) {
    requireFunction(closure, 'transactionSync');
    const slot = slotOf(this);
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
      return native.sync(slotOf(this));
    } catch (error) {
      return PromiseReject(error);
    }
  }
}
