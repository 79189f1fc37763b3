// The restrictions and limits of user SQL (storage/sql_guard.h) and the statement runner
// (storage/sql_cursor.h), on a real object database.
#include "storage/sql_guard.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/object_database.h"
#include "storage/sql_cursor.h"

namespace dorm::storage {
namespace {

class SqlGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-sql-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = ObjectDatabase::Open(dir_ + "/object.sqlite", true);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // "ok" or the error a user query gives.
  std::string Run(const std::string& sql, std::vector<SqlValue> bindings = {}) {
    try {
      auto cursor = SqlCursor::Execute(db_.get(), sql, bindings);
      std::vector<SqlValue> row;
      while (cursor->Next(&row)) {
      }
      return "ok";
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  std::string dir_;
  std::unique_ptr<ObjectDatabase> db_;
};

TEST(SqlAuthorizerTest, Decisions) {
  EXPECT_EQ(AuthorizeUserSql(SQLITE_SELECT, nullptr, nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_READ, "t", "a", "main", nullptr), SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_READ, "_cf_KV", "key", "main", nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_CREATE_TABLE, "_CF_x", nullptr, "main", nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_CREATE_TABLE, "cf_x", nullptr, "main", nullptr), SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_CREATE_TEMP_TABLE, "t", nullptr, "temp", nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_TRANSACTION, "BEGIN", nullptr, nullptr, nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_SAVEPOINT, "BEGIN", "s", nullptr, nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_ATTACH, "x", nullptr, nullptr, nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_CREATE_VTABLE, "v", "FTS5", "main", nullptr), SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_CREATE_VTABLE, "v", "rtree_i32", "main", nullptr), SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_CREATE_VTABLE, "v", "dbstat", "main", nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_FUNCTION, nullptr, "json_extract", nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_FUNCTION, nullptr, "sqlite_version", nullptr, nullptr),
            SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_PRAGMA, "foreign_keys", "'Off'", nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_PRAGMA, "foreign_keys", "maybe", nullptr, nullptr),
            SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_PRAGMA, "page_size", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_PRAGMA, "page_size", "8192", nullptr, nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_PRAGMA, "table_info", "_cf_KV", nullptr, nullptr), SQLITE_DENY);
  EXPECT_EQ(AuthorizeUserSql(SQLITE_PRAGMA, "journal_mode", nullptr, nullptr, nullptr),
            SQLITE_DENY);
}

TEST_F(SqlGuardTest, UserSqlIsRestricted) {
  EXPECT_EQ(Run("CREATE TABLE t (a)"), "ok");
  EXPECT_EQ(Run("BEGIN"), kSqlTransactionMessage);
  EXPECT_EQ(Run("SAVEPOINT s"), kSqlTransactionMessage);
  EXPECT_EQ(Run("SELECT * FROM _cf_KV"), "access to _cf_KV.key is prohibited: SQLITE_AUTH");
  EXPECT_EQ(Run("CREATE TEMP TABLE x (a)"), "not authorized: SQLITE_AUTH");
  EXPECT_EQ(Run("ATTACH 'x.db' AS x"), "not authorized: SQLITE_AUTH");
  EXPECT_EQ(Run("SELECT sqlite_version()"),
            "not authorized to use function: sqlite_version at offset 7: SQLITE_ERROR");
  EXPECT_EQ(Run("PRAGMA journal_mode"), "not authorized: SQLITE_AUTH");
}

TEST_F(SqlGuardTest, DormsOwnStatementsStayAllowed) {
  // Outside a UserSqlScope the same connection may touch _cf_KV, transactions and PRAGMAs.
  EXPECT_EQ(Run("CREATE TABLE t (a)"), "ok");
  db_->Put("k", "v");
  EXPECT_EQ(db_->Get("k"), "v");
  db_->BeginSavepoint(1);
  db_->ReleaseSavepoint(1);
  db_->Commit();
  db_->DeleteAll();
  EXPECT_EQ(db_->Get("k"), std::nullopt);
  EXPECT_EQ(Run("SELECT * FROM t"), "no such table: t: SQLITE_ERROR");
}

