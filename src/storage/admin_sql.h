// One statement of an operator's SQL (the storage browser's `dorm storage sql`) on an object's
// database, under AdminSqlScope (sql_guard.h): read-only unless asked, with every row and byte of
// the answer bounded. V8-free.
//
// Threading: on the thread that uses the database, between the object's turns. Writes go into the
// database's implicit transaction (opened here); the caller commits it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "storage/sql_cursor.h"

namespace dorm::storage {

class ObjectDatabase;

struct AdminSqlResult {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;
  bool truncated = false;      // more rows than max_rows, or more bytes than max_bytes
  long long rows_written = 0;  // sqlite3_changes() of a statement that wrote
  std::string error;           // set (and nothing else) when the statement was refused or failed
};

// Runs `sql`, which must be exactly one statement, binding `params` to its ? parameters.
// Without `allow_writes`, a statement that could change the database is refused before it runs.
// Stops after `max_rows` rows or about `max_bytes` bytes of values. Throws StorageError only
// for failures that make the database untrustworthy (StorageError::critical()).
AdminSqlResult RunAdminSql(ObjectDatabase& db, const std::string& sql,
                           const std::vector<SqlValue>& params, bool allow_writes, size_t max_rows,
                           size_t max_bytes);

}  // namespace dorm::storage
