#include "control/control_snapshot.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include "control/credentials_store.h"
#include "control/env_store.h"
#include "control/registry.h"
#include "control/registry_database.h"

namespace dorm::control {
namespace {

ClassRecord Record(const std::string& app, const std::string& name, const std::string& source) {
  ClassRecord record;
  record.app = app;
  record.name = name;
  record.class_name = "Thing";
  record.filename = name + ".js";
  record.source = source;
  record.module_js = source;
  record.access_mode = "public";
  record.deployed_at = "2026-12-06T00:00:00Z";
  record.storage_name = name + "-storage";
  return record;
}

class ControlSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char first[] = "/tmp/dorm-snapshot-test-XXXXXX";
    from_ = mkdtemp(first);
    char second[] = "/tmp/dorm-snapshot-test-XXXXXX";
    to_ = mkdtemp(second);
    // One secrets key for both, as on every node of a cluster; every store's tables exist.
    { CredentialsStore make_key(from_); }
    std::filesystem::copy_file(from_ + "/secrets.key", to_ + "/secrets.key");
    for (const std::string& dir : {from_, to_}) {
      Registry registry(dir);
      EnvStore env(dir);
      CredentialsStore credentials(dir);
    }
  }
  void TearDown() override {
    std::filesystem::remove_all(from_);
    std::filesystem::remove_all(to_);
  }

  static std::string Encode(const std::string& dir) {
    sqlite3* db = OpenRegistryDatabase(dir, "test");
    std::string out = EncodeControlSnapshot(db);
    sqlite3_close_v2(db);
    return out;
  }
  static void Load(const std::string& dir, std::string_view snapshot) {
    sqlite3* db = OpenRegistryDatabase(dir, "test");
    try {
      LoadControlSnapshot(db, snapshot);
    } catch (...) {
      sqlite3_close_v2(db);
      throw;
    }
    sqlite3_close_v2(db);
  }
  static void Exec(const std::string& dir, const std::string& sql) {
    sqlite3* db = OpenRegistryDatabase(dir, "test");
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close_v2(db);
  }

  std::string from_, to_;
};

