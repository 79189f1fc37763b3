#include "control/registry.h"

#include <sqlite3.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "control/registry_database.h"

namespace dorm::control {
namespace {
void CheckRegistry(sqlite3* db, int rc, const char* what) { CheckSqlite(db, rc, "registry", what); }
}  // namespace

Registry::Registry(const std::string& data_dir) {
  const std::string path = data_dir + "/registry.sqlite";
  try {
    db_ = OpenRegistryDatabase(data_dir, "registry");
    // The file is small (the deployed sources); a damaged one must stop the server with a clear
    // message rather than serve half of the apps or fail later. It is never rewritten here.
    auto check = PrepareSqlite(db_, "PRAGMA quick_check(1)", "registry");
    int rc = sqlite3_step(check.get());
    CheckRegistry(db_, rc, "integrity check");
    std::string verdict = rc == SQLITE_ROW && sqlite3_column_text(check.get(), 0)
                              ? reinterpret_cast<const char*>(sqlite3_column_text(check.get(), 0))
                              : "no answer";
    if (verdict != "ok") throw std::runtime_error("integrity check: " + verdict);
  } catch (const std::exception& e) {
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
    throw std::runtime_error(path + " is damaged or unreadable (" + e.what() +
                             "). It was left as it is: restore it from a backup, or move it "
                             "away to start with no deployed classes.");
  }
  CheckRegistry(
      db_,
      sqlite3_exec(db_,
                   "CREATE TABLE IF NOT EXISTS classes ("
                   " app TEXT NOT NULL, name TEXT NOT NULL, class_name TEXT NOT NULL,"
                   " filename TEXT NOT NULL, source TEXT NOT NULL, module_js TEXT NOT NULL,"
                   " access_mode TEXT NOT NULL, deployed_at TEXT NOT NULL,"
                   " PRIMARY KEY (app, name));"
                   "CREATE TABLE IF NOT EXISTS pending_deletions ("
                   " app TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (app, name));"
                   "CREATE TABLE IF NOT EXISTS project_migrations ("
                   " app TEXT NOT NULL, position INTEGER NOT NULL, tag TEXT NOT NULL,"
                   " applied_at TEXT NOT NULL, PRIMARY KEY (app, position));"
                   "CREATE TABLE IF NOT EXISTS service_callers ("
                   " app TEXT NOT NULL, caller TEXT NOT NULL, PRIMARY KEY (app, caller));"
                   "CREATE TABLE IF NOT EXISTS class_transfers ("
                   " app TEXT NOT NULL, class_name TEXT NOT NULL, target TEXT NOT NULL,"
                   " PRIMARY KEY (app, class_name));"
                   "CREATE TABLE IF NOT EXISTS pending_moves ("
                   " from_app TEXT NOT NULL, from_storage TEXT NOT NULL, to_app TEXT NOT NULL,"
                   " to_storage TEXT NOT NULL, PRIMARY KEY (from_app, from_storage))",
                   nullptr, nullptr, nullptr),
      "schema");
  // Columns added after the first release: a registry written before them gets them empty.
  for (const char* column :
       {"module_name", "binding", "storage_name", "services", "storage_backend"}) {
    auto info = PrepareSqlite(db_, "SELECT 1 FROM pragma_table_info('classes') WHERE name = ?1",
                              "registry");
    BindSqliteText(info.get(), 1, column);
    if (sqlite3_step(info.get()) == SQLITE_ROW) continue;
    std::string alter =
        std::string("ALTER TABLE classes ADD COLUMN ") + column + " TEXT NOT NULL DEFAULT ''";
    CheckRegistry(db_, sqlite3_exec(db_, alter.c_str(), nullptr, nullptr, nullptr),
                  "schema upgrade");
  }
}

Registry::~Registry() { sqlite3_close_v2(db_); }

std::vector<ClassRecord> Registry::Query(const std::string& where,
                                         const std::vector<std::string>& args) {
  std::string sql =
      "SELECT app, name, class_name, filename, source, module_js, access_mode, deployed_at, "
      "module_name, binding, storage_name, services, storage_backend FROM classes " +
      where + " ORDER BY app, name";
  sqlite3_stmt* st = nullptr;
  CheckRegistry(db_, sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), "query");
  for (size_t i = 0; i < args.size(); ++i) {
    sqlite3_bind_text(st, static_cast<int>(i + 1), args[i].data(), static_cast<int>(args[i].size()),
                      SQLITE_TRANSIENT);
  }
  std::vector<ClassRecord> out;
  auto col = [&](int i) {
    const unsigned char* t = sqlite3_column_text(st, i);
    return std::string(t ? reinterpret_cast<const char*>(t) : "",
                       static_cast<size_t>(sqlite3_column_bytes(st, i)));
  };
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(ClassRecord{col(0), col(1), col(2), col(3), col(4), col(5), col(6), col(7),
                              col(8), col(9), col(10), col(11), col(12)});
  }
  sqlite3_finalize(st);
  CheckRegistry(db_, rc, "query");
  return out;
}

