#include "control/object_index.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "control/registry.h"
#include "control/registry_database.h"
#include "control/usage_store.h"
#include "runtime/class_catalog.h"
#include "runtime/object_address.h"
#include "runtime/object_id.h"
#include "util/crypto.h"
#include "util/log.h"

namespace dorm::control {

namespace {

const char kOwner[] = "object index";

void ExecIndex(sqlite3* db, const char* sql, const char* what) {
  CheckSqlite(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), kOwner, what);
}

// Rolls the transaction back unless committed.
class IndexTransaction {
 public:
  explicit IndexTransaction(sqlite3* db) : db_(db) { ExecIndex(db_, "BEGIN IMMEDIATE", "begin"); }
  ~IndexTransaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void Commit() {
    ExecIndex(db_, "COMMIT", "commit");
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

// An entry from a row of "SELECT id, COALESCE(name, ''), storage_bytes, last_active_ms".
ObjectIndex::Entry EntryFromRow(sqlite3_stmt* st) {
  return ObjectIndex::Entry{SqliteColumnBytes(st, 0), SqliteColumnBytes(st, 1),
                            sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)};
}

long long FileMillis(const std::filesystem::file_time_type& t) {
  // file_time_type's clock is not the system clock before C++20's clock_cast; the offset between
  // them now is close enough for a last-activity time.
  const auto now_file = std::filesystem::file_time_type::clock::now();
  const auto now_sys = std::chrono::system_clock::now();
  const auto sys =
      now_sys + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - now_file);
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

}  // namespace

ObjectIndex::ObjectIndex(const std::string& data_dir) {
  db_ = OpenRegistryDatabase(data_dir, kOwner);
  try {
    // A page cache of 256 KiB instead of SQLite's 2 MiB (for this connection only): every
    // reading touches the row of each object used or live, so with SQLite's default the cache
    // grew with the objects seen up to 2 MiB, held for the server's life (about 120 bytes per
    // object); pages that left it are read again from the kernel's cache.
    ExecIndex(db_, "PRAGMA cache_size=-256", "setup");
    ExecIndex(db_,
              "CREATE TABLE IF NOT EXISTS object_index ("
              " app TEXT NOT NULL, class TEXT NOT NULL, id TEXT NOT NULL, name TEXT,"
              " storage_bytes INTEGER NOT NULL DEFAULT 0,"
              " last_active_ms INTEGER NOT NULL DEFAULT 0,"
              " PRIMARY KEY (app, class, id)) WITHOUT ROWID;"
              "CREATE TABLE IF NOT EXISTS object_index_meta ("
              " key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
              "setup");
    // change_seq came later: rows of an older index have none, so the objects they stand for are
    // copied by the next backup, as those of a scan are (NULL: changed at an unknown time).
    bool present;
    {
      SqliteStatement st = PrepareSqlite(
          db_, "SELECT 1 FROM pragma_table_info('object_index') WHERE name = 'change_seq'", kOwner);
      present = sqlite3_step(st.get()) == SQLITE_ROW;
    }
    if (!present) {
      ExecIndex(db_, "ALTER TABLE object_index ADD COLUMN change_seq INTEGER", "migrate");
    }
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

ObjectIndex::~ObjectIndex() { sqlite3_close_v2(db_); }

void ObjectIndex::Record(const std::vector<runtime::ObjectUsageDelta>& deltas,
                         const std::vector<runtime::ThreadUsageReport>& reports, long long now_ms) {
  bool any_live = false;
  for (const auto& report : reports) any_live |= !report.live.empty();
  if (deltas.empty() && !any_live) return;
  std::lock_guard<std::mutex> lock(mu_);
  IndexTransaction txn(db_);
  bool any_change = false;
  for (const auto& d : deltas) any_change |= d.storage_changed;
  // One value of the sequence for every object a commit changed in this reading.
  const long long seq = any_change ? NextChangeSeq() : 0;
  // The name is kept once known: a later event that reached the object by id alone has none. A
  // new row's change_seq is NULL (copied by every backup) until a commit of the object is read.
  SqliteStatement active = PrepareSqlite(
      db_,
      "INSERT INTO object_index (app, class, id, name, storage_bytes, last_active_ms, change_seq)"
      " VALUES (?1, ?2, ?3, ?4, MAX(?5, 0), ?6, NULLIF(?7, 0)) ON CONFLICT (app, class, id)"
      " DO UPDATE SET name = COALESCE(excluded.name, name),"
      " storage_bytes = CASE WHEN ?5 >= 0 THEN ?5 ELSE storage_bytes END,"
      " last_active_ms = MAX(last_active_ms, excluded.last_active_ms),"
      " change_seq = CASE WHEN ?7 > 0 THEN ?7 ELSE change_seq END",
      kOwner);
  auto bind_object = [](sqlite3_stmt* st, const std::string& app, const std::string& class_name,
                        const std::string& id, const std::string& label) {
    BindSqliteText(st, 1, app);
    BindSqliteText(st, 2, class_name);
    BindSqliteText(st, 3, id);
    if (label.empty() || label == id) {
      sqlite3_bind_null(st, 4);
    } else {
      BindSqliteText(st, 4, label);
    }
  };
  for (const auto& d : deltas) {
    if (d.object_id.empty() || d.class_name == runtime::kWorkerClassName) continue;
    const bool used = d.http_requests || d.websocket_messages || d.alarms || d.cpu_ns ||
                      d.wall_ns || d.outbound_requests || d.outbound_bytes;
    bind_object(active.get(), d.app, d.class_name, d.object_id, d.instance_name);
    sqlite3_bind_int64(active.get(), 5, d.storage_bytes);
    sqlite3_bind_int64(active.get(), 6, used || d.storage_bytes >= 0 ? now_ms : 0);
    sqlite3_bind_int64(active.get(), 7, d.storage_changed ? seq : 0);
    CheckSqlite(db_, sqlite3_step(active.get()), kOwner, "record");
    sqlite3_reset(active.get());
  }
  SqliteStatement live = PrepareSqlite(
      db_,
      "INSERT INTO object_index (app, class, id, name, storage_bytes, last_active_ms)"
      " VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT (app, class, id) DO UPDATE SET"
      " name = excluded.name WHERE object_index.name IS NULL AND excluded.name IS NOT NULL",
      kOwner);
  for (const auto& report : reports) {
    for (const auto& o : report.live) {
      if (o.object_id.empty() || o.class_name == runtime::kWorkerClassName) continue;
      bind_object(live.get(), o.app, o.class_name, o.object_id, o.instance_name);
      sqlite3_bind_int64(live.get(), 5, now_ms);
      CheckSqlite(db_, sqlite3_step(live.get()), kOwner, "record live");
      sqlite3_reset(live.get());
    }
  }
  txn.Commit();
}

void ObjectIndex::ScanExistingOnce(const std::string& data_dir, Registry& registry,
                                   UsageStore* usage) {
  {
    SqliteStatement done =
        PrepareSqlite(db_, "SELECT 1 FROM object_index_meta WHERE key = 'scanned'", kOwner);
    if (sqlite3_step(done.get()) == SQLITE_ROW) return;
  }
  namespace fs = std::filesystem;
  size_t found = 0;
  IndexTransaction txn(db_);
  SqliteStatement add =
      PrepareSqlite(db_,
                    "INSERT INTO object_index (app, class, id, name, storage_bytes, last_active_ms)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (app, class, id) DO NOTHING",
                    kOwner);
  for (const std::string& app : registry.Apps()) {
    for (const ClassRecord& record : registry.List(app)) {
      if (record.name == runtime::kWorkerClassName) continue;
      const std::string storage = record.storage_name.empty() ? record.name : record.storage_name;
      // The names the usage meters recorded for the class's objects, by the id they derive.
      std::map<std::string, std::string> names;
      if (usage) {
        for (const auto& row : usage->Storage(app, storage)) {
          if (runtime::IsObjectIdSyntax(row.instance_name)) continue;
          names[runtime::ObjectIdForName(app, storage, row.instance_name)] = row.instance_name;
        }
      }
      std::error_code ec;
      const fs::path folder = runtime::ClassStoragePath(data_dir, app, storage);
      for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end;
           it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->path().extension() != ".sqlite") continue;
        const std::string id = it->path().stem().string();
        if (!runtime::IsObjectIdSyntax(id)) continue;
        long long bytes = static_cast<long long>(it->file_size(ec));
        const long long wal =
            static_cast<long long>(fs::file_size(it->path().string() + "-wal", ec));
        if (!ec) bytes += wal;
        ec.clear();
        const long long modified = FileMillis(it->last_write_time(ec));
        BindSqliteText(add.get(), 1, app);
        BindSqliteText(add.get(), 2, storage);
        BindSqliteText(add.get(), 3, id);
        auto name = names.find(id);
        if (name == names.end()) {
          sqlite3_bind_null(add.get(), 4);
        } else {
          BindSqliteText(add.get(), 4, name->second);
        }
        sqlite3_bind_int64(add.get(), 5, bytes);
        sqlite3_bind_int64(add.get(), 6, ec ? 0 : modified);
        ec.clear();
        CheckSqlite(db_, sqlite3_step(add.get()), kOwner, "scan");
        sqlite3_reset(add.get());
        ++found;
      }
    }
  }
  ExecIndex(db_, "INSERT OR REPLACE INTO object_index_meta (key, value) VALUES ('scanned', '1')",
            "scan");
  txn.Commit();
  if (found > 0) Log(LogLevel::kInfo, "object index: added " + std::to_string(found) + " objects");
}

std::vector<ObjectIndex::Entry> ObjectIndex::List(const std::string& app,
                                                  const std::string& class_name,
                                                  const std::string& prefix,
                                                  const std::string& cursor, int limit) {
  SqliteStatement st =
      PrepareSqlite(db_,
                    "SELECT id, COALESCE(name, ''), storage_bytes, last_active_ms FROM object_index"
                    " WHERE app = ?1 AND class = ?2 AND id > ?3"
                    " AND (?4 = '' OR substr(COALESCE(name, ''), 1, length(?4)) = ?4)"
                    " ORDER BY id LIMIT ?5",
                    kOwner);
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, class_name);
  BindSqliteText(st.get(), 3, cursor);
  BindSqliteText(st.get(), 4, prefix);
  sqlite3_bind_int(st.get(), 5, limit);
  std::vector<Entry> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back(EntryFromRow(st.get()));
  }
  CheckSqlite(db_, rc, kOwner, "list");
  return out;
}

