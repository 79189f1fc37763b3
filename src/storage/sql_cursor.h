// One call of ctx.storage.sql.exec(): runs the statements of a query as user SQL (see sql_guard.h)
// and reads the rows of the last one.
//
// Contracts:
// - Every statement but the last runs to completion; the bindings apply to the last one, which is
//   stepped to its first row before Execute returns (so its writes happen even if no row is ever
//   read). A statement that writes runs to completion at once, its rows (RETURNING) kept in
//   memory: no write statement stays open past the call, so the engine's end-of-turn COMMIT never
//   meets one. A read-only statement stays open and is read row by row, one row ahead of the
//   caller as workerd reads (taking a row steps to the next one, so an error of the next row is
//   thrown by the call that takes the row before it).
// - rows_read()/rows_written() are those of the last statement only, as far as workerd's cursor
//   would have stepped it (see sql_row_counts.h): the statements before it count for nothing.
// - A statement that writes first joins the database's implicit transaction, so that SQL and
//   key-value writes of one turn commit together; pure reads open none.
// - The engine keeps a database with open cursors from closing when idle. When it closes anyway
//   (eviction, reset, shutdown) or deleteAll() runs while a cursor is still open, the cursor is
//   canceled, as workerd cancels queries when it resets a database: reading it further throws
//   kSqlCursorCanceledMessage, even for the row already read ahead or the RETURNING rows of a
//   write not yet taken. Its remaining rows are never read into memory, which an unread cursor
//   over a huge (or endless recursive) query would fill without bound.
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
#include "storage/sql_row_counts.h"
#include "util/function_ref.h"

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

// One row, read in place: valid only during the call it is given to. Columns are 0-based and
// below size(); text() is UTF-8 as stored.
class SqlRowView {
 public:
  enum class Type { kNull, kInteger, kReal, kText, kBlob };
  virtual ~SqlRowView() = default;
  virtual int size() const = 0;
  virtual Type type(int column) const = 0;
  // Each only for a column of its type.
  virtual int64_t integer(int column) const = 0;
  virtual double real(int column) const = 0;
  virtual std::string_view text(int column) const = 0;
  virtual std::string_view blob(int column) const = 0;
};

// A row already copied out of SQLite, seen through SqlRowView. Does not own `row`.
class SqlStoredRowView final : public SqlRowView {
 public:
  explicit SqlStoredRowView(const std::vector<SqlValue>& row) : row_(row) {}
  int size() const override { return static_cast<int>(row_.size()); }
  Type type(int column) const override { return static_cast<Type>(row_[column].index()); }
  int64_t integer(int column) const override { return std::get<int64_t>(row_[column]); }
  double real(int column) const override { return std::get<double>(row_[column]); }
  std::string_view text(int column) const override { return std::get<std::string>(row_[column]); }
  std::string_view blob(int column) const override { return std::get<SqlBlob>(row_[column]).bytes; }

 private:
  const std::vector<SqlValue>& row_;
};

class SqlCursor : public DatabaseClient {
 public:
  // Runs `query` on `db` with `bindings` for its last statement.
  static std::unique_ptr<SqlCursor> Execute(ObjectDatabase* db, std::string_view query,
                                            const std::vector<SqlValue>& bindings);
  ~SqlCursor() override;

  const std::vector<std::string>& column_names() const { return columns_; }
  // The next row; false once there is none (the statement is then finished).
  bool Next(std::vector<SqlValue>* row);
  // Every remaining row, in order, to `visit` (which must not use this cursor); the statement is
  // then finished. Rows not yet read ahead are given straight from SQLite, without a copy. Throws
  // as Next() does, after giving the rows before the failing one.
  void TakeRest(FunctionRef<void(const SqlRowView&)> visit);
  // Rows the last statement read and wrote so far, as workerd counts them.
  int64_t rows_read() const { return Counts().read; }
  int64_t rows_written() const { return Counts().written; }

  void OnDatabaseClosing() override;

 private:
  explicit SqlCursor(ObjectDatabase* db) : db_(db) {}
  // Steps the open statement once, appending a row to `pending_` or finishing it.
  void Step();
  // sqlite3_step() of the open statement, as user SQL.
  int StepStatement();
  // Bookkeeping of a step that gave a row (the row is still SQLite's current one).
  void NoteRow();
  // After a step that gave no row (`rc`): finishes the statement; throws for an error.
  void FinishStatement(int rc);
  // Finalizes the statement; the cursor stays a client of the database while rows are left.
  void Finish();
  void Unregister();
  // Keeps SQLite's counters after the `steps`-th step (the statement is still open).
  void RecordCounters(int64_t steps) const;
  RowCounts Counts() const;

  ObjectDatabase* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::vector<std::string> columns_;
  std::deque<std::vector<SqlValue>> pending_;  // rows read ahead of the caller
  int64_t rows_returned_ = 0;                  // rows stepped to
  int64_t rows_taken_ = 0;                     // rows handed to the caller
  bool writes_ = false;  // whether the statement is not read-only (then run at once)
  // What counts the statement's rows (null: only SQLite's own counters).
  std::shared_ptr<const StatementShape> shape_;
  // SQLite's counters after the latest step (a read) or after each step (a write, run at once:
  // the counts follow the caller's position as if it had been stepped as the rows are taken).
  // A read's counters are taken when asked for (or before the statement is finalized), not on
  // every row: `counters_stale_` says the latest rows are not in them yet.
  mutable std::vector<StepCounters> step_counters_;
  mutable bool counters_stale_ = false;
  int64_t changes_ = 0;      // rows the statement changed, once it has run
  WriteEvents events_;       // rows it inserted and updated, once it has run
  int64_t table_count_ = 0;  // see StatementShape::counts_table()
  bool canceled_ = false;
  bool registered_ = false;  // a client of db_ (it may cancel the cursor)
};

// The wording of SQLite's current error on `db` for result code `rc`.
std::string SqlErrorMessage(sqlite3* db, int rc);

}  // namespace dorm::storage
