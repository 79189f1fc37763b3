// The env vars of every app, kept durably in DATA/registry.sqlite (table env_vars), each value
// sealed with AES-256-GCM under the secrets key (DATA/secrets.key) and bound to its app and key,
// so that the database files hold no value in plain text and a sealed value cannot be moved to
// another key. This guards against accidental disclosure of the database (a copied file, grep
// over the data folder), not against someone who can read the key file or the process memory.
//
// Thread-safe. Writes are durable (synchronous=FULL) before they return. Methods throw
// std::runtime_error on a storage failure.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "runtime/class_catalog.h"

struct sqlite3;

namespace dorm::control {

// As on Cloudflare: an app has at most 128 env vars (`dorm env set` and a project's `vars`
// together), each value at most 5 KiB.
inline constexpr size_t kMaxEnvVarsPerApp = 128;
inline constexpr size_t kMaxEnvValueBytes = 5 * 1024;

class EnvStore {
 public:
  // Opens the store and loads the secrets key, creating it unless the store already holds values
  // (which a new key could not open: then this throws, naming the missing key file).
  explicit EnvStore(const std::string& data_dir);
  ~EnvStore();
  EnvStore(const EnvStore&) = delete;
  EnvStore& operator=(const EnvStore&) = delete;

  // The app's keys, sorted.
  std::vector<std::string> Keys(const std::string& app);
  bool Has(const std::string& app, const std::string& key);
  // The app's keys and plaintext values, sorted by key. Throws std::runtime_error if a value
  // cannot be opened with the secrets key (a key file that does not belong to this database).
  runtime::EnvVars Values(const std::string& app);
  // Returns true if the key is new, false if it replaced a value.
  bool Set(const std::string& app, const std::string& key, const std::string& value);
  // Returns false if the app had no such key.
  bool Remove(const std::string& app, const std::string& key);

 private:
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string data_dir_;
  std::string secrets_key_;
};

// `app_env` with a node's own vars (`dorm serve --var`) put over it, sorted by key: a node var
// wins over the app's env var of the same key.
runtime::EnvVars WithNodeVars(runtime::EnvVars app_env, const runtime::EnvVars& node_vars);

}  // namespace dorm::control