std::optional<ObjectIndex::Entry> ObjectIndex::Find(const std::string& app,
                                                    const std::string& class_name,
                                                    const std::string& id) {
  SqliteStatement st =
      PrepareSqlite(db_,
                    "SELECT id, COALESCE(name, ''), storage_bytes, last_active_ms FROM object_index"
                    " WHERE app = ?1 AND class = ?2 AND id = ?3",
                    kOwner);
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, class_name);
  BindSqliteText(st.get(), 3, id);
  if (sqlite3_step(st.get()) != SQLITE_ROW) return std::nullopt;
  return EntryFromRow(st.get());
}

void ObjectIndex::ForgetClass(const std::string& app, const std::string& class_name) {
  SqliteStatement st =
      PrepareSqlite(db_, "DELETE FROM object_index WHERE app = ?1 AND class = ?2", kOwner);
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, class_name);
  CheckSqlite(db_, sqlite3_step(st.get()), kOwner, "forget");
}

void ObjectIndex::MoveClass(const std::string& from_app, const std::string& from_class,
                            const std::string& to_app, const std::string& to_class) {
  SqliteStatement st =
      PrepareSqlite(db_,
                    // Their files moved: no earlier backup holds them where they are now.
                    "UPDATE object_index SET app = ?3, class = ?4, change_seq = NULL"
                    " WHERE app = ?1 AND class = ?2",
                    kOwner);
  BindSqliteText(st.get(), 1, from_app);
  BindSqliteText(st.get(), 2, from_class);
  BindSqliteText(st.get(), 3, to_app);
  BindSqliteText(st.get(), 4, to_class);
  CheckSqlite(db_, sqlite3_step(st.get()), kOwner, "move");
}

