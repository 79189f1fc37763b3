// One call of ctx.storage.sql.exec(): runs the statements of a query as user SQL (see sql_guard.h)
// and reads the rows of the last one.
//
// Contracts:
// - Every statement but the last runs to completion; the bindings apply to the last one, which is
//   stepped to its first row before Execute returns (so its writes happen even if no row is ever
//   read). A statement that writes runs to completion at once, its rows (RETURNING) kept in
//   memory: no write statement stays open past the call, so the engine's end-of-turn COMMIT never
//   meets one. A read-only statement stays open and is read row by row.
// - A statement that writes first joins the database's implicit transaction, so that SQL and
//   key-value writes of one turn commit together; pure reads open none.
// - The engine keeps a database with open cursors from closing when idle. When it closes anyway
//   (eviction, reset, shutdown) or deleteAll() runs while a cursor is still open, the cursor is
//   canceled, as workerd cancels queries when it resets a database: reading it further throws
//   kSqlCursorCanceledMessage. Its remaining rows are never read into memory, which an unread
//   cursor over a huge (or endless recursive) query would fill without bound.
// - Errors: SqlError for errors of the query itself, worded as Cloudflare words them
//   ("<message>[ at offset N]: <CODE>[ (extended: <CODE>)]"); StorageError for a critical failure
//   (I/O, disk full, corruption), after which the object must be reset.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/object_database.h"

struct sqlite3_stmt;

namespace dorm::storage {

class SqlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What reading a canceled cursor throws (workerd's wording).
extern const char kSqlCursorCanceledMessage[];

// A SQL value: NULL, INTEGER, REAL, TEXT (UTF-8) or BLOB.
struct SqlBlob {
  std::string bytes;
};
using SqlValue = std::variant<std::monostate, int64_t, double, std::string, SqlBlob>;

class SqlCursor : public DatabaseClient {
 public:
  // Runs `query` on `db` with `bindings` for its last statement.
  static std::unique_ptr<SqlCursor> Execute(ObjectDatabase* db, std::string_view query,
                                            const std::vector<SqlValue>& bindings);
  ~SqlCursor() override;

  const std::vector<std::string>& column_names() const { return columns_; }
  // The next row; false once there is none (the statement is then finished).
  bool Next(std::vector<SqlValue>* row);
  // Rows the statements visited and rows they changed, so far.
  int64_t rows_read() const { return rows_read_; }
  int64_t rows_written() const { return rows_written_; }

  void OnDatabaseClosing() override;

 private:
  explicit SqlCursor(ObjectDatabase* db) : db_(db) {}
  // Steps the open statement once, appending a row to `pending_` or finishing it.
  void Step();
  void Finish();
  void UpdateCounts();

  ObjectDatabase* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::vector<std::string> columns_;
  std::deque<std::vector<SqlValue>> pending_;  // rows read ahead of the caller
  int64_t rows_read_ = 0;
  int64_t rows_written_ = 0;
  int64_t rows_returned_ = 0;
  int64_t total_changes_before_ = 0;
  int64_t earlier_read_ = 0;  // rows read by the statements before the last
  bool canceled_ = false;
};

// The wording of SQLite's current error on `db` for result code `rc`.
std::string SqlErrorMessage(sqlite3* db, int rc);

}  // namespace dorm::storage
