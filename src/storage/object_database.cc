#include "storage/object_database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "storage/sql_guard.h"

namespace dorm::storage {
namespace {

// A WAL past this many pages is checkpointed after the next commit.
constexpr int kCheckpointPages = 1000;

// Creates the missing folders of `dir`; appends each created folder's parent to `created`, since
// it is the parent's entry that must be flushed for the new folder to survive a crash.
void MakeFolders(const std::filesystem::path& dir, std::vector<std::string>* to_sync) {
  if (dir.empty() || std::filesystem::exists(dir)) return;
  MakeFolders(dir.parent_path(), to_sync);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw StorageError("cannot create folder " + dir.string() + ": " + std::strerror(errno));
  }
  to_sync->push_back(dir.parent_path().string());
}

bool FlushPath(const std::string& path, bool data_only, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;  // removed since (e.g. class deleted): nothing to keep
    *error = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) {
    *error = (data_only ? "fdatasync " : "fsync ") + path + ": " + std::strerror(saved);
    return false;
  }
  return true;
}

}  // namespace

const char* SqliteCodeName(int code) {
  switch (code & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_INTERNAL:
      return "SQLITE_INTERNAL";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND:
      return "SQLITE_NOTFOUND";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    case SQLITE_AUTH:
      return "SQLITE_AUTH";
    default:
      return "SQLITE_ERROR";
  }
}

bool StorageError::critical() const {
  switch (sqlite_code_ & 0xff) {
    case SQLITE_OK:  // not from SQLite: a file-system failure around it
    case SQLITE_NOMEM:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_INTERNAL:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return true;
    default:
      return false;
  }
}

bool SyncTarget::Run(std::string* error) {
  for (const auto& path : data_paths) {
    if (!FlushPath(path, /*data_only=*/true, error)) return false;
  }
  for (const auto& path : fsync_paths) {
    if (!FlushPath(path, /*data_only=*/false, error)) return false;
  }
  return true;
}

std::unique_ptr<ObjectDatabase> ObjectDatabase::Open(const std::string& path, bool create) {
  std::vector<std::string> created;
  if (!create) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return nullptr;
  } else {
    MakeFolders(std::filesystem::path(path).parent_path(), &created);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      created.push_back(path);
      created.push_back(std::filesystem::path(path).parent_path().string());
    }
  }
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    throw StorageError("cannot open " + path + ": " + message, rc);
  }
  std::unique_ptr<ObjectDatabase> self(new ObjectDatabase(db, path));
  self->unsynced_paths_ = std::move(created);
  // Commits are flushed by SyncTarget, so SQLite itself must not fsync on commit; closing must
  // not checkpoint (that would copy pages without syncing); the WAL file stays in place so that
  // its descriptor and its folder entry remain valid.
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  int persist = 1;
  sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  // One connection per object in the whole process: exclusive locking keeps the WAL index in
  // the connection's memory (no -shm mapping) and takes the file lock once instead of on every
  // read. It also keeps a second process from opening the same object.
  self->Exec("PRAGMA locking_mode=EXCLUSIVE");
  self->Exec("PRAGMA journal_mode=WAL");
  self->Exec("PRAGMA synchronous=OFF");
  self->Exec("PRAGMA cache_size=-256");
  self->Exec("PRAGMA foreign_keys=ON");
  sqlite3_wal_hook(db, &ObjectDatabase::WalHook, self.get());
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, kMaxRowBytes);
  InstallSqlGuard(db);
  self->Exec("CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID");
  self->Exec("CREATE TABLE IF NOT EXISTS _cf_METADATA (key TEXT PRIMARY KEY, value) WITHOUT ROWID");
  return self;
}

ObjectDatabase::ObjectDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

ObjectDatabase::~ObjectDatabase() {
  NotifyClients();
  Rollback();
  sqlite3_finalize(get_stmt_);
  sqlite3_finalize(put_stmt_);
  sqlite3_finalize(delete_stmt_);
  sqlite3_finalize(get_alarm_stmt_);
  sqlite3_close_v2(db_);
}