void ObjectIndex::Imported(const std::string& app, const std::string& class_name,
                           const std::string& id, const std::string& name, long long storage_bytes,
                           long long now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  IndexTransaction txn(db_);
  const long long seq = NextChangeSeq();
  SqliteStatement st = PrepareSqlite(
      db_,
      "INSERT INTO object_index (app, class, id, name, storage_bytes, last_active_ms, change_seq)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (app, class, id) DO UPDATE SET"
      " name = COALESCE(excluded.name, name), storage_bytes = excluded.storage_bytes,"
      " last_active_ms = MAX(last_active_ms, excluded.last_active_ms),"
      " change_seq = excluded.change_seq",
      kOwner);
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, class_name);
  BindSqliteText(st.get(), 3, id);
  if (name.empty()) {
    sqlite3_bind_null(st.get(), 4);
  } else {
    BindSqliteText(st.get(), 4, name);
  }
  sqlite3_bind_int64(st.get(), 5, storage_bytes);
  sqlite3_bind_int64(st.get(), 6, now_ms);
  sqlite3_bind_int64(st.get(), 7, seq);
  CheckSqlite(db_, sqlite3_step(st.get()), kOwner, "import");
  txn.Commit();
}

namespace {

std::optional<std::string> IndexMeta(sqlite3* db, const char* key) {
  SqliteStatement st =
      PrepareSqlite(db, "SELECT value FROM object_index_meta WHERE key = ?1", kOwner);
  sqlite3_bind_text(st.get(), 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step(st.get()) != SQLITE_ROW) return std::nullopt;
  return SqliteColumnBytes(st.get(), 0);
}

void SetIndexMeta(sqlite3* db, const char* key, const std::string& value) {
  SqliteStatement st = PrepareSqlite(
      db, "INSERT OR REPLACE INTO object_index_meta (key, value) VALUES (?1, ?2)", kOwner);
  sqlite3_bind_text(st.get(), 1, key, -1, SQLITE_STATIC);
  BindSqliteText(st.get(), 2, value);
  CheckSqlite(db, sqlite3_step(st.get()), kOwner, "meta");
}

}  // namespace