TEST_F(ControlSnapshotTest, CarriesTheWholeControlStateAndReplacesTheOther) {
  std::string key;
  {
    Registry registry(from_);
    EnvStore env(from_);
    CredentialsStore credentials(from_);
    registry.Upsert(Record("shop", "cart", "export class Thing { /* v1 */ }"));
    registry.Upsert(Record("shop", "order", "export class Thing { /* \xe2\x82\xac, \"q\" */ }"));
    registry.Upsert(Record("blog", "post", "export class Thing {}"));
    EXPECT_TRUE(registry.SetServiceCaller("shop", "blog", true));
    EXPECT_TRUE(registry.AllowTransfer("shop", "Thing", std::string("blog")));
    Exec(from_,
         "INSERT INTO project_migrations (app, position, tag, applied_at) VALUES"
         " ('shop', 0, 'v1', 'then'), ('shop', 1, 'v2', 'later')");
    EXPECT_TRUE(env.Set("shop", "GREETING", "hello"));
    EXPECT_TRUE(env.Set("blog", "EMPTY", ""));
    net::JwtKeySet keys;
    keys.hs256_secret = std::string(32, 's');
    keys.issuer = "https://issuer.example";
    credentials.SetAuth("shop", keys);
    credentials.CreateKey("shop", "first");
    key = credentials.CreateKey("shop", "second").second;
    credentials.CreateKey("blog", "third");
  }
  // The target holds other state, which the snapshot replaces entirely, and a pending deletion
  // (a node's own bookkeeping), which it keeps.
  {
    Registry registry(to_);
    EnvStore env(to_);
    CredentialsStore credentials(to_);
    registry.Upsert(Record("gone", "old", "export class Thing { /* old */ }"));
    registry.Upsert(Record("shop", "cart", "export class Thing { /* v0 */ }"));
    EXPECT_TRUE(env.Set("shop", "STALE", "x"));
    credentials.CreateKey("gone", "stale");
    Exec(to_, "INSERT INTO pending_deletions (app, name) VALUES ('gone', 'old-storage')");
  }
  const std::string snapshot = Encode(from_);
  Load(to_, snapshot);
  // Loading it again changes nothing; encoding the copy gives the same bytes.
  Load(to_, snapshot);
  EXPECT_EQ(Encode(to_), snapshot);

  Registry registry(to_);
  EnvStore env(to_);
  CredentialsStore credentials(to_);
  Registry original(from_);
  EXPECT_EQ(registry.Apps(), (std::vector<std::string>{"blog", "shop"}));
  for (const char* app : {"blog", "shop"}) {
    std::vector<ClassRecord> got = registry.List(app);
    std::vector<ClassRecord> want = original.List(app);
    ASSERT_EQ(got.size(), want.size()) << app;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].name, want[i].name);
      EXPECT_EQ(got[i].source, want[i].source);
      EXPECT_EQ(got[i].module_js, want[i].module_js);
      EXPECT_EQ(got[i].storage_name, want[i].storage_name);
      EXPECT_EQ(got[i].deployed_at, want[i].deployed_at);
    }
  }
  EXPECT_EQ(registry.MigrationTags("shop"), (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(registry.ServiceCallers("shop"), (std::vector<std::string>{"blog"}));
  EXPECT_EQ(registry.TransferTarget("shop", "Thing"), std::optional<std::string>("blog"));
  EXPECT_EQ(env.Values("shop"), (runtime::EnvVars{{"GREETING", "hello"}}));
  EXPECT_EQ(env.Values("blog"), (runtime::EnvVars{{"EMPTY", ""}}));
  // Keys in their order, and the key made at the source authenticates here.
  std::vector<ServiceKeyInfo> listed = credentials.ListKeys("shop");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "first");
  EXPECT_EQ(listed[1].name, "second");
  ASSERT_TRUE(credentials.FindKey(key).has_value());
  EXPECT_EQ(credentials.FindKey(key)->id, listed[1].id);
  EXPECT_TRUE(credentials.ListKeys("gone").empty());
  ASSERT_TRUE(credentials.GetAuth("shop").has_value());
  EXPECT_TRUE(credentials.GetAuth("shop")->hs256);
  EXPECT_EQ(credentials.GetAuth("shop")->issuer, "https://issuer.example");
  EXPECT_EQ(registry.PendingDeletions().size(), 1u);
}

TEST_F(ControlSnapshotTest, ReloadShowsALoadedSnapshotToALiveStore) {
  std::string key;
  {
    CredentialsStore credentials(from_);
    key = credentials.CreateKey("shop", "made-elsewhere").second;
  }
  CredentialsStore live(to_);
  const std::string own = live.CreateKey("shop", "own").second;
  EXPECT_FALSE(live.FindKey(key).has_value());
  Load(to_, Encode(from_));
  live.Reload();
  EXPECT_TRUE(live.FindKey(key).has_value());
  EXPECT_FALSE(live.FindKey(own).has_value());
}

TEST_F(ControlSnapshotTest, RefusesDamagedOrUnknownSnapshotsAndChangesNothing) {
  {
    Registry registry(from_);
    registry.Upsert(Record("shop", "cart", "export class Thing {}"));
    Registry other(to_);
    other.Upsert(Record("mine", "kept", "export class Thing {}"));
    EnvStore env(to_);
    CredentialsStore credentials(to_);
  }
  const std::string snapshot = Encode(from_);
  // Every cut is refused.
  for (size_t size = 0; size < snapshot.size(); size += 1 + size / 7) {
    EXPECT_THROW(Load(to_, snapshot.substr(0, size)), std::runtime_error) << size;
  }
  EXPECT_THROW(Load(to_, snapshot + "x"), std::runtime_error);
  EXPECT_THROW(Load(to_, "not a snapshot"), std::runtime_error);
  // A column this Dorm does not have (a newer Dorm's) is refused, naming it.
  std::string renamed = snapshot;
  size_t at = renamed.find("module_js");
  ASSERT_NE(at, std::string::npos);
  renamed.replace(at, 9, "module_xx");
  try {
    Load(to_, renamed);
    ADD_FAILURE() << "an unknown column was loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("module_xx"), std::string::npos) << e.what();
  }
  Registry registry(to_);
  EXPECT_EQ(registry.Apps(), (std::vector<std::string>{"mine"}));
}

}  // namespace
}  // namespace dorm::control
