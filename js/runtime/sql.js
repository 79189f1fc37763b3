// ctx.storage.sql: SqlStorage and its cursors over the host's SQL natives (see
// src/runtime/sql_natives.h). A cursor reads its rows from the host one at a time (toArray() in
// one call); the host has already run the query up to its first row when exec() returns.
import { native } from './native.js';
import {
  ArrayBufferCtor, ArrayBufferIsView, ArrayIsArray, ErrorCtor, JSONStringify, MapCtor, MapPrototypeClear,
  MapPrototypeGet, MapPrototypeGetSize, MapPrototypeSet, ObjectDefineProperty, StringCtor, TypeErrorCtor, Uint8ArrayCtor,
  checkToken, kRuntimeToken, keyString, newList,
} from './primordials.js';

const NO_RESULTS = 'Expected exactly one result from SQL query, but got no results.';
const MULTIPLE_RESULTS = 'Expected exactly one result from SQL query, but got multiple results.';

// A binding as the host takes it: a number, a string, null or bytes. As on Cloudflare, other
// values become strings (true → "true"), and a BigInt is refused.
function binding(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (value instanceof ArrayBufferCtor) return new Uint8ArrayCtor(value);
  // Views are passed as they are: the host copies their bytes itself.
  if (ArrayBufferIsView(value)) return value;
  if (typeof value === 'bigint') throw new TypeErrorCtor('Cannot convert a BigInt value to a number');
  if (typeof value === 'symbol') throw new TypeErrorCtor('Cannot convert a Symbol value to a string');
  return StringCtor(value);
}

// A row as an object, from `values` starting at `offset`; of duplicate column names the later wins.
function rowObject(columns, values, offset = 0) {
  const row = {};
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i];
    if (name === '__proto__') {
      ObjectDefineProperty(row, name, { value: values[offset + i], writable: true, enumerable: true, configurable: true });
    } else {
      row[name] = values[offset + i];
    }
  }
  return row;
}

// Row makers by column names (see rowMaker); a few dozen shapes of rows cover an application.
const MAX_ROW_MAKERS = 64;
const rowMakers = new MapCtor();

// A function (values, offset) making a row object of `columns` from the values at `offset` on,
// or null. It creates the object as one literal with the names written in, so that every row of
// a query shares one shape: setting the names one by one takes V8's generic keyed path for every
// value. The host compiles it (null for names a literal cannot take, such as __proto__); the
// functions are shared by every object of the app and hold no data.
function rowMaker(columns) {
  const key = JSONStringify(columns);
  let maker = MapPrototypeGet(rowMakers, key);
  if (maker === undefined) {
    maker = native.sqlRowMaker(columns) ?? null;
    if (MapPrototypeGetSize(rowMakers) >= MAX_ROW_MAKERS) MapPrototypeClear(rowMakers);
    MapPrototypeSet(rowMakers, key, maker);
  }
  return maker;
}

export class SqlStorageCursor {
  #slot;
  #handle;
  #columns;
  #maker;  // undefined until the first row object; then rowMaker's answer
  constructor(token, slot, handle) {
    checkToken(token);
    this.#slot = slot;
    this.#handle = handle;
  }

  // The next row's values, or undefined once there are none.
  _nextValues() {
    return native.sqlNext(this.#slot, this.#handle);
  }
  _restValues() {
    return native.sqlRest(this.#slot, this.#handle);
  }
  #names() {
    if (this.#columns === undefined) this.#columns = native.sqlColumns(this.#handle);
    return this.#columns;
  }

  #makeRow(values, offset = 0) {
    if (this.#maker === undefined) this.#maker = rowMaker(this.#names());
    return this.#maker === null ? rowObject(this.#names(), values, offset) : this.#maker(values, offset);
  }

  next() {
    const values = this._nextValues();
    if (values === undefined) return { done: true, value: undefined };
    return { done: false, value: this.#makeRow(values) };
  }

  toArray() {
    // Every remaining row's values in one array, row after row. The row objects replace them in
    // place (row r is made from positions r * width on before position r is written), so that no
    // new array is filled through [[Set]], which would reach setters put on Array.prototype.
    const values = native.sqlRestFlat(this.#slot, this.#handle);
    const width = this.#names().length;
    let count = 0;
    if (width > 0) {
      for (let offset = 0; offset < values.length; offset += width) values[count++] = this.#makeRow(values, offset);
    }
    values.length = count;
    return values;
  }

  one() {
    const first = this._nextValues();
    if (first === undefined) throw new ErrorCtor(NO_RESULTS);
    if (this._nextValues() !== undefined) throw new ErrorCtor(MULTIPLE_RESULTS);
    return rowObject(this.#names(), first);
  }

  // The same rows as arrays of values; it shares its position with this cursor.
  raw() {
    return new SqlStorageRawIterator(this);
  }

  get columnNames() {
    return [...this.#names()];
  }
  get rowsRead() {
    return native.sqlCounts(this.#handle)[0];
  }
  get rowsWritten() {
    return native.sqlCounts(this.#handle)[1];
  }

  [Symbol.iterator]() {
    return this;
  }
}

class SqlStorageRawIterator {
  #cursor;
  constructor(cursor) {
    this.#cursor = cursor;
  }
  next() {
    const values = this.#cursor._nextValues();
    return values === undefined ? { done: true, value: undefined } : { done: false, value: values };
  }
  toArray() {
    return this.#cursor._restValues();
  }
  get columnNames() {
    return this.#cursor.columnNames;
  }
  get rowsRead() {
    return this.#cursor.rowsRead;
  }
  get rowsWritten() {
    return this.#cursor.rowsWritten;
  }
  [Symbol.iterator]() {
    return this;
  }
}

export class SqlStorage {
  #slot;
  #refusal;
  // `refusal`: the message every use fails with (an object without SQLite storage), or undefined.
  constructor(token, slot, refusal = undefined) {
    checkToken(token);
    this.#slot = slot;
    this.#refusal = refusal;
  }

  exec(query, ...bindings) {
    if (this.#refusal !== undefined) throw new ErrorCtor(this.#refusal);
    const values = bindings.length === 0 ? [] : newList();
    for (let i = 0; i < bindings.length; i++) values[i] = binding(bindings[i]);
    if (query === undefined) {
      throw new TypeErrorCtor("Failed to execute 'exec' on 'SqlStorage': parameter 1 is not of type 'String'.");
    }
    const handle = native.sqlExec(this.#slot, keyString(query), values);
    return new SqlStorageCursor(kRuntimeToken, this.#slot, handle);
  }

  // Bytes used by the database: pages in use times the page size.
  get databaseSize() {
    if (this.#refusal !== undefined) throw new ErrorCtor(this.#refusal);
    return native.databaseSize(this.#slot);
  }
}