std::vector<std::string> Registry::Apps() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> apps;
  for (const auto& r : Query("", {})) {
    if (apps.empty() || apps.back() != r.app) apps.push_back(r.app);
  }
  return apps;
}

std::vector<ClassRecord> Registry::List(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  return Query("WHERE app = ?1", {app});
}

std::optional<ClassRecord> Registry::Get(const std::string& app, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto rows = Query("WHERE app = ?1 AND name = ?2", {app, name});
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

void Registry::Upsert(const ClassRecord& r) { UpsertAll({r}); }

void Registry::UpsertAll(const std::vector<ClassRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckRegistry(db_, sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
  try {
    UpsertLocked(records);
    CheckRegistry(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  for (const ClassRecord& r : records) last_errors_.erase({r.app, r.name});
}

void Registry::UpsertLocked(const std::vector<ClassRecord>& records) {
  auto st = PrepareSqlite(db_,
                          "INSERT OR REPLACE INTO classes (app, name, class_name, filename,"
                          " source, module_js, access_mode, deployed_at, module_name, binding,"
                          " storage_name, services, storage_backend)"
                          " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                          "registry");
  for (const ClassRecord& r : records) {
    const std::string* fields[] = {
        &r.app,          &r.name,        &r.class_name,     &r.filename,    &r.source,
        &r.module_js,    &r.access_mode, &r.deployed_at,    &r.module_name, &r.binding,
        &r.storage_name, &r.services,    &r.storage_backend};
    for (int i = 0; i < 13; ++i) BindSqliteText(st.get(), i + 1, *fields[i]);
    CheckRegistry(db_, sqlite3_step(st.get()), "upsert");
    sqlite3_reset(st.get());
  }
}

std::vector<std::string> Registry::ApplyProject(const std::string& app,
                                                const std::vector<ClassRecord>& records,
                                                const std::vector<std::string>& renamed_away,
                                                const std::vector<std::string>& deleted,
                                                const std::vector<std::string>& new_tags,
                                                const std::vector<PlannedTransfer>& transfers) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> deleted_storage;
  CheckRegistry(db_, sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
  try {
    for (const PlannedTransfer& t : transfers) {
      for (const char* sql : {"DELETE FROM classes WHERE app = ?1 AND class_name = ?2",
                              "DELETE FROM class_transfers WHERE app = ?1 AND class_name = ?2"}) {
        auto remove = PrepareSqlite(db_, sql, "registry");
        BindSqliteText(remove.get(), 1, t.from_app);
        BindSqliteText(remove.get(), 2, t.from_class);
        CheckRegistry(db_, sqlite3_step(remove.get()), "transfer");
      }
      auto move = PrepareSqlite(db_,
                                "INSERT INTO pending_moves (from_app, from_storage, to_app,"
                                " to_storage) VALUES (?1, ?2, ?3, ?4)",
                                "registry");
      BindSqliteText(move.get(), 1, t.from_app);
      BindSqliteText(move.get(), 2, t.from_storage);
      BindSqliteText(move.get(), 3, app);
      BindSqliteText(move.get(), 4, t.to_storage);
      CheckRegistry(db_, sqlite3_step(move.get()), "transfer");
    }
    for (const std::string& name : renamed_away) {
      auto remove =
          PrepareSqlite(db_, "DELETE FROM classes WHERE app = ?1 AND name = ?2", "registry");
      BindSqliteText(remove.get(), 1, app);
      BindSqliteText(remove.get(), 2, name);
      CheckRegistry(db_, sqlite3_step(remove.get()), "rename");
    }
    for (const std::string& name : deleted) {
      if (auto storage = RemoveLocked(app, name)) deleted_storage.push_back(*storage);
    }
    UpsertLocked(records);
    auto count = PrepareSqlite(
        db_, "SELECT coalesce(max(position), 0) FROM project_migrations WHERE app = ?1",
        "registry");
    BindSqliteText(count.get(), 1, app);
    CheckRegistry(db_, sqlite3_step(count.get()), "migrations");
    int64_t position = sqlite3_column_int64(count.get(), 0);
    for (const std::string& tag : new_tags) {
      auto insert = PrepareSqlite(db_,
                                  "INSERT INTO project_migrations (app, position, tag, applied_at)"
                                  " VALUES (?1, ?2, ?3, datetime('now'))",
                                  "registry");
      BindSqliteText(insert.get(), 1, app);
      sqlite3_bind_int64(insert.get(), 2, ++position);
      BindSqliteText(insert.get(), 3, tag);
      CheckRegistry(db_, sqlite3_step(insert.get()), "migrations");
    }
    CheckRegistry(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  for (const ClassRecord& r : records) last_errors_.erase({r.app, r.name});
  for (const std::string& name : renamed_away) last_errors_.erase({app, name});
  for (const std::string& name : deleted) last_errors_.erase({app, name});
  return deleted_storage;
}

std::vector<std::string> Registry::ServiceCallers(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(db_, "SELECT caller FROM service_callers WHERE app = ?1 ORDER BY caller",
                          "registry");
  BindSqliteText(st.get(), 1, app);
  std::vector<std::string> callers;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    callers.push_back(SqliteColumnBytes(st.get(), 0));
  CheckRegistry(db_, rc, "service callers");
  return callers;
}

bool Registry::SetServiceCaller(const std::string& app, const std::string& caller, bool allowed) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(db_,
                          allowed ? "INSERT OR IGNORE INTO service_callers (app, caller) "
                                    "VALUES (?1, ?2)"
                                  : "DELETE FROM service_callers WHERE app = ?1 AND caller = ?2",
                          "registry");
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, caller);
  CheckRegistry(db_, sqlite3_step(st.get()), "service callers");
  return sqlite3_changes(db_) > 0;
}

std::vector<std::string> Registry::MigrationTags(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(
      db_, "SELECT tag FROM project_migrations WHERE app = ?1 ORDER BY position", "registry");
  BindSqliteText(st.get(), 1, app);
  std::vector<std::string> tags;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    tags.push_back(SqliteColumnBytes(st.get(), 0));
  CheckRegistry(db_, rc, "migrations");
  return tags;
}

std::optional<std::string> Registry::Remove(const std::string& app, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckRegistry(db_, sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "delete");
  std::optional<std::string> storage;
  try {
    storage = RemoveLocked(app, name);
    CheckRegistry(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "delete");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  last_errors_.erase({app, name});
  return storage;
}

std::optional<std::string> Registry::RemoveLocked(const std::string& app, const std::string& name) {
  auto find = PrepareSqlite(db_, "SELECT storage_name FROM classes WHERE app = ?1 AND name = ?2",
                            "registry");
  BindSqliteText(find.get(), 1, app);
  BindSqliteText(find.get(), 2, name);
  int rc = sqlite3_step(find.get());
  CheckRegistry(db_, rc, "delete");
  if (rc != SQLITE_ROW) return std::nullopt;
  std::string storage = SqliteColumnBytes(find.get(), 0);
  if (storage.empty()) storage = name;
  auto remove = PrepareSqlite(db_, "DELETE FROM classes WHERE app = ?1 AND name = ?2", "registry");
  BindSqliteText(remove.get(), 1, app);
  BindSqliteText(remove.get(), 2, name);
  CheckRegistry(db_, sqlite3_step(remove.get()), "delete");
  auto record = PrepareSqlite(
      db_, "INSERT OR IGNORE INTO pending_deletions (app, name) VALUES (?1, ?2)", "registry");
  BindSqliteText(record.get(), 1, app);
  BindSqliteText(record.get(), 2, storage);
  CheckRegistry(db_, sqlite3_step(record.get()), "delete");
  return storage;
}

std::optional<std::string> Registry::TransferTarget(const std::string& app,
                                                    const std::string& class_name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(
      db_, "SELECT target FROM class_transfers WHERE app = ?1 AND class_name = ?2", "registry");
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, class_name);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return SqliteColumnBytes(st.get(), 0);
  CheckRegistry(db_, rc, "transfers");
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> Registry::Transfers(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(
      db_, "SELECT class_name, target FROM class_transfers WHERE app = ?1 ORDER BY class_name",
      "registry");
  BindSqliteText(st.get(), 1, app);
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.emplace_back(SqliteColumnBytes(st.get(), 0), SqliteColumnBytes(st.get(), 1));
  }
  CheckRegistry(db_, rc, "transfers");
  return out;
}

bool Registry::AllowTransfer(const std::string& app, const std::string& class_name,
                             const std::optional<std::string>& target) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(db_,
                          target ? "INSERT INTO class_transfers (app, class_name, target) "
                                   "VALUES (?1, ?2, ?3) ON CONFLICT (app, class_name) DO UPDATE "
                                   "SET target = excluded.target WHERE target <> excluded.target"
                                 : "DELETE FROM class_transfers WHERE app = ?1 AND class_name = ?2",
                          "registry");
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, class_name);
  if (target) BindSqliteText(st.get(), 3, *target);
  CheckRegistry(db_, sqlite3_step(st.get()), "transfers");
  return sqlite3_changes(db_) > 0;
}

std::vector<ClassMove> Registry::PendingMoves() {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(db_,
                          "SELECT from_app, from_storage, to_app, to_storage FROM pending_moves"
                          " ORDER BY from_app, from_storage",
                          "registry");
  std::vector<ClassMove> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back({SqliteColumnBytes(st.get(), 0), SqliteColumnBytes(st.get(), 1),
                   SqliteColumnBytes(st.get(), 2), SqliteColumnBytes(st.get(), 3)});
  }
  CheckRegistry(db_, rc, "pending moves");
  return out;
}

void Registry::FinishMove(const std::string& from_app, const std::string& from_storage) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = PrepareSqlite(
      db_, "DELETE FROM pending_moves WHERE from_app = ?1 AND from_storage = ?2", "registry");
  BindSqliteText(st.get(), 1, from_app);
  BindSqliteText(st.get(), 2, from_storage);
  CheckRegistry(db_, sqlite3_step(st.get()), "finish move");
}

std::vector<std::pair<std::string, std::string>> Registry::PendingDeletions() {
  std::lock_guard<std::mutex> lock(mu_);
  auto st =
      PrepareSqlite(db_, "SELECT app, name FROM pending_deletions ORDER BY app, name", "registry");
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)),
                     reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1)));
  }
  CheckRegistry(db_, rc, "pending deletions");
  return out;
}

