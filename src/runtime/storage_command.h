// The storage browser's commands (`dorm storage list|get|put|delete|sql`): read or change one
// object's storage as an event of that object (StorageCommandEvent), so that they run on its
// thread, between its turns, behind its input gate, and a concurrent request sees the storage
// before or after a command, never half of it.
//
// Values are the structured clones storage.get() reads, shown as JSON. What JSON cannot hold is
// shown in a tagged form, an object whose "$type" names it (README "Operating Dorm" lists them):
// {"$type":"undefined"}, {"$type":"number","value":"NaN"}, {"$type":"bigint","value":"12"},
// {"$type":"Date","value":"2025-01-01T00:00:00.000Z"}, {"$type":"Map","entries":[[k,v]...]},
// {"$type":"Set","values":[...]}, {"$type":"ArrayBuffer","base64":"..."}, a typed array or
// DataView by its class with "base64", {"$type":"RegExp","source","flags"},
// {"$type":"Error","name","message"}, boxed primitives by class with "value", {"$type":"hole"}
// for an array's empty slot, {"$type":"Circular"} for a reference back to a value being shown,
// and {"$type":"Object","value":{...}} for a plain object that has a "$type" key of its own.
// A value too large or too deep to show is {"$type":"TooLarge","serialized_bytes":N} or
// {"$type":"TooDeep"}; bytes that cannot be read back are {"$type":"Undecodable","error"}.
//
// `put` takes plain JSON (objects, arrays, strings, numbers, booleans, null), stored as the
// structured clone of the parsed value.
#pragma once

#include <string>

namespace dorm::runtime {

struct StorageCommand {
  // kSnapshot and kReplace work on the object's database file as a whole (export, import and
  // backup; thread_engine_database_files.cc) and never construct the object: kSnapshot writes a
  // consistent copy of it to `file_path` (answering {"bytes": N}, or 404 when the object has no
  // storage); kReplace makes the checked database file at `file_path` the object's, resetting the
  // object if it is live (answering {"replaced": true}). `file_path` comes from the server itself,
  // never from a client.
  enum class Op { kList, kGet, kPut, kDelete, kSql, kSnapshot, kReplace };
  Op op = Op::kList;
  std::string key;          // get, put, delete
  std::string value_json;   // put
  std::string prefix;       // list
  std::string start_after;  // list: the last key of the previous page
  int limit = 100;          // list: entries; sql: rows (1..kMaxLimit)
  std::string sql;          // sql: one statement
  std::string params_json;  // sql: a JSON array of the ? parameters (may be empty)
  bool write = false;       // sql: the statement may change the database
  std::string file_path;    // snapshot, replace

  static constexpr int kMaxLimit = 1000;
  // Whether the command may change the database (the caller opens or creates it for writing and
  // commits after).
  bool writes() const { return op == Op::kPut || op == Op::kDelete || (op == Op::kSql && write); }
  // Whether the command works on the database file rather than through the object's storage API.
  bool on_file() const { return op == Op::kSnapshot || op == Op::kReplace; }
};

}  // namespace dorm::runtime