TEST_F(SqlGuardTest, Limits) {
  std::string columns;
  for (int i = 0; i < 101; ++i) columns += (i ? ", c" : "c") + std::to_string(i);
  EXPECT_EQ(Run("CREATE TABLE wide (" + columns + ")"), "too many columns on wide: SQLITE_ERROR");
  std::string params = "?";
  for (int i = 1; i < 101; ++i) params += ", ?";
  EXPECT_EQ(Run("SELECT " + params, std::vector<SqlValue>(101, int64_t{1})),
            "too many SQL variables at offset 307: SQLITE_ERROR");
  EXPECT_EQ(Run("SELECT 'a' LIKE '" + std::string(51, '%') + "'"),
            "LIKE or GLOB pattern too complex: SQLITE_ERROR");
  EXPECT_EQ(Run("SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5"), "ok");
  EXPECT_EQ(Run("SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION "
                "SELECT 6"),
            "too many terms in compound SELECT: SQLITE_ERROR");
  EXPECT_EQ(Run("SELECT 1 /*" + std::string(100000, ' ') + "*/"),
            "statement too long: SQLITE_TOOBIG");
  EXPECT_EQ(sqlite3_limit(db_->handle(), SQLITE_LIMIT_ATTACHED, -1), 0);
  EXPECT_EQ(sqlite3_limit(db_->handle(), SQLITE_LIMIT_EXPR_DEPTH, -1), 100);
  EXPECT_EQ(sqlite3_limit(db_->handle(), SQLITE_LIMIT_VDBE_OP, -1), 25000);
  EXPECT_EQ(sqlite3_limit(db_->handle(), SQLITE_LIMIT_TRIGGER_DEPTH, -1), 10);
}

TEST_F(SqlGuardTest, WritesJoinTheImplicitTransactionReadsDoNot) {
  EXPECT_EQ(Run("SELECT 1"), "ok");
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(Run("CREATE TABLE t (a); INSERT INTO t VALUES (1)"), "ok");
  EXPECT_TRUE(db_->in_transaction());
  db_->Commit();
  EXPECT_EQ(Run("SELECT a FROM t"), "ok");
  EXPECT_FALSE(db_->in_transaction());
}

TEST_F(SqlGuardTest, OpenCursorIsCanceledWhenTheDatabaseCloses) {
  EXPECT_EQ(Run("CREATE TABLE t (a); INSERT INTO t VALUES (1), (2), (3)"), "ok");
  db_->Commit();
  auto cursor = SqlCursor::Execute(db_.get(), "SELECT a FROM t ORDER BY a", {});
  db_.reset();
  // Even the row read ahead is gone, as in workerd (see sql_cursor.h).
  std::vector<SqlValue> row;
  EXPECT_THROW(cursor->Next(&row), SqlError);
  EXPECT_THROW(cursor->Next(&row), SqlError);
}

// A write runs at once, but its RETURNING rows not yet taken are canceled with the database as
// workerd cancels the query; a cursor whose rows were all taken is not.
TEST_F(SqlGuardTest, ReturningRowsLeftAreCanceledWhenTheDatabaseCloses) {
  EXPECT_EQ(Run("CREATE TABLE t (a)"), "ok");
  auto left = SqlCursor::Execute(db_.get(), "INSERT INTO t VALUES (1), (2) RETURNING a", {});
  auto taken = SqlCursor::Execute(db_.get(), "INSERT INTO t VALUES (3) RETURNING a", {});
  std::vector<SqlValue> row;
  ASSERT_TRUE(taken->Next(&row));
  db_->Commit();
  db_.reset();
  EXPECT_THROW(left->Next(&row), SqlError);
  EXPECT_FALSE(taken->Next(&row));
}

}  // namespace
}  // namespace dorm::storage