void Registry::FinishDeletion(const std::string& app, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st =
      PrepareSqlite(db_, "DELETE FROM pending_deletions WHERE app = ?1 AND name = ?2", "registry");
  sqlite3_bind_text(st.get(), 1, app.data(), static_cast<int>(app.size()), SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  CheckRegistry(db_, sqlite3_step(st.get()), "finish deletion");
}

std::vector<runtime::DeployedClass> Registry::CatalogEntries(const std::string& app) {
  std::vector<runtime::DeployedClass> out;
  for (auto& r : List(app)) {
    runtime::DeployedClass deployed{
        r.StorageName(),
        r.class_name,
        r.module_js,
        runtime::ParseAccessMode(r.access_mode).value_or(runtime::AccessMode::kAuthenticated),
        r.module_name,
        r.binding,
        r.name,
        {},
        r.storage_backend != "kv"};
    // The services column is the registry's own JSON: anything else in it is ignored.
    boost::system::error_code ec;
    boost::json::value services = boost::json::parse(r.services, ec);
    if (!ec && services.is_array()) {
      for (const boost::json::value& entry : services.as_array()) {
        const boost::json::object* o = entry.if_object();
        const boost::json::value* binding = o ? o->if_contains("binding") : nullptr;
        const boost::json::value* entrypoint = o ? o->if_contains("entrypoint") : nullptr;
        const boost::json::value* service = o ? o->if_contains("service") : nullptr;
        if (binding && binding->is_string() && entrypoint && entrypoint->is_string()) {
          deployed.services.push_back(
              {std::string(binding->as_string()), std::string(entrypoint->as_string()),
               service && service->is_string() ? std::string(service->as_string()) : ""});
        }
      }
    }
    out.push_back(std::move(deployed));
  }
  return out;
}

void Registry::SetLastError(const std::string& app, const std::string& name,
                            const std::string& error) {
  // The message is the tenant's: kept whole, a class's error of 100 MiB stayed in the server's
  // memory for as long as it ran. Cut at a UTF-8 boundary, as the logs cut their lines.
  std::string kept = error.substr(0, kMaxLastErrorBytes);
  if (kept.size() < error.size()) {
    size_t keep = kept.size();
    while (keep > 0 && (static_cast<unsigned char>(error[keep]) & 0xC0) == 0x80) --keep;
    kept.resize(keep);
    kept += "\xE2\x80\xA6";
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_errors_[{app, name}] = std::move(kept);
}

std::string Registry::LastError(const std::string& app, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_errors_.find({app, name});
  return it == last_errors_.end() ? std::string() : it->second;
}

}  // namespace dorm::control