int ObjectDatabase::WalHook(void* self, sqlite3*, const char*, int pages) {
  if (pages >= kCheckpointPages) static_cast<ObjectDatabase*>(self)->wal_grown_ = true;
  return SQLITE_OK;
}

void ObjectDatabase::Fail(const char* what, int rc) {
  // Worded as Cloudflare's runtime words SQLite errors: "<message>: <CODE>".
  (void)what;
  throw StorageError(std::string(sqlite3_errmsg(db_)) + ": " + SqliteCodeName(rc), rc);
}

void ObjectDatabase::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = std::string(err ? err : sqlite3_errstr(rc)) + ": " + SqliteCodeName(rc);
    sqlite3_free(err);
    throw StorageError(message, rc);
  }
}

sqlite3_stmt* ObjectDatabase::Prepare(sqlite3_stmt** slot, const char* sql) {
  if (*slot == nullptr) {
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, nullptr);
    if (rc != SQLITE_OK) Fail(sql, rc);
  }
  return *slot;
}

void ObjectDatabase::EnsureTransaction() {
  if (in_transaction_) return;
  Exec("BEGIN");
  in_transaction_ = true;
}

std::optional<std::string> ObjectDatabase::Get(std::string_view key) {
  sqlite3_stmt* st = Prepare(&get_stmt_, "SELECT value FROM _cf_KV WHERE key = ?1");
  sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st);
  std::optional<std::string> out;
  if (rc == SQLITE_ROW) {
    const void* blob = sqlite3_column_blob(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    out.emplace(static_cast<const char*>(blob), static_cast<size_t>(n));
  } else if (rc != SQLITE_DONE) {
    sqlite3_reset(st);
    Fail("get", rc);
  }
  sqlite3_reset(st);
  return out;
}

void ObjectDatabase::Put(std::string_view key, std::string_view value) {
  EnsureTransaction();
  sqlite3_stmt* st =
      Prepare(&put_stmt_, "INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?1, ?2)");
  int rc = sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_blob(st, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  }
  if (rc != SQLITE_OK) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    throw StorageError(std::string(sqlite3_errstr(rc)) + ": " + SqliteCodeName(rc), rc);
  }
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) Fail("put", rc);
}

bool ObjectDatabase::Delete(std::string_view key) {
  EnsureTransaction();
  sqlite3_stmt* st = Prepare(&delete_stmt_, "DELETE FROM _cf_KV WHERE key = ?1");
  sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) Fail("delete", rc);
  return sqlite3_changes(db_) > 0;
}

