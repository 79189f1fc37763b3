// The parts of the SQL natives (sql_natives.cc) that others need.
#pragma once

#include <v8.h>

#include "runtime/object_host.h"

namespace dorm::runtime {

// The callback data of the SQL natives: the host and the constructor of cursor handles.
v8::Local<v8::Value> SqlNativesData(ObjectHost* host, v8::Isolate* isolate,
                                    v8::Local<v8::Context> context);

// Frees the cursors still held by `isolate`'s handles. Call before disposing the isolate.
void ReleaseSqlCursors(v8::Isolate* isolate);

}  // namespace dorm::runtime
