// Every app's credentials: the keys its end-user JWTs are verified with, and its service keys.
//
// Kept durably in DATA/registry.sqlite (tables app_auth and service_keys), through a connection of
// its own. An HS256 secret is sealed with AES-256-GCM under the secrets key (DATA/secrets.key),
// bound to its app, so the database holds no secret in plain text. A service key is stored only as
// its SHA-256 (the key is 32 random bytes, so a fast hash is enough): the key itself is returned
// once, by CreateKey.
//
// Everything the network threads need is cached in memory: a verifier per app and the service
// keys by hash. Every change is durable and applied to the caches before the call returns, so a
// revoked key or replaced JWT configuration stops working at once.
//
// Thread-safe. Verifier() and FindKey() are meant for the request path: they take a shared lock
// and do no I/O. Other methods throw std::runtime_error on a storage failure.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/jwt_verifier.h"

struct sqlite3;

namespace dorm::control {

// What `dorm auth show` prints: never the secret or the keys themselves.
struct AuthSummary {
  bool hs256 = false;
  size_t pem_keys = 0;
  size_t jwks_keys = 0;
  std::string issuer;    // empty: not checked
  std::string audience;  // empty: not checked
  std::string updated_at;
};

struct ServiceKeyInfo {
  std::string id;  // "sk_" + 16 hex digits
  std::string app;
  std::string name;    // the operator's label; may be empty
  std::string prefix;  // the key's first characters, to recognise it ("dorm_sk_" + 8 hex digits)
  std::string created_at;
};

// A service key is "dorm_sk_" followed by 64 hex digits.
inline constexpr char kServiceKeyPrefix[] = "dorm_sk_";

class CredentialsStore {
 public:
  // Opens the tables and loads every app's configuration and keys. Throws std::runtime_error if
  // the database cannot be read, or if it holds sealed secrets but the secrets key is missing.
  explicit CredentialsStore(const std::string& data_dir);
  ~CredentialsStore();
  CredentialsStore(const CredentialsStore&) = delete;
  CredentialsStore& operator=(const CredentialsStore&) = delete;

  // Replaces the app's JWT configuration. Throws std::invalid_argument (a message for the
  // operator) when the keys cannot be used; nothing is changed then.
  AuthSummary SetAuth(const std::string& app, const net::JwtKeySet& keys);
  std::optional<AuthSummary> GetAuth(const std::string& app) const;
  // Returns false if the app had no configuration.
  bool ClearAuth(const std::string& app);
  // The app's verifier; nullptr when none is configured.
  std::shared_ptr<const net::JwtVerifier> Verifier(const std::string& app) const;

  // Makes a new key for `app`. Returns its description and the key, which is not kept. The key
  // and its id are made from `entropy` when it holds kKeyEntropyBytes bytes (secret random bytes
  // the caller drew: every node of a cluster makes the same key from the same change), else from
  // fresh random bytes.
  static constexpr size_t kKeyEntropyBytes = 40;
  std::pair<ServiceKeyInfo, std::string> CreateKey(const std::string& app, const std::string& name,
                                                   std::string_view entropy = {});
  // The app's keys, oldest first.
  std::vector<ServiceKeyInfo> ListKeys(const std::string& app) const;
  // Returns false if the app has no key with this id.
  bool RevokeKey(const std::string& app, const std::string& id);
  // The live key `key` is, if any. Compares digests with CRYPTO_memcmp after a lookup by the
  // digest's first bytes, so its time does not depend on how much of a guess is right.
  std::optional<ServiceKeyInfo> FindKey(std::string_view key) const;

  // Reads the configurations and keys again after the tables were replaced behind the store
  // (cluster mode: a control snapshot was loaded, control_snapshot.h). On failure the caches stay
  // as they were and std::runtime_error is thrown.
  void Reload();

 private:
  struct AppAuth {
    AuthSummary summary;
    std::shared_ptr<const net::JwtVerifier> verifier;
  };
  struct StoredKey {
    std::string digest;    // SHA-256 of the key, 32 bytes
    int64_t sequence = 0;  // creation order (the row id)
    ServiceKeyInfo info;
  };
  static uint64_t Bucket(std::string_view digest);
  // Fills the (empty) caches from the tables; the caller holds cache_mu_ or is the constructor.
  void LoadCaches();

  std::string data_dir_;
  std::string secrets_key_;
  std::mutex db_mu_;  // serialises writes; taken before cache_mu_
  sqlite3* db_ = nullptr;
  mutable std::shared_mutex cache_mu_;
  std::map<std::string, AppAuth> auth_;
  std::unordered_multimap<uint64_t, StoredKey> keys_;
};

}  // namespace dorm::control
