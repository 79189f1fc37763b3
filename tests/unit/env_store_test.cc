#include "control/env_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>

#include "control/secrets_key.h"

namespace dorm::control {
namespace {

class EnvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-env-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs one statement on the registry file from outside the store.
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/registry.sqlite").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  std::string dir_;
};

TEST_F(EnvStoreTest, SetListRemoveAndReopen) {
  {
    EnvStore store(dir_);
    EXPECT_TRUE(store.Set("app", "B_KEY", "two"));
    EXPECT_TRUE(store.Set("app", "A_KEY", "one"));
    EXPECT_FALSE(store.Set("app", "A_KEY", "uno"));
    EXPECT_TRUE(store.Set("other", "A_KEY", "elsewhere"));
    EXPECT_EQ(store.Keys("app"), (std::vector<std::string>{"A_KEY", "B_KEY"}));
    EXPECT_TRUE(store.Has("app", "B_KEY"));
    EXPECT_FALSE(store.Has("app", "C_KEY"));
    EXPECT_TRUE(store.Remove("app", "B_KEY"));
    EXPECT_FALSE(store.Remove("app", "B_KEY"));
  }
  EnvStore reopened(dir_);
  EXPECT_EQ(reopened.Values("app"), (runtime::EnvVars{{"A_KEY", "uno"}}));
  EXPECT_EQ(reopened.Values("other"), (runtime::EnvVars{{"A_KEY", "elsewhere"}}));
  EXPECT_TRUE(reopened.Values("none").empty());
  struct stat st;
  ASSERT_EQ(stat(SecretsKeyPath(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
}

TEST_F(EnvStoreTest, ASealedValueMovedToAnotherKeyDoesNotOpen) {
  {
    EnvStore store(dir_);
    store.Set("app", "PUBLIC_NAME", "harmless");
    store.Set("app", "SECRET", "sk-1");
  }
  Exec(
      "UPDATE env_vars SET sealed = (SELECT sealed FROM env_vars WHERE key = 'SECRET') "
      "WHERE key = 'PUBLIC_NAME'");
  EnvStore store(dir_);
  EXPECT_THROW(store.Values("app"), std::runtime_error);
}

TEST_F(EnvStoreTest, RefusesToStartWithoutTheKeyThatSealedTheValues) {
  { EnvStore(dir_).Set("app", "SECRET", "sk-1"); }
  std::filesystem::remove(SecretsKeyPath(dir_));
  EXPECT_THROW(EnvStore store(dir_), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(SecretsKeyPath(dir_)));
}

TEST_F(EnvStoreTest, ADamagedKeyFileIsRefused) {
  { EnvStore store(dir_); }
  std::filesystem::resize_file(SecretsKeyPath(dir_), 31);
  EXPECT_THROW(EnvStore store(dir_), std::runtime_error);
}

}  // namespace
}  // namespace dorm::control
