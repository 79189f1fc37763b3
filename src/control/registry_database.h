// What the control plane's stores that share DATA/registry.sqlite (the class registry, the env
// store and the credentials store) need from SQLite: opening the file the same way, checking result
// codes, and prepared statements that finalize themselves.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

namespace dorm::control {

// Throws std::runtime_error("<owner> <what>: <SQLite's message>") unless `rc` is SQLITE_OK,
// SQLITE_DONE or SQLITE_ROW.
void CheckSqlite(sqlite3* db, int rc, const std::string& owner, const char* what);

using SqliteStatement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

// Prepares `sql` on `db`; throws as CheckSqlite does.
SqliteStatement PrepareSqlite(sqlite3* db, const char* sql, const std::string& owner);

// Binds `text` (or `bytes`, as a blob) to parameter `index`; SQLite copies it.
void BindSqliteText(sqlite3_stmt* statement, int index, const std::string& text);
void BindSqliteBlob(sqlite3_stmt* statement, int index, const std::string& bytes);
// Column `index` of the current row as bytes (a NULL reads as empty).
std::string SqliteColumnBytes(sqlite3_stmt* statement, int index);

// Opens (creating it if needed) DATA/registry.sqlite for a store named `owner`: serialized
// (the connection may be used from any thread), WAL with synchronous=FULL, and a 10 s busy
// timeout, since each of these stores holds a connection of its own to the file.
// The caller owns the result and closes it with sqlite3_close_v2. Throws std::runtime_error
// if the file cannot be opened or set up (nothing is left open then).
sqlite3* OpenRegistryDatabase(const std::string& data_dir, const std::string& owner);

}  // namespace dorm::control
