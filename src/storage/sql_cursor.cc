#include "storage/sql_cursor.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>

#include "storage/sql_guard.h"

namespace dorm::storage {

const char kSqlCursorCanceledMessage[] =
    "SQLite query was canceled because the database was deleted.";

namespace {

const char* ExtendedCodeName(int code) {
  switch (code) {
    case SQLITE_CONSTRAINT_CHECK:
      return "SQLITE_CONSTRAINT_CHECK";
    case SQLITE_CONSTRAINT_COMMITHOOK:
      return "SQLITE_CONSTRAINT_COMMITHOOK";
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return "SQLITE_CONSTRAINT_FOREIGNKEY";
    case SQLITE_CONSTRAINT_FUNCTION:
      return "SQLITE_CONSTRAINT_FUNCTION";
    case SQLITE_CONSTRAINT_NOTNULL:
      return "SQLITE_CONSTRAINT_NOTNULL";
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return "SQLITE_CONSTRAINT_PRIMARYKEY";
    case SQLITE_CONSTRAINT_TRIGGER:
      return "SQLITE_CONSTRAINT_TRIGGER";
    case SQLITE_CONSTRAINT_UNIQUE:
      return "SQLITE_CONSTRAINT_UNIQUE";
    case SQLITE_CONSTRAINT_VTAB:
      return "SQLITE_CONSTRAINT_VTAB";
    case SQLITE_CONSTRAINT_ROWID:
      return "SQLITE_CONSTRAINT_ROWID";
    case SQLITE_CONSTRAINT_PINNED:
      return "SQLITE_CONSTRAINT_PINNED";
    case SQLITE_CONSTRAINT_DATATYPE:
      return "SQLITE_CONSTRAINT_DATATYPE";
    case SQLITE_ERROR_MISSING_COLLSEQ:
      return "SQLITE_ERROR_MISSING_COLLSEQ";
    case SQLITE_ERROR_RETRY:
      return "SQLITE_ERROR_RETRY";
    case SQLITE_ERROR_SNAPSHOT:
      return "SQLITE_ERROR_SNAPSHOT";
    case SQLITE_ABORT_ROLLBACK:
      return "SQLITE_ABORT_ROLLBACK";
    case SQLITE_LOCKED_SHAREDCACHE:
      return "SQLITE_LOCKED_SHAREDCACHE";
    case SQLITE_LOCKED_VTAB:
      return "SQLITE_LOCKED_VTAB";
    case SQLITE_CORRUPT_VTAB:
      return "SQLITE_CORRUPT_VTAB";
    case SQLITE_CORRUPT_SEQUENCE:
      return "SQLITE_CORRUPT_SEQUENCE";
    case SQLITE_CORRUPT_INDEX:
      return "SQLITE_CORRUPT_INDEX";
    case SQLITE_READONLY_DBMOVED:
      return "SQLITE_READONLY_DBMOVED";
    case SQLITE_AUTH_USER:
      return "SQLITE_AUTH_USER";
    default:
      return nullptr;
  }
}

// Failures after which the database can no longer be trusted: the object must be reset.
bool Critical(int rc) {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
      return true;
    default:
      return false;
  }
}

const char* SkipSpace(const char* p, const char* end) {
  while (p < end && std::isspace(static_cast<unsigned char>(*p))) ++p;
  return p;
}

struct StatementGuard {
  sqlite3_stmt* stmt;
  ~StatementGuard() { sqlite3_finalize(stmt); }
};

}  // namespace

std::string SqlErrorMessage(sqlite3* db, int rc) {
  std::string message = sqlite3_errmsg(db);
  int offset = sqlite3_error_offset(db);
  if (offset >= 0) message += " at offset " + std::to_string(offset);
  message += ": ";
  message += SqliteCodeName(rc);
  int extended = sqlite3_extended_errcode(db);
  if (extended != (rc & 0xff) && (extended & 0xff) == (rc & 0xff)) {
    if (const char* name = ExtendedCodeName(extended)) {
      message += std::string(" (extended: ") + name + ")";
    }
  }
  return message;
}

