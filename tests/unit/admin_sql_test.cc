// An operator's SQL (storage/admin_sql.h) on a real object database: read-only unless asked, the
// key-value table readable, other files and transaction control never reachable, answers bounded,
// and user SQL's rules unchanged around it.
#include "storage/admin_sql.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/object_database.h"
#include "storage/sql_cursor.h"

namespace dorm::storage {
namespace {

class AdminSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-admin-sql-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = ObjectDatabase::Open(dir_ + "/object.sqlite", true);
    db_->Put("k", "v");
    db_->Commit();
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  AdminSqlResult Run(const std::string& sql, bool write = false, size_t max_rows = 100) {
    AdminSqlResult r = RunAdminSql(*db_, sql, {}, write, max_rows, 1 << 20);
    if (db_->in_transaction()) db_->Commit();
    return r;
  }

  std::string dir_;
  std::unique_ptr<ObjectDatabase> db_;
};

const char kNeedsWrite[] =
    "The statement may change the database: run it with --write (\"write\": true) to allow "
    "changes.";

TEST_F(AdminSqlTest, ReadsTheKeyValueTable) {
  AdminSqlResult r = Run("SELECT key, value FROM _cf_KV");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.columns, (std::vector<std::string>{"key", "value"}));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(r.rows[0][0]), "k");
  EXPECT_EQ(std::get<SqlBlob>(r.rows[0][1]).bytes, "v");
}

TEST_F(AdminSqlTest, RefusesWritesUnlessAsked) {
  EXPECT_EQ(Run("DELETE FROM _cf_KV").error, kNeedsWrite);
  EXPECT_EQ(Run("CREATE TABLE t (x)").error, kNeedsWrite);
  EXPECT_EQ(Run("INSERT INTO _cf_KV VALUES ('a', 'b')").error, kNeedsWrite);
  EXPECT_EQ(Run("SELECT count(*) FROM _cf_KV").rows.size(), 1u);
  AdminSqlResult created = Run("CREATE TABLE t (x)", true);
  EXPECT_EQ(created.error, "");
  AdminSqlResult inserted = Run("INSERT INTO t VALUES (1), (2), (3)", true);
  EXPECT_EQ(inserted.error, "");
  EXPECT_EQ(inserted.rows_written, 3);
  EXPECT_EQ(Run("DELETE FROM _cf_KV", true).rows_written, 1);
  EXPECT_FALSE(db_->Get("k").has_value());
}

TEST_F(AdminSqlTest, NeverOtherFilesOrTransactions) {
  for (const char* sql : {"ATTACH DATABASE ':memory:' AS x", "BEGIN", "SAVEPOINT s",
                          "PRAGMA journal_mode = DELETE", "PRAGMA writable_schema = 1"}) {
    EXPECT_EQ(Run(sql, true).error, "not authorized") << sql;
  }
  EXPECT_EQ(Run("PRAGMA table_info(_cf_KV)").rows.size(), 2u);
  EXPECT_EQ(Run("SELECT 1; SELECT 2").error, "Only one SQL statement can be run at a time.");
  EXPECT_EQ(Run("SELECT 1; -- done\n").error, "");
}

TEST_F(AdminSqlTest, BoundsRows) {
  AdminSqlResult r = Run(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50) SELECT x FROM c",
      false, 10);
  EXPECT_EQ(r.rows.size(), 10u);
  EXPECT_TRUE(r.truncated);
}

TEST_F(AdminSqlTest, UserSqlKeepsItsRules) {
  // After an operator's statement, user SQL is judged as before.
  ASSERT_EQ(Run("SELECT * FROM _cf_KV").error, "");
  try {
    auto cursor = SqlCursor::Execute(db_.get(), "SELECT * FROM _cf_KV", {});
    std::vector<SqlValue> row;
    while (cursor->Next(&row)) {
    }
    FAIL() << "user SQL read _cf_KV";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("prohibited"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dorm::storage
