#include "control/credentials_store.h"

#include <openssl/crypto.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "control/admin_json.h"
#include "control/registry_database.h"
#include "control/secrets_key.h"
#include "util/aes_gcm.h"
#include "util/crypto.h"

namespace dorm::control {
namespace {

constexpr char kCredentialsOwner[] = "credentials store";

void CheckCredentials(sqlite3* db, int rc, const char* what) {
  CheckSqlite(db, rc, kCredentialsOwner, what);
}

using Statement = SqliteStatement;

Statement PrepareCredentials(sqlite3* db, const char* sql) {
  return PrepareSqlite(db, sql, kCredentialsOwner);
}

// Binds a sealed secret to its app: a sealed value copied to another app does not open.
std::string AssociatedData(const std::string& app) { return "dorm hs256 secret v1\n" + app; }

std::string DigestBytes(std::string_view key) {
  Sha256Digest d = Sha256(key);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

AuthSummary Summarize(const net::JwtVerifier& verifier, const net::JwtKeySet& keys,
                      std::string updated_at) {
  AuthSummary s;
  s.hs256 = verifier.accepts_hs256();
  s.pem_keys = verifier.pem_key_count();
  s.jwks_keys = verifier.jwks_key_count();
  s.issuer = keys.issuer;
  s.audience = keys.audience;
  s.updated_at = std::move(updated_at);
  return s;
}

}  // namespace

CredentialsStore::CredentialsStore(const std::string& data_dir) : data_dir_(data_dir) {
  std::string path = data_dir + "/registry.sqlite";
  db_ = OpenRegistryDatabase(data_dir, kCredentialsOwner);
  try {
    CheckCredentials(
        db_,
        sqlite3_exec(db_,
                     "CREATE TABLE IF NOT EXISTS app_auth (app TEXT PRIMARY KEY,"
                     " sealed_hs256_secret BLOB NOT NULL, public_keys_pem TEXT NOT NULL,"
                     " jwks TEXT NOT NULL, issuer TEXT NOT NULL, audience TEXT NOT NULL,"
                     " updated_at TEXT NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS service_keys (id TEXT PRIMARY KEY,"
                     " app TEXT NOT NULL, name TEXT NOT NULL, prefix TEXT NOT NULL,"
                     " key_sha256 BLOB NOT NULL UNIQUE, created_at TEXT NOT NULL)",
                     nullptr, nullptr, nullptr),
        "schema");
    Statement sealed = PrepareCredentials(
        db_, "SELECT count(*) FROM app_auth WHERE length(sealed_hs256_secret) > 0");
    CheckCredentials(db_, sqlite3_step(sealed.get()), "count");
    if (sqlite3_column_int64(sealed.get(), 0) > 0 && !SecretsKeyExists(data_dir)) {
      throw std::runtime_error(SecretsKeyPath(data_dir) + " is missing, but " + path +
                               " holds HS256 secrets sealed with it: restore the key file from "
                               "the same backup as the registry");
    }
    secrets_key_ = LoadOrCreateSecretsKey(data_dir);
    LoadCaches();
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

CredentialsStore::~CredentialsStore() { sqlite3_close_v2(db_); }

uint64_t CredentialsStore::Bucket(std::string_view digest) {
  uint64_t bucket = 0;
  std::memcpy(&bucket, digest.data(), sizeof bucket);
  return bucket;
}

void CredentialsStore::Reload() {
  std::lock_guard<std::mutex> db_lock(db_mu_);
  // The request path waits while the tables are read (a few rows per app).
  std::unique_lock<std::shared_mutex> cache_lock(cache_mu_);
  std::map<std::string, AppAuth> auth;
  std::unordered_multimap<uint64_t, StoredKey> keys;
  auth_.swap(auth);
  keys_.swap(keys);
  try {
    LoadCaches();
  } catch (...) {
    auth_.swap(auth);
    keys_.swap(keys);
    throw;
  }
}

void CredentialsStore::LoadCaches() {
  Statement auth =
      PrepareCredentials(db_,
                         "SELECT app, sealed_hs256_secret, public_keys_pem, jwks, issuer, audience,"
                         " updated_at FROM app_auth");
  int rc;
  while ((rc = sqlite3_step(auth.get())) == SQLITE_ROW) {
    std::string app = SqliteColumnBytes(auth.get(), 0);
    net::JwtKeySet keys;
    std::string sealed = SqliteColumnBytes(auth.get(), 1);
    if (!sealed.empty()) {
      auto secret = OpenAes256Gcm(secrets_key_, sealed, AssociatedData(app));
      if (!secret) {
        throw std::runtime_error("the HS256 secret of app '" + app + "' cannot be opened with " +
                                 SecretsKeyPath(data_dir_) +
                                 ": the key file does not belong to this registry");
      }
      keys.hs256_secret = std::move(*secret);
    }
    keys.public_keys_pem = SqliteColumnBytes(auth.get(), 2);
    keys.jwks_json = SqliteColumnBytes(auth.get(), 3);
    keys.issuer = SqliteColumnBytes(auth.get(), 4);
    keys.audience = SqliteColumnBytes(auth.get(), 5);
    // Stored configurations were checked when they were set; a failure here means the OpenSSL
    // build changed, which the operator must hear about at start rather than as 401s.
    std::shared_ptr<const net::JwtVerifier> verifier;
    try {
      verifier = std::make_shared<net::JwtVerifier>(keys);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("the JWT configuration of app '" + app +
                               "' is unusable: " + e.what());
    }
    auth_[app] =
        AppAuth{Summarize(*verifier, keys, SqliteColumnBytes(auth.get(), 6)), std::move(verifier)};
  }
  CheckCredentials(db_, rc, "load auth");
  Statement keys = PrepareCredentials(
      db_, "SELECT id, app, name, prefix, key_sha256, created_at, rowid FROM service_keys");
  while ((rc = sqlite3_step(keys.get())) == SQLITE_ROW) {
    StoredKey stored;
    stored.info = ServiceKeyInfo{SqliteColumnBytes(keys.get(), 0), SqliteColumnBytes(keys.get(), 1),
                                 SqliteColumnBytes(keys.get(), 2), SqliteColumnBytes(keys.get(), 3),
                                 SqliteColumnBytes(keys.get(), 5)};
    stored.digest = SqliteColumnBytes(keys.get(), 4);
    stored.sequence = sqlite3_column_int64(keys.get(), 6);
    if (stored.digest.size() != 32) continue;
    keys_.emplace(Bucket(stored.digest), std::move(stored));
  }
  CheckCredentials(db_, rc, "load keys");
}

AuthSummary CredentialsStore::SetAuth(const std::string& app, const net::JwtKeySet& keys) {
  auto verifier = std::make_shared<const net::JwtVerifier>(keys);  // throws if unusable
  std::string updated_at = NowIso8601();
  std::string sealed = keys.hs256_secret.empty()
                           ? std::string()
                           : SealAes256Gcm(secrets_key_, keys.hs256_secret, AssociatedData(app));
  std::lock_guard<std::mutex> db_lock(db_mu_);
  Statement st = PrepareCredentials(db_,
                                    "INSERT OR REPLACE INTO app_auth (app, sealed_hs256_secret,"
                                    " public_keys_pem, jwks, issuer, audience, updated_at)"
                                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  BindSqliteText(st.get(), 1, app);
  BindSqliteBlob(st.get(), 2, sealed);
  BindSqliteText(st.get(), 3, keys.public_keys_pem);
  BindSqliteText(st.get(), 4, keys.jwks_json);
  BindSqliteText(st.get(), 5, keys.issuer);
  BindSqliteText(st.get(), 6, keys.audience);
  BindSqliteText(st.get(), 7, updated_at);
  CheckCredentials(db_, sqlite3_step(st.get()), "set auth");
  AuthSummary summary = Summarize(*verifier, keys, updated_at);
  std::unique_lock<std::shared_mutex> cache_lock(cache_mu_);
  auth_[app] = AppAuth{summary, std::move(verifier)};
  return summary;
}

std::optional<AuthSummary> CredentialsStore::GetAuth(const std::string& app) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto it = auth_.find(app);
  if (it == auth_.end()) return std::nullopt;
  return it->second.summary;
}

bool CredentialsStore::ClearAuth(const std::string& app) {
  std::lock_guard<std::mutex> db_lock(db_mu_);
  Statement st = PrepareCredentials(db_, "DELETE FROM app_auth WHERE app = ?1");
  BindSqliteText(st.get(), 1, app);
  CheckCredentials(db_, sqlite3_step(st.get()), "clear auth");
  std::unique_lock<std::shared_mutex> cache_lock(cache_mu_);
  return auth_.erase(app) > 0;
}

std::shared_ptr<const net::JwtVerifier> CredentialsStore::Verifier(const std::string& app) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto it = auth_.find(app);
  return it == auth_.end() ? nullptr : it->second.verifier;
}

std::pair<ServiceKeyInfo, std::string> CredentialsStore::CreateKey(const std::string& app,
                                                                   const std::string& name,
                                                                   std::string_view entropy) {
  std::string bytes =
      entropy.size() == kKeyEntropyBytes ? std::string(entropy) : RandomBytes(kKeyEntropyBytes);
  std::string secret_hex = ToHex(std::string_view(bytes).substr(0, 32));
  std::string key = kServiceKeyPrefix + secret_hex;
  StoredKey stored;
  stored.digest = DigestBytes(key);
  stored.info = ServiceKeyInfo{"sk_" + ToHex(std::string_view(bytes).substr(32, 8)), app, name,
                               kServiceKeyPrefix + secret_hex.substr(0, 8), NowIso8601()};
  std::lock_guard<std::mutex> db_lock(db_mu_);
  Statement st =
      PrepareCredentials(db_,
                         "INSERT INTO service_keys (id, app, name, prefix, key_sha256, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  BindSqliteText(st.get(), 1, stored.info.id);
  BindSqliteText(st.get(), 2, app);
  BindSqliteText(st.get(), 3, name);
  BindSqliteText(st.get(), 4, stored.info.prefix);
  BindSqliteBlob(st.get(), 5, stored.digest);
  BindSqliteText(st.get(), 6, stored.info.created_at);
  CheckCredentials(db_, sqlite3_step(st.get()), "create key");
  stored.sequence = sqlite3_last_insert_rowid(db_);
  ServiceKeyInfo info = stored.info;
  std::unique_lock<std::shared_mutex> cache_lock(cache_mu_);
  keys_.emplace(Bucket(stored.digest), std::move(stored));
  return {std::move(info), std::move(key)};
}

std::vector<ServiceKeyInfo> CredentialsStore::ListKeys(const std::string& app) const {
  std::vector<std::pair<int64_t, ServiceKeyInfo>> found;
  {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    for (const auto& [bucket, stored] : keys_) {
      if (stored.info.app == app) found.emplace_back(stored.sequence, stored.info);
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ServiceKeyInfo> out;
  for (auto& [sequence, info] : found) out.push_back(std::move(info));
  return out;
}

bool CredentialsStore::RevokeKey(const std::string& app, const std::string& id) {
  std::lock_guard<std::mutex> db_lock(db_mu_);
  Statement st = PrepareCredentials(db_, "DELETE FROM service_keys WHERE app = ?1 AND id = ?2");
  BindSqliteText(st.get(), 1, app);
  BindSqliteText(st.get(), 2, id);
  CheckCredentials(db_, sqlite3_step(st.get()), "revoke key");
  bool removed = sqlite3_changes(db_) > 0;
  std::unique_lock<std::shared_mutex> cache_lock(cache_mu_);
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second.info.app == app && it->second.info.id == id) {
      it = keys_.erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  return removed;
}

std::optional<ServiceKeyInfo> CredentialsStore::FindKey(std::string_view key) const {
  std::string digest = DigestBytes(key);
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto [begin, end] = keys_.equal_range(Bucket(digest));
  for (auto it = begin; it != end; ++it) {
    if (CRYPTO_memcmp(it->second.digest.data(), digest.data(), digest.size()) == 0) {
      return it->second.info;
    }
  }
  return std::nullopt;
}

}  // namespace dorm::control