std::unique_ptr<SqlCursor> SqlCursor::Execute(ObjectDatabase* db, std::string_view query,
                                              const std::vector<SqlValue>& bindings) {
  sqlite3* handle = db->handle();
  std::unique_ptr<SqlCursor> cursor(new SqlCursor(db));
  const std::string text(query);
  const char* end = text.data() + text.size();
  const char* p = SkipSpace(text.data(), end);
  for (;;) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc;
    bool transaction_denied;
    {
      UserSqlScope scope;
      rc = sqlite3_prepare_v3(handle, p, static_cast<int>(end - p), 0, &stmt, &tail);
      transaction_denied = scope.transaction_denied();
    }
    if (rc != SQLITE_OK) {
      if (transaction_denied) throw SqlError(kSqlTransactionMessage);
      throw SqlError(SqlErrorMessage(handle, rc));
    }
    if (stmt == nullptr) throw SqlError("SQL code did not contain a statement.");
    const std::string_view statement(p, static_cast<size_t>(tail - p));
    tail = SkipSpace(tail, end);
    const bool last = tail == end;
    if (!sqlite3_stmt_readonly(stmt)) {
      try {
        db->EnsureTransaction();
      } catch (...) {
        sqlite3_finalize(stmt);
        throw;
      }
    }
    if (!last) {
      StatementGuard guard{stmt};
      // Bindings belong to the last statement only. An earlier statement with parameters is
      // refused before it runs (as workerd does), instead of running with NULLs and leaving a
      // partial write behind when the call then fails.
      if (sqlite3_bind_parameter_count(stmt) > 0) {
        throw SqlError(
            "When executing multiple SQL statements in a single call, only the last statement can "
            "have parameters.");
      }
      {
        UserSqlScope scope;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        }
      }
      if (!sqlite3_stmt_readonly(stmt)) StatementShape::AfterWrite(handle, statement);
      if (rc != SQLITE_DONE) {
        std::string message = SqlErrorMessage(handle, rc);
        if (Critical(rc)) throw StorageError(message, rc);
        throw SqlError(message);
      }
      p = tail;
      continue;
    }
    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(bindings.size())) {
      sqlite3_finalize(stmt);
      throw SqlError("Wrong number of parameter bindings for SQL query.");
    }
    for (size_t i = 0; i < bindings.size() && rc == SQLITE_OK; ++i) {
      int index = static_cast<int>(i) + 1;
      const SqlValue& v = bindings[i];
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, index, *n);
      } else if (auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, index, *d);
      } else if (auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      } else {
        const std::string& bytes = std::get<SqlBlob>(v).bytes;
        // A null pointer would bind NULL, not an empty BLOB.
        rc = bytes.empty()
                 ? sqlite3_bind_zeroblob(stmt, index, 0)
                 : sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
      }
    }
    if (rc != SQLITE_OK) {
      std::string message = SqlErrorMessage(handle, rc);
      sqlite3_finalize(stmt);
      throw SqlError(message);
    }
    const int columns = sqlite3_column_count(stmt);
    for (int i = 0; i < columns; ++i) cursor->columns_.emplace_back(sqlite3_column_name(stmt, i));
    // Read before the statement runs: it may change the schema the bytecode is listed against.
    cursor->shape_ = StatementShape::Of(handle, statement);
    cursor->writes_ = !sqlite3_stmt_readonly(stmt);
    cursor->stmt_ = stmt;
    db->AddClient(cursor.get());
    cursor->registered_ = true;
    if (!cursor->writes_) {
      cursor->Step();
      return cursor;
    }
    const int64_t changes_before = sqlite3_total_changes64(handle);
    try {
      WriteEventCounter counter(handle, &cursor->events_);
      while (cursor->stmt_) cursor->Step();
    } catch (...) {
      StatementShape::AfterWrite(handle, statement);
      throw;
    }
    cursor->changes_ = sqlite3_total_changes64(handle) - changes_before;
    StatementShape::AfterWrite(handle, statement);
    return cursor;
  }
}

