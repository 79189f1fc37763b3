#include "control/registry.h"

#include <sqlite3.h>

#include <stdexcept>

#include "control/registry_database.h"

namespace dorm::control {
namespace {
void Check(sqlite3* db, int rc, const char* what) { CheckSqlite(db, rc, "registry", what); }
}  // namespace

Registry::Registry(const std::string& data_dir) {
  const std::string path = data_dir + "/registry.sqlite";
  try {
    db_ = OpenRegistryDatabase(data_dir, "registry");
    // The file is small (the deployed sources); a damaged one must stop the server with a clear
    // message rather than serve half of the apps or fail later. It is never rewritten here.
    auto check = PrepareSqlite(db_, "PRAGMA quick_check(1)", "registry");
    int rc = sqlite3_step(check.get());
    Check(db_, rc, "integrity check");
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
  Check(db_,
        sqlite3_exec(db_,
                     "CREATE TABLE IF NOT EXISTS classes ("
                     " app TEXT NOT NULL, name TEXT NOT NULL, class_name TEXT NOT NULL,"
                     " filename TEXT NOT NULL, source TEXT NOT NULL, module_js TEXT NOT NULL,"
                     " access_mode TEXT NOT NULL, deployed_at TEXT NOT NULL,"
                     " PRIMARY KEY (app, name));"
                     "CREATE TABLE IF NOT EXISTS pending_deletions ("
                     " app TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (app, name))",
                     nullptr, nullptr, nullptr),
        "schema");
}

Registry::~Registry() { sqlite3_close_v2(db_); }

std::vector<ClassRecord> Registry::Query(const std::string& where,
                                         const std::vector<std::string>& args) {
  std::string sql =
      "SELECT app, name, class_name, filename, source, module_js, access_mode, deployed_at "
      "FROM classes " +
      where + " ORDER BY app, name";
  sqlite3_stmt* st = nullptr;
  Check(db_, sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), "query");
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
    out.push_back(ClassRecord{col(0), col(1), col(2), col(3), col(4), col(5), col(6), col(7)});
  }
  sqlite3_finalize(st);
  Check(db_, rc, "query");
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

void Registry::Upsert(const ClassRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* st = nullptr;
  Check(
      db_,
      sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO classes (app, name, class_name, filename, source,"
                         " module_js, access_mode, deployed_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                         -1, &st, nullptr),
      "upsert");
  const std::string* fields[] = {&r.app,    &r.name,      &r.class_name,  &r.filename,
                                 &r.source, &r.module_js, &r.access_mode, &r.deployed_at};
  for (int i = 0; i < 8; ++i) {
    sqlite3_bind_text(st, i + 1, fields[i]->data(), static_cast<int>(fields[i]->size()),
                      SQLITE_STATIC);
  }
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  Check(db_, rc, "upsert");
  last_errors_.erase({r.app, r.name});
}

bool Registry::Remove(const std::string& app, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Check(db_, sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "delete");
  bool removed = false;
  try {
    auto remove =
        PrepareSqlite(db_, "DELETE FROM classes WHERE app = ?1 AND name = ?2", "registry");
    sqlite3_bind_text(remove.get(), 1, app.data(), static_cast<int>(app.size()), SQLITE_STATIC);
    sqlite3_bind_text(remove.get(), 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    Check(db_, sqlite3_step(remove.get()), "delete");
    removed = sqlite3_changes(db_) > 0;
    if (removed) {
      auto record = PrepareSqlite(
          db_, "INSERT OR IGNORE INTO pending_deletions (app, name) VALUES (?1, ?2)", "registry");
      sqlite3_bind_text(record.get(), 1, app.data(), static_cast<int>(app.size()), SQLITE_STATIC);
      sqlite3_bind_text(record.get(), 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
      Check(db_, sqlite3_step(record.get()), "delete");
    }
    Check(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "delete");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  last_errors_.erase({app, name});
  return removed;
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
  Check(db_, rc, "pending deletions");
  return out;
}

void Registry::FinishDeletion(const std::string& app, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st =
      PrepareSqlite(db_, "DELETE FROM pending_deletions WHERE app = ?1 AND name = ?2", "registry");
  sqlite3_bind_text(st.get(), 1, app.data(), static_cast<int>(app.size()), SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  Check(db_, sqlite3_step(st.get()), "finish deletion");
}

std::vector<runtime::DeployedClass> Registry::CatalogEntries(const std::string& app) {
  std::vector<runtime::DeployedClass> out;
  for (auto& r : List(app)) {
    out.push_back(
        {r.name, r.class_name, r.module_js,
         runtime::ParseAccessMode(r.access_mode).value_or(runtime::AccessMode::kAuthenticated)});
  }
  return out;
}

void Registry::SetLastError(const std::string& app, const std::string& name,
                            const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  last_errors_[{app, name}] = error;
}

std::string Registry::LastError(const std::string& app, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_errors_.find({app, name});
  return it == last_errors_.end() ? std::string() : it->second;
}

}  // namespace dorm::control