void ObjectDatabase::List(
    const ListRange& range,
    const std::function<void(std::string_view key, std::string_view value)>& visit) {
  if (range.empty || range.limit == 0) return;
  std::string sql = "SELECT key, value FROM _cf_KV WHERE key >= ?1";
  if (range.end) sql += " AND key < ?2";
  sql += range.reverse ? " ORDER BY key DESC" : " ORDER BY key";
  if (range.limit > 0) sql += " LIMIT ?3";
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
  if (rc != SQLITE_OK) Fail("list", rc);
  sqlite3_bind_text(st, 1, range.begin.data(), static_cast<int>(range.begin.size()), SQLITE_STATIC);
  if (range.end) {
    sqlite3_bind_text(st, 2, range.end->data(), static_cast<int>(range.end->size()), SQLITE_STATIC);
  }
  if (range.limit > 0) sqlite3_bind_int64(st, 3, range.limit);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::string_view key(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    std::string_view value(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                           static_cast<size_t>(sqlite3_column_bytes(st, 1)));
    try {
      visit(key, value);
    } catch (...) {
      sqlite3_finalize(st);
      throw;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) Fail("list", rc);
}

void ObjectDatabase::NotifyClients() {
  while (!clients_.empty()) {
    DatabaseClient* client = *clients_.begin();
    clients_.erase(clients_.begin());
    client->OnDatabaseClosing();
  }
}

void ObjectDatabase::DeleteAll() {
  // Open cursors would keep their tables from being dropped ("database table is locked").
  NotifyClients();
  EnsureTransaction();
  std::vector<std::pair<std::string, std::string>> objects;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(
      db_,
      "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') AND "
      "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
      -1, &st, nullptr);
  if (rc != SQLITE_OK) Fail("deleteAll", rc);
  while (sqlite3_step(st) == SQLITE_ROW) {
    objects.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                         reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
  }
  sqlite3_finalize(st);
  for (const auto& [type, name] : objects) {
    std::string quoted = "\"";
    for (char c : name) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    quoted += '"';
    Exec(((type == "view" ? "DROP VIEW IF EXISTS " : "DROP TABLE IF EXISTS ") + quoted).c_str());
  }
  Exec("DELETE FROM _cf_KV");
  // As on Cloudflare (compatibility dates from 2026-02-24 on), deleteAll() deletes the alarm too.
  Exec("DELETE FROM _cf_METADATA WHERE key = 'alarm'");
}

void ObjectDatabase::BeginSavepoint(int depth) {
  EnsureTransaction();
  Exec(("SAVEPOINT _cf_savepoint_" + std::to_string(depth)).c_str());
}

void ObjectDatabase::ReleaseSavepoint(int depth) {
  Exec(("RELEASE _cf_savepoint_" + std::to_string(depth)).c_str());
}

void ObjectDatabase::RollbackToSavepoint(int depth) {
  std::string name = "_cf_savepoint_" + std::to_string(depth);
  Exec(("ROLLBACK TO " + name).c_str());
  Exec(("RELEASE " + name).c_str());
}

void ObjectDatabase::Commit() {
  if (!in_transaction_) return;
  char* err = nullptr;
  int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = std::string(err ? err : sqlite3_errstr(rc)) + ": " + SqliteCodeName(rc);
    sqlite3_free(err);
    Rollback();
    throw StorageError(message, rc);
  }
  in_transaction_ = false;
}

void ObjectDatabase::Rollback() noexcept {
  if (!in_transaction_) return;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  in_transaction_ = false;
}

std::unique_ptr<SyncTarget> ObjectDatabase::MakeSyncTarget() {
  auto target = std::make_unique<SyncTarget>();
  target->data_paths.push_back(path_ + "-wal");
  target->fsync_paths = std::move(unsynced_paths_);
  unsynced_paths_.clear();
  return target;
}

void ObjectDatabase::MaybeCheckpoint() {
  if (!wal_grown_ || in_transaction_) return;
  wal_grown_ = false;
  // With full syncs the WAL is flushed before its pages are copied and the database file after,
  // so the WAL can be reused without losing a commit.
  Exec("PRAGMA synchronous=FULL");
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  Exec("PRAGMA synchronous=OFF");
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) Fail("checkpoint", rc);
}

std::optional<long long> ObjectDatabase::GetAlarm() {
  sqlite3_stmt* st =
      Prepare(&get_alarm_stmt_, "SELECT value FROM _cf_METADATA WHERE key = 'alarm'");
  int rc = sqlite3_step(st);
  std::optional<long long> out;
  if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    out = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) Fail("getAlarm", rc);
  return out;
}

void ObjectDatabase::SetAlarm(std::optional<long long> time_ms) {
  EnsureTransaction();
  if (time_ms) {
    Exec(("INSERT OR REPLACE INTO _cf_METADATA (key, value) VALUES ('alarm', " +
          std::to_string(*time_ms) + ")")
             .c_str());
  } else {
    Exec("DELETE FROM _cf_METADATA WHERE key = 'alarm'");
  }
}

long long ObjectDatabase::SizeBytes() {
  auto pragma = [this](const char* sql) -> long long {
    sqlite3_stmt* st = nullptr;
    long long v = 0;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
  };
  return (pragma("PRAGMA page_count") - pragma("PRAGMA freelist_count")) *
         pragma("PRAGMA page_size");
}

}  // namespace dorm::storage