SqlCursor::~SqlCursor() {
  Finish();
  Unregister();
}

int SqlCursor::StepStatement() {
  UserSqlScope scope;
  return sqlite3_step(stmt_);
}

void SqlCursor::NoteRow() {
  ++rows_returned_;
  if (rows_returned_ == 1 && shape_ && shape_->counts_table() && !columns_.empty() &&
      sqlite3_column_type(stmt_, 0) == SQLITE_INTEGER) {
    table_count_ = sqlite3_column_int64(stmt_, 0);
  }
  // A write's counts follow each step (see step_counters_); a read's only its latest.
  if (writes_) {
    RecordCounters(rows_returned_);
  } else {
    counters_stale_ = true;
  }
}

void SqlCursor::FinishStatement(int rc) {
  RecordCounters(rows_returned_ + 1);
  if (rc == SQLITE_DONE) {
    Finish();
    return;
  }
  std::string message = SqlErrorMessage(db_->handle(), rc);
  Finish();
  if (Critical(rc)) throw StorageError(message, rc);
  throw SqlError(message);
}

void SqlCursor::Step() {
  const int rc = StepStatement();
  if (rc == SQLITE_ROW) {
    const int columns = static_cast<int>(columns_.size());
    std::vector<SqlValue> row;
    row.reserve(columns);
    for (int i = 0; i < columns; ++i) {
      switch (sqlite3_column_type(stmt_, i)) {
        case SQLITE_INTEGER:
          row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt_, i)));
          break;
        case SQLITE_FLOAT:
          row.emplace_back(sqlite3_column_double(stmt_, i));
          break;
        case SQLITE_TEXT: {
          const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
          row.emplace_back(std::string(t, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))));
          break;
        }
        case SQLITE_BLOB: {
          const auto* b = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
          size_t n = static_cast<size_t>(sqlite3_column_bytes(stmt_, i));
          row.emplace_back(SqlBlob{n ? std::string(b, n) : std::string()});
          break;
        }
        default:
          row.emplace_back(std::monostate{});
      }
    }
    pending_.push_back(std::move(row));
    NoteRow();
    return;
  }
  FinishStatement(rc);
}

void SqlCursor::RecordCounters(int64_t steps) const {
  StepCounters counters = StepCounters::Of(stmt_, steps, rows_returned_);
  counters_stale_ = false;
  if (writes_ || step_counters_.empty()) {
    step_counters_.push_back(counters);
  } else {
    step_counters_.back() = counters;
  }
}

RowCounts SqlCursor::Counts() const {
  if (counters_stale_ && stmt_) RecordCounters(rows_returned_);
  if (step_counters_.empty()) return {};
  // A write ran at once; workerd would have stepped it once at exec() and once per row taken.
  const size_t last = step_counters_.size() - 1;
  const StepCounters& counters =
      writes_ ? step_counters_[std::min(static_cast<size_t>(rows_taken_), last)]
              : step_counters_.back();
  if (!shape_) return {counters.other_steps + counters.scan_steps, changes_};
  return shape_->Estimate(counters, changes_, table_count_, !writes_, events_);
}

bool SqlCursor::Next(std::vector<SqlValue>* row) {
  if (pending_.empty() && canceled_) throw SqlError(kSqlCursorCanceledMessage);
  if (pending_.empty() && stmt_) Step();
  if (pending_.empty()) return false;
  *row = std::move(pending_.front());
  pending_.pop_front();
  ++rows_taken_;
  // Like workerd, step to the next row as soon as one is taken (an error there is thrown now).
  if (pending_.empty() && stmt_) Step();
  if (pending_.empty() && !stmt_) Unregister();
  return true;
}

