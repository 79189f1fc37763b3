#include "storage/admin_sql.h"

#include <sqlite3.h>

#include <cctype>
#include <cstring>

#include "storage/object_database.h"
#include "storage/sql_guard.h"

namespace dorm::storage {

namespace {

const char kNeedsWriteMessage[] =
    "The statement may change the database: run it with --write (\"write\": true) to allow "
    "changes.";

// Finalizes the statement however the run ends.
struct AdminStatement {
  sqlite3_stmt* stmt = nullptr;
  ~AdminStatement() { sqlite3_finalize(stmt); }
};

bool OnlySpaceOrComments(const char* tail) {
  // SQLite leaves trailing whitespace and comments in the tail; anything else is a second
  // statement, which is refused (one statement, one answer).
  const char* p = tail;
  while (*p) {
    if (std::isspace(static_cast<unsigned char>(*p))) {
      ++p;
    } else if (p[0] == '-' && p[1] == '-') {
      while (*p && *p != '\n') ++p;
    } else if (p[0] == '/' && p[1] == '*') {
      const char* end = std::strstr(p + 2, "*/");
      if (!end) return true;
      p = end + 2;
    } else if (*p == ';') {
      ++p;
    } else {
      return false;
    }
  }
  return true;
}

size_t ValueBytes(const SqlValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return s->size() + 8;
  if (const auto* b = std::get_if<SqlBlob>(&v)) return b->bytes.size() * 4 / 3 + 32;
  return 16;
}

}  // namespace

AdminSqlResult RunAdminSql(ObjectDatabase& db, const std::string& sql,
                           const std::vector<SqlValue>& params, bool allow_writes, size_t max_rows,
                           size_t max_bytes) {
  AdminSqlResult result;
  sqlite3* handle = db.handle();
  AdminStatement st;
  const char* tail = nullptr;
  int rc;
  {
    AdminSqlScope scope(allow_writes);
    rc = sqlite3_prepare_v2(handle, sql.c_str(), static_cast<int>(sql.size()), &st.stmt, &tail);
    if (rc != SQLITE_OK) {
      result.error =
          !allow_writes && scope.write_denied() ? kNeedsWriteMessage : sqlite3_errmsg(handle);
      return result;
    }
  }
  if (!st.stmt) {
    result.error = "The SQL holds no statement.";
    return result;
  }
  if (tail && !OnlySpaceOrComments(tail)) {
    result.error = "Only one SQL statement can be run at a time.";
    return result;
  }
  const bool reads_only = sqlite3_stmt_readonly(st.stmt) != 0;
  if (!reads_only && !allow_writes) {
    result.error = kNeedsWriteMessage;
    return result;
  }
  if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(st.stmt)) {
    result.error = "The statement has " + std::to_string(sqlite3_bind_parameter_count(st.stmt)) +
                   " parameters but " + std::to_string(params.size()) + " were given.";
    return result;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    const SqlValue& p = params[i];
    if (const auto* n = std::get_if<int64_t>(&p)) {
      sqlite3_bind_int64(st.stmt, index, *n);
    } else if (const auto* d = std::get_if<double>(&p)) {
      sqlite3_bind_double(st.stmt, index, *d);
    } else if (const auto* s = std::get_if<std::string>(&p)) {
      sqlite3_bind_text(st.stmt, index, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
    } else if (const auto* b = std::get_if<SqlBlob>(&p)) {
      sqlite3_bind_blob(st.stmt, index, b->bytes.data(), static_cast<int>(b->bytes.size()),
                        SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(st.stmt, index);
    }
  }
  const int columns = sqlite3_column_count(st.stmt);
  for (int c = 0; c < columns; ++c) {
    const char* name = sqlite3_column_name(st.stmt, c);
    result.columns.emplace_back(name ? name : "");
  }
  // A write joins the object's implicit transaction, committed (and flushed) by the caller with
  // the object's other writes; on an error SQLite undoes the statement alone. (Opened outside
  // the scope, which refuses transaction control.)
  if (!reads_only) db.EnsureTransaction();
  // SQLite may prepare the statement again while it steps (after a schema change): the same
  // rules apply.
  AdminSqlScope scope(allow_writes);
  size_t bytes = 0;
  for (;;) {
    rc = sqlite3_step(st.stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      StorageError error(sqlite3_errmsg(handle), rc);
      if (error.critical()) throw error;
      result.columns.clear();
      result.rows.clear();
      result.truncated = false;
      result.error = error.what();
      return result;
    }
    if (result.rows.size() >= max_rows || bytes >= max_bytes) {
      result.truncated = true;
      // A writing statement runs to its end: stopping it midway would commit half of it.
      if (!reads_only) continue;
      break;
    }
    std::vector<SqlValue> row;
    row.reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(st.stmt, c)) {
        case SQLITE_INTEGER:
          row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(st.stmt, c)));
          break;
        case SQLITE_FLOAT:
          row.emplace_back(sqlite3_column_double(st.stmt, c));
          break;
        case SQLITE_TEXT: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.stmt, c));
          row.emplace_back(
              std::string(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(st.stmt, c))));
          break;
        }
        case SQLITE_BLOB: {
          const void* blob = sqlite3_column_blob(st.stmt, c);
          const int size = sqlite3_column_bytes(st.stmt, c);
          row.emplace_back(SqlBlob{
              std::string(static_cast<const char*>(blob), blob ? static_cast<size_t>(size) : 0)});
          break;
        }
        default:
          row.emplace_back(std::monostate{});
      }
      bytes += ValueBytes(row.back());
    }
    result.rows.push_back(std::move(row));
  }
  if (!reads_only) result.rows_written = sqlite3_changes64(handle);
  return result;
}

}  // namespace dorm::storage
