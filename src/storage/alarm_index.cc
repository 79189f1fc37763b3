#include "storage/alarm_index.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "storage/database_file.h"

namespace dorm::storage {
namespace {
// Checkpoint (with full syncs) after this many writes, so the log stays small.
constexpr int kCheckpointWrites = 2000;
}  // namespace

AlarmIndex::AlarmIndex(const std::string& data_dir) : path_(data_dir + "/alarms.sqlite") {
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StorageError("cannot open " + path_ + ": " + message, rc);
  }
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  Exec("PRAGMA locking_mode=EXCLUSIVE");
  Exec("PRAGMA journal_mode=WAL");
  Exec("PRAGMA synchronous=OFF");
  sqlite3_wal_autocheckpoint(db_, 0);
  // `alarms` is the index as written before objects were keyed by id (one row per named object);
  // its rows are read until each object's next alarm change moves it to `object_alarms`.
  Exec(
      "CREATE TABLE IF NOT EXISTS alarms (app TEXT NOT NULL, class TEXT NOT NULL, name TEXT NOT "
      "NULL,"
      " time_ms INTEGER NOT NULL, PRIMARY KEY (app, class, name)) WITHOUT ROWID");
  Exec("CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms (time_ms)");
  Exec(
      "CREATE TABLE IF NOT EXISTS object_alarms (app TEXT NOT NULL, class TEXT NOT NULL, id TEXT "
      "NOT NULL, name TEXT NOT NULL, time_ms INTEGER NOT NULL, PRIMARY KEY (app, class, id)) "
      "WITHOUT ROWID");
  Exec("CREATE INDEX IF NOT EXISTS object_alarms_by_time ON object_alarms (time_ms)");
  // Nothing writes to `alarms` any more: once it is empty it stays so, and an alarm change need
  // not look for its object's row there (a statement per fired alarm in a burst).
  sqlite3_stmt* st = nullptr;
  legacy_rows_ =
      sqlite3_prepare_v2(db_, "SELECT 1 FROM alarms LIMIT 1", -1, &st, nullptr) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_DONE;
  sqlite3_finalize(st);
  // Creating the file must itself be durable before anything relies on it.
  Exec("PRAGMA synchronous=FULL");
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  Exec("PRAGMA synchronous=OFF");
}

AlarmIndex::~AlarmIndex() {
  sqlite3_finalize(upsert_stmt_);
  sqlite3_finalize(remove_stmt_);
  sqlite3_finalize(remove_legacy_stmt_);
  if (db_) {
    sqlite3_exec(db_, "PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(TRUNCATE);", nullptr, nullptr,
                 nullptr);
    sqlite3_close_v2(db_);
  }
}

void AlarmIndex::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = std::string(err ? err : sqlite3_errstr(rc)) + ": " + SqliteCodeName(rc);
    sqlite3_free(err);
    throw StorageError("alarm index " + path_ + ": " + message, rc);
  }
}

void AlarmIndex::Run(sqlite3_stmt** slot, const char* sql, const AlarmEntry& e, bool with_time) {
  if (*slot == nullptr) {
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, nullptr);
    if (rc != SQLITE_OK) {
      throw StorageError(std::string("alarm index: ") + sqlite3_errmsg(db_), rc);
    }
  }
  sqlite3_stmt* st = *slot;
  sqlite3_bind_text(st, 1, e.app.data(), static_cast<int>(e.app.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, e.class_name.data(), static_cast<int>(e.class_name.size()),
                    SQLITE_STATIC);
  sqlite3_bind_text(st, 3, e.object_id.data(), static_cast<int>(e.object_id.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 4, e.instance_name.data(), static_cast<int>(e.instance_name.size()),
                    SQLITE_STATIC);
  if (with_time) sqlite3_bind_int64(st, 5, e.time_ms);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) throw StorageError(std::string("alarm index: ") + sqlite3_errmsg(db_), rc);
}

void AlarmIndex::ApplyOne(const AlarmChange& change) {
  const AlarmEntry& e = change.entry;
  if (e.object_id.empty()) throw StorageError("alarm index: an entry without an object id", 0);
  if (change.remove) {
    Run(&remove_stmt_, "DELETE FROM object_alarms WHERE app = ?1 AND class = ?2 AND id = ?3", e,
        false);
  } else {
    Run(&upsert_stmt_,
        "INSERT INTO object_alarms (app, class, id, name, time_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (app, class, id) DO UPDATE SET time_ms = excluded.time_ms, "
        "name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE object_alarms.name END",
        e, true);
  }
  // The object's row of the index as written before ids, if any, is replaced by the one above.
  if (legacy_rows_ && !e.instance_name.empty()) {
    Run(&remove_legacy_stmt_, "DELETE FROM alarms WHERE app = ?1 AND class = ?2 AND name = ?4", e,
        false);
  }
}