namespace {

// The current row of a statement, read in place. A cell is read through SQLite's value of the
// column (sqlite3_column_value), kept while the caller reads the same column: each sqlite3_column_*
// call takes and gives back the connection's mutex, and a text cell's type, text and size took it
// three times. The sqlite3_value_* calls are what sqlite3_column_* make inside the mutex (only this
// thread uses the connection).
class StatementRowView final : public SqlRowView {
 public:
  StatementRowView(sqlite3_stmt* stmt, int columns) : stmt_(stmt), columns_(columns) {}
  int size() const override { return columns_; }
  Type type(int column) const override {
    switch (sqlite3_value_type(Value(column))) {
      case SQLITE_INTEGER:
        return Type::kInteger;
      case SQLITE_FLOAT:
        return Type::kReal;
      case SQLITE_TEXT:
        return Type::kText;
      case SQLITE_BLOB:
        return Type::kBlob;
      default:
        return Type::kNull;
    }
  }
  int64_t integer(int column) const override { return sqlite3_value_int64(Value(column)); }
  double real(int column) const override { return sqlite3_value_double(Value(column)); }
  // The pointer first, then the size, as SQLite asks (the size may change with the conversion).
  std::string_view text(int column) const override {
    sqlite3_value* value = Value(column);
    const auto* t = reinterpret_cast<const char*>(sqlite3_value_text(value));
    const size_t n = static_cast<size_t>(sqlite3_value_bytes(value));
    return t ? std::string_view(t, n) : std::string_view();
  }
  std::string_view blob(int column) const override {
    sqlite3_value* value = Value(column);
    const auto* b = static_cast<const char*>(sqlite3_value_blob(value));
    const size_t n = static_cast<size_t>(sqlite3_value_bytes(value));
    return b ? std::string_view(b, n) : std::string_view();
  }

 private:
  sqlite3_value* Value(int column) const {
    if (column != column_) {
      value_ = sqlite3_column_value(stmt_, column);
      column_ = column;
    }
    return value_;
  }

  sqlite3_stmt* stmt_;
  int columns_;
  mutable int column_ = -1;  // the column `value_` is of
  mutable sqlite3_value* value_ = nullptr;
};

}  // namespace

void SqlCursor::TakeRest(FunctionRef<void(const SqlRowView&)> visit) {
  if (pending_.empty() && canceled_) throw SqlError(kSqlCursorCanceledMessage);
  while (!pending_.empty()) {
    std::vector<SqlValue> row = std::move(pending_.front());
    pending_.pop_front();
    ++rows_taken_;
    visit(SqlStoredRowView(row));
  }
  const int columns = static_cast<int>(columns_.size());
  while (stmt_) {
    const int rc = StepStatement();
    if (rc != SQLITE_ROW) {
      FinishStatement(rc);
      break;
    }
    NoteRow();
    ++rows_taken_;
    visit(StatementRowView(stmt_, columns));
  }
  Unregister();
}

void SqlCursor::Finish() {
  // A read's counts are taken before its statement goes (a canceled cursor keeps them).
  if (counters_stale_ && stmt_) RecordCounters(rows_returned_);
  if (stmt_) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
  // A write's RETURNING rows not yet taken keep the cursor cancelable, as its query in workerd.
  if (pending_.empty()) Unregister();
}

void SqlCursor::Unregister() {
  if (registered_ && db_) db_->RemoveClient(this);
  registered_ = false;
}

void SqlCursor::OnDatabaseClosing() {
  // The statement cannot outlive its connection. A cursor already at its end loses nothing; one
  // with rows left is canceled, the row read ahead included (workerd's is SQLite's current row,
  // gone with the query), and so is a write's with RETURNING rows not yet taken.
  if (stmt_ || !pending_.empty()) {
    canceled_ = true;
    pending_.clear();
  }
  registered_ = false;  // the database has already forgotten this client
  Finish();
  db_ = nullptr;
}

}  // namespace dorm::storage
