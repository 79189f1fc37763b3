// The native functions behind ctx.storage.sql (js/runtime/sql.js):
//
// | function | contract |
// | --- | --- |
// | `sqlExec(slot, query, bindings: (number\|string\|null\|Uint8Array)[]) → cursor` | runs the
// query (storage/sql_cursor.h); `cursor` is an opaque handle | | `sqlNext(slot, cursor) → any[] \|
// undefined` | the next row's values, undefined when done | | `sqlRest(slot, cursor) → any[][]` |
// every remaining row | | `sqlColumns(cursor) → string[]` | | | `sqlCounts(cursor) → [rowsRead,
// rowsWritten]` | |
//
// Values come back as numbers (INTEGER and REAL), strings, ArrayBuffers (BLOB) and null. Errors of
// the query throw an Error with SQLite's wording; a critical storage failure also resets the
// object. A statement that writes marks the object written, so that the end of the turn commits it.
#pragma once

#include <v8.h>

namespace dorm::runtime {

class ThreadEngine;

// `engine` may be null (see MakeNatives in runtime/natives.h).
void AddSqlNatives(ThreadEngine* engine, v8::Isolate* isolate, v8::Local<v8::Context> context,
                   v8::Local<v8::Object> natives);

// Frees the cursors of `isolate` that its garbage collector has not freed yet (V8 runs no weak
// callback when an isolate is disposed). Call on the isolate's thread, before disposing it.
void ReleaseSqlCursors(v8::Isolate* isolate);

}  // namespace dorm::runtime
