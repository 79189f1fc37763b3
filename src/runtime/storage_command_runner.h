// Runs the storage browser's commands (storage_command.h) on an object's database, converting
// between stored structured clones and the tagged JSON that storage_command.h describes.
#pragma once

#include <v8.h>

#include "runtime/http_message.h"
#include "runtime/storage_command.h"

namespace dorm::storage {
class ObjectDatabase;
}  // namespace dorm::storage

namespace dorm::runtime {

// Runs `command` on `db` (null when the object has no database and the command does not write)
// and returns the JSON answer (errors as HttpResponseData::JsonError: 400 for a bad command, 404
// for a missing key). Writes go into the database's implicit transaction, which the caller
// commits; `*wrote` says whether there may be any.
//
// Must run on the object's thread between its turns, with `isolate` entered and `context` a fresh
// context of the caller's (no tenant code or prototype is reached: values are walked through the
// V8 API, which runs no JavaScript for what structured clone produces). Throws
// storage::StorageError when the database fails.
HttpResponseData RunStorageCommand(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                   storage::ObjectDatabase* db, const StorageCommand& command,
                                   bool* wrote);

}  // namespace dorm::runtime
