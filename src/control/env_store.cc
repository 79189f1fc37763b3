#include "control/env_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "control/registry_database.h"
#include "control/secrets_key.h"
#include "util/aes_gcm.h"

namespace dorm::control {
namespace {

constexpr char kEnvOwner[] = "env store";

void CheckEnv(sqlite3* db, int rc, const char* what) { CheckSqlite(db, rc, kEnvOwner, what); }

using Statement = SqliteStatement;

Statement PrepareEnv(sqlite3* db, const char* sql) { return PrepareSqlite(db, sql, kEnvOwner); }

// Binds a sealed value to its place: a value copied to another app or key does not open.
std::string AssociatedData(const std::string& app, const std::string& key) {
  return "dorm env v1\n" + app + "\n" + key;
}

}  // namespace

EnvStore::EnvStore(const std::string& data_dir) : data_dir_(data_dir) {
  std::string path = data_dir + "/registry.sqlite";
  db_ = OpenRegistryDatabase(data_dir, kEnvOwner);
  try {
    CheckEnv(
        db_,
        sqlite3_exec(db_,
                     "CREATE TABLE IF NOT EXISTS env_vars (app TEXT NOT NULL, key TEXT NOT NULL,"
                     " sealed BLOB NOT NULL, PRIMARY KEY (app, key))",
                     nullptr, nullptr, nullptr),
        "schema");
    Statement count = PrepareEnv(db_, "SELECT count(*) FROM env_vars");
    CheckEnv(db_, sqlite3_step(count.get()), "count");
    long long stored = sqlite3_column_int64(count.get(), 0);
    if (stored > 0 && !SecretsKeyExists(data_dir)) {
      throw std::runtime_error(
          SecretsKeyPath(data_dir) + " is missing, but " + path + " holds " +
          std::to_string(stored) +
          " env var values sealed with it: restore the key file from the same backup as the "
          "registry");
    }
    secrets_key_ = LoadOrCreateSecretsKey(data_dir);
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

EnvStore::~EnvStore() { sqlite3_close_v2(db_); }

std::vector<std::string> EnvStore::Keys(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st = PrepareEnv(db_, "SELECT key FROM env_vars WHERE app = ?1 ORDER BY key");
  BindSqliteText(st.get(), 1, app);
  std::vector<std::string> keys;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    keys.push_back(SqliteColumnBytes(st.get(), 0));
  CheckEnv(db_, rc, "keys");
  return keys;
}

bool EnvStore::Has(const std::string& app, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st = PrepareEnv(db_, "SELECT 1 FROM env_vars WHERE app = ?1 AND key = ?2");
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, key);
  int rc = sqlite3_step(st.get());
  CheckEnv(db_, rc, "lookup");
  return rc == SQLITE_ROW;
}

runtime::EnvVars EnvStore::Values(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st = PrepareEnv(db_, "SELECT key, sealed FROM env_vars WHERE app = ?1 ORDER BY key");
  BindSqliteText(st.get(), 1, app);
  runtime::EnvVars vars;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string key = SqliteColumnBytes(st.get(), 0);
    auto value =
        OpenAes256Gcm(secrets_key_, SqliteColumnBytes(st.get(), 1), AssociatedData(app, key));
    if (!value) {
      throw std::runtime_error("env var " + key + " of app '" + app + "' cannot be opened with " +
                               SecretsKeyPath(data_dir_) +
                               ": the key file does not belong to this registry");
    }
    vars.emplace_back(std::move(key), std::move(*value));
  }
  CheckEnv(db_, rc, "values");
  return vars;
}

bool EnvStore::Set(const std::string& app, const std::string& key, const std::string& value) {
  std::string sealed = SealAes256Gcm(secrets_key_, value, AssociatedData(app, key));
  std::lock_guard<std::mutex> lock(mu_);
  CheckEnv(db_, sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
  try {
    Statement exists = PrepareEnv(db_, "SELECT 1 FROM env_vars WHERE app = ?1 AND key = ?2");
    BindSqliteText(exists.get(), 1, app);
    BindSqliteText(exists.get(), 2, key);
    int rc = sqlite3_step(exists.get());
    CheckEnv(db_, rc, "lookup");
    bool created = rc != SQLITE_ROW;
    Statement upsert =
        PrepareEnv(db_, "INSERT OR REPLACE INTO env_vars (app, key, sealed) VALUES (?1, ?2, ?3)");
    BindSqliteText(upsert.get(), 1, app);
    BindSqliteText(upsert.get(), 2, key);
    sqlite3_bind_blob(upsert.get(), 3, sealed.data(), static_cast<int>(sealed.size()),
                      SQLITE_TRANSIENT);
    CheckEnv(db_, sqlite3_step(upsert.get()), "set");
    CheckEnv(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit");
    return created;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

bool EnvStore::Remove(const std::string& app, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st = PrepareEnv(db_, "DELETE FROM env_vars WHERE app = ?1 AND key = ?2");
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, key);
  CheckEnv(db_, sqlite3_step(st.get()), "unset");
  return sqlite3_changes(db_) > 0;
}

runtime::EnvVars WithNodeVars(runtime::EnvVars app_env, const runtime::EnvVars& node_vars) {
  if (node_vars.empty()) return app_env;
  for (const auto& node_var : node_vars) {
    const auto& key = node_var.first;
    auto it = std::find_if(app_env.begin(), app_env.end(),
                           [&](const auto& entry) { return entry.first == key; });
    if (it != app_env.end()) {
      it->second = node_var.second;
    } else {
      app_env.push_back(node_var);
    }
  }
  std::sort(app_env.begin(), app_env.end());
  return app_env;
}

}  // namespace dorm::control