void AlarmIndex::Apply(const std::vector<AlarmChange>& changes) {
  if (changes.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Exec("BEGIN");
  try {
    for (const AlarmChange& change : changes) ApplyOne(change);
    Exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  writes_since_checkpoint_ += static_cast<int>(changes.size());
  if (writes_since_checkpoint_ >= kCheckpointWrites) {
    writes_since_checkpoint_ = 0;
    Exec("PRAGMA synchronous=FULL");
    Exec("PRAGMA wal_checkpoint(PASSIVE)");
    Exec("PRAGMA synchronous=OFF");
  }
}

void AlarmIndex::RemoveClass(const std::string& app, const std::string& class_name) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* st = nullptr;
  for (const char* sql : {"DELETE FROM alarms WHERE app = ?1 AND class = ?2",
                          "DELETE FROM object_alarms WHERE app = ?1 AND class = ?2"}) {
    sqlite3_prepare_v2(db_, sql, -1, &st, nullptr);
    sqlite3_bind_text(st, 1, app.data(), static_cast<int>(app.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, class_name.data(), static_cast<int>(class_name.size()), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    st = nullptr;
    if (rc != SQLITE_DONE) {
      throw StorageError(std::string("alarm index: ") + sqlite3_errmsg(db_), rc);
    }
  }
  Exec("PRAGMA synchronous=FULL");
  Exec("PRAGMA wal_checkpoint(PASSIVE)");
  Exec("PRAGMA synchronous=OFF");
}

void AlarmIndex::MoveClass(const std::string& from_app, const std::string& from_class,
                           const std::string& to_app, const std::string& to_class) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const char* sql : {"UPDATE alarms SET app = ?3, class = ?4 WHERE app = ?1 AND class = ?2",
                          "UPDATE object_alarms SET app = ?3, class = ?4"
                          " WHERE app = ?1 AND class = ?2"}) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, sql, -1, &st, nullptr);
    const std::string* values[] = {&from_app, &from_class, &to_app, &to_class};
    for (int i = 0; i < 4; ++i) {
      sqlite3_bind_text(st, i + 1, values[i]->data(), static_cast<int>(values[i]->size()),
                        SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
      throw StorageError(std::string("alarm index: ") + sqlite3_errmsg(db_), rc);
    }
  }
  Exec("PRAGMA synchronous=FULL");
  Exec("PRAGMA wal_checkpoint(PASSIVE)");
  Exec("PRAGMA synchronous=OFF");
}

std::vector<AlarmEntry> AlarmIndex::DueBy(long long until_ms, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_,
                     "SELECT app, class, name, time_ms, id FROM object_alarms WHERE time_ms <= ?1 "
                     "UNION ALL SELECT app, class, name, time_ms, '' FROM alarms "
                     "WHERE time_ms <= ?1 ORDER BY 4 LIMIT ?2",
                     -1, &st, nullptr);
  sqlite3_bind_int64(st, 1, until_ms);
  sqlite3_bind_int(st, 2, limit);
  std::vector<AlarmEntry> out;
  auto text = [&](int i) {
    return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                       static_cast<size_t>(sqlite3_column_bytes(st, i)));
  };
  while (sqlite3_step(st) == SQLITE_ROW) {
    out.push_back(AlarmEntry{text(0), text(1), text(2), sqlite3_column_int64(st, 3), text(4)});
  }
  sqlite3_finalize(st);
  return out;
}

std::optional<long long> AlarmIndex::Find(const std::string& app, const std::string& class_name,
                                          const std::string& object_id,
                                          const std::string& instance_name) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_,
                     "SELECT time_ms FROM object_alarms WHERE app = ?1 AND class = ?2 AND id = ?3 "
                     "UNION ALL SELECT time_ms FROM alarms WHERE app = ?1 AND class = ?2 AND "
                     "name = ?4 AND ?4 <> '' LIMIT 1",
                     -1, &st, nullptr);
  sqlite3_bind_text(st, 1, app.data(), static_cast<int>(app.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, class_name.data(), static_cast<int>(class_name.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 3, object_id.data(), static_cast<int>(object_id.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 4, instance_name.data(), static_cast<int>(instance_name.size()),
                    SQLITE_STATIC);
  std::optional<long long> found;
  if (sqlite3_step(st) == SQLITE_ROW) found = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return found;
}

void AlarmIndex::CopyTo(const std::string& target_path) {
  // The index's connection holds the file's exclusive lock: the copy goes through it.
  std::lock_guard<std::mutex> lock(mu_);
  CopyDatabase(db_, target_path);
}

}  // namespace dorm::storage