long long ObjectIndex::NextChangeSeq() {
  long long seq = 0;
  if (auto value = IndexMeta(db_, "change_seq")) seq = std::atoll(value->c_str());
  ++seq;
  SetIndexMeta(db_, "change_seq", std::to_string(seq));
  return seq;
}

void ObjectIndex::NewEpoch() { SetIndexMeta(db_, "change_epoch", ToHex(RandomBytes(8))); }

void ObjectIndex::StartTracking() {
  std::lock_guard<std::mutex> lock(mu_);
  IndexTransaction txn(db_);
  if (IndexMeta(db_, "running") || !IndexMeta(db_, "change_epoch")) NewEpoch();
  SetIndexMeta(db_, "running", "1");
  txn.Commit();
}

void ObjectIndex::FinishTracking() {
  std::lock_guard<std::mutex> lock(mu_);
  if (changes_lost_) return;
  ExecIndex(db_, "DELETE FROM object_index_meta WHERE key = 'running'", "finish");
}

ObjectIndex::ChangeState ObjectIndex::CurrentChanges() {
  std::lock_guard<std::mutex> lock(mu_);
  IndexTransaction txn(db_);
  if (changes_lost_.exchange(false) || !IndexMeta(db_, "change_epoch")) NewEpoch();
  ChangeState state;
  state.epoch = IndexMeta(db_, "change_epoch").value_or("");
  if (auto value = IndexMeta(db_, "change_seq")) state.seq = std::atoll(value->c_str());
  txn.Commit();
  return state;
}

std::map<std::string, long long> ObjectIndex::ChangeSeqs() {
  SqliteStatement st = PrepareSqlite(
      db_, "SELECT app, class, id, change_seq FROM object_index WHERE change_seq IS NOT NULL",
      kOwner);
  std::map<std::string, long long> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out[SqliteColumnBytes(st.get(), 0) + "/" + SqliteColumnBytes(st.get(), 1) + "/" +
        SqliteColumnBytes(st.get(), 2)] = sqlite3_column_int64(st.get(), 3);
  }
  CheckSqlite(db_, rc, kOwner, "changes");
  return out;
}

}  // namespace dorm::control
