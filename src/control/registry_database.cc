#include "control/registry_database.h"

#include <stdexcept>

namespace dorm::control {

void CheckSqlite(sqlite3* db, int rc, const std::string& owner, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(owner + " " + what + ": " + sqlite3_errmsg(db));
  }
}

SqliteStatement PrepareSqlite(sqlite3* db, const char* sql, const std::string& owner) {
  sqlite3_stmt* st = nullptr;
  CheckSqlite(db, sqlite3_prepare_v2(db, sql, -1, &st, nullptr), owner, "prepare");
  return SqliteStatement(st, &sqlite3_finalize);
}

sqlite3* OpenRegistryDatabase(const std::string& data_dir, const std::string& owner) {
  std::string path = data_dir + "/registry.sqlite";
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    throw std::runtime_error("cannot open " + path + ": " + message);
  }
  try {
    sqlite3_busy_timeout(db, 10000);
    CheckSqlite(db,
                sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr,
                             nullptr, nullptr),
                owner, "setup");
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  return db;
}

void BindSqliteText(sqlite3_stmt* statement, int index, const std::string& text) {
  sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void BindSqliteBlob(sqlite3_stmt* statement, int index, const std::string& bytes) {
  sqlite3_bind_blob(statement, index, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_TRANSIENT);
}

std::string SqliteColumnBytes(sqlite3_stmt* statement, int index) {
  const void* data = sqlite3_column_blob(statement, index);
  return std::string(data ? static_cast<const char*>(data) : "",
                     static_cast<size_t>(sqlite3_column_bytes(statement, index)));
}

}  // namespace dorm::control
