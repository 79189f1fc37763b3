// rowsRead/rowsWritten of user SQL (storage/sql_row_counts.h through storage/sql_cursor.h), on a
// real object database. Expected numbers are workerd's for the same statements (the e2e test
// tests/e2e/sql.test.mjs has the full table).
#include "storage/sql_row_counts.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "storage/object_database.h"
#include "storage/sql_cursor.h"

namespace dorm::storage {
namespace {

using Counts = std::pair<int64_t, int64_t>;

class SqlRowCountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-sql-counts-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = ObjectDatabase::Open(dir_ + "/object.sqlite", true);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // [read, written] when exec() returns, after each row taken, and at the end.
  std::vector<Counts> Run(const std::string& sql) {
    auto cursor = SqlCursor::Execute(db_.get(), sql, {});
    std::vector<Counts> out{{cursor->rows_read(), cursor->rows_written()}};
    std::vector<SqlValue> row;
    while (cursor->Next(&row)) out.emplace_back(cursor->rows_read(), cursor->rows_written());
    out.emplace_back(cursor->rows_read(), cursor->rows_written());
    return out;
  }
  Counts Final(const std::string& sql) { return Run(sql).back(); }

  std::string dir_;
  std::unique_ptr<ObjectDatabase> db_;
};

// Stock SQLite's counter 0, read through sqlite3_stmt_status(stmt, 0, 0), counts the successful
// steps of loops that are not full scans (here an index range): the counts depend on it.
TEST(StepCountersTest, CounterZeroCountsIndexSteps) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE t (id INTEGER PRIMARY KEY, v); CREATE INDEX t_v ON t (v);"
                         "INSERT INTO t VALUES (1, 1), (2, 2), (3, 3), (4, 4)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT v FROM t WHERE v >= 2", -1, &stmt, nullptr), SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
  }
  StepCounters c = StepCounters::Of(stmt, 4, 3);
  EXPECT_EQ(c.other_steps, 2);  // 2 → 3 → 4
  EXPECT_EQ(c.scan_steps, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(SqlRowCountsTest, SchemaChanges) {
  EXPECT_EQ(Final("CREATE TABLE t (id INTEGER PRIMARY KEY, v)"), Counts(1, 2));
  EXPECT_EQ(Final("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v)"), Counts(0, 0));
  EXPECT_EQ(Final("CREATE TABLE k (name TEXT PRIMARY KEY, v)"), Counts(1, 3));
  EXPECT_EQ(Final("CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v)"), Counts(2, 4));
  EXPECT_EQ(Final("CREATE INDEX t_v ON t (v)"), Counts(2, 1));
  EXPECT_EQ(Final("CREATE INDEX IF NOT EXISTS t_v ON t (v)"), Counts(0, 0));
  EXPECT_EQ(Final("INSERT INTO t VALUES (1, 10), (2, 20), (3, 30), (4, 40), (5, 50)"),
            Counts(5, 10));
  EXPECT_EQ(Final("CREATE INDEX t_v2 ON t (v, id)"), Counts(12, 6));
}

TEST_F(SqlRowCountsTest, Writes) {
  Run("CREATE TABLE t (id INTEGER PRIMARY KEY, v, s); CREATE INDEX t_v ON t (v)");
  EXPECT_EQ(Final("INSERT INTO t (v, s) VALUES (1, 'a')"), Counts(0, 2));
  EXPECT_EQ(Final("INSERT INTO t VALUES (5, 5, 'e')"), Counts(1, 2));
  EXPECT_EQ(Final("INSERT INTO t VALUES (5, 6, 'f') ON CONFLICT DO NOTHING"), Counts(1, 0));
  EXPECT_EQ(Final("INSERT INTO t VALUES (5, 7, 'g') ON CONFLICT (id) DO UPDATE SET v = excluded.v"),
            Counts(1, 2));
  EXPECT_EQ(Final("UPDATE t SET s = 'z' WHERE id = 5"), Counts(1, 1));
  EXPECT_EQ(Final("UPDATE t SET v = v + 1"), Counts(2, 4));
  EXPECT_EQ(Final("DELETE FROM t WHERE id = 5"), Counts(1, 1));
  EXPECT_EQ(Final("DELETE FROM t"), Counts(0, 1));
}

// An upsert on a TEXT key reads the existing row only when there is one, and writes the key's
// index entry only when it inserts.
TEST_F(SqlRowCountsTest, UpsertsOnATextKey) {
  Run("CREATE TABLE k (name TEXT PRIMARY KEY, v); INSERT INTO k VALUES ('a', 1)");
  const std::string upsert = "INSERT INTO k VALUES ('%', 2) ON CONFLICT (name) DO UPDATE SET v = 3";
  std::string insert = upsert;
  insert.replace(insert.find('%'), 1, "b");
  std::string update = upsert;
  update.replace(update.find('%'), 1, "a");
  EXPECT_EQ(Final(insert), Counts(0, 2));
  EXPECT_EQ(Final(update), Counts(1, 1));
  EXPECT_EQ(Final("REPLACE INTO k VALUES ('a', 4)"), Counts(1, 2));
}

TEST_F(SqlRowCountsTest, QueriesCountAsTheCursorMoves) {
  Run("CREATE TABLE t (id INTEGER PRIMARY KEY, v);"
      "INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)");
  // One row ahead of the caller, as workerd's cursor.
  EXPECT_EQ(Run("SELECT * FROM t"), (std::vector<Counts>{{1, 0}, {2, 0}, {3, 0}, {3, 0}, {3, 0}}));
  EXPECT_EQ(Run("SELECT * FROM t WHERE id = 2"), (std::vector<Counts>{{1, 0}, {1, 0}, {1, 0}}));
  EXPECT_EQ(Final("SELECT count(*) FROM t"), Counts(3, 0));
  EXPECT_EQ(Final("SELECT * FROM t ORDER BY v DESC"), Counts(6, 0));
  // A write runs at once; its counts still follow the rows taken.
  EXPECT_EQ(Run("INSERT INTO t VALUES (4, 40), (5, 50) RETURNING id"),
            (std::vector<Counts>{{5, 2}, {6, 2}, {6, 2}, {6, 2}}));
}

TEST_F(SqlRowCountsTest, OnlyTheLastStatementCounts) {
  EXPECT_EQ(Final("CREATE TABLE t (id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 1)"),
            Counts(1, 1));
  EXPECT_EQ(Final("INSERT INTO t VALUES (2, 2); SELECT * FROM t WHERE id = 2"), Counts(1, 0));
}

// A schema change through user SQL makes cached shapes stale: the same text then counts the
// new plan (an index lookup instead of a scan).
TEST_F(SqlRowCountsTest, SchemaChangeRefreshesTheShapes) {
  Run("CREATE TABLE t (id INTEGER PRIMARY KEY, v);"
      "INSERT INTO t VALUES (1, 10), (2, 20), (3, 30), (4, 40)");
  EXPECT_EQ(Final("SELECT id FROM t WHERE v = 30"), Counts(4, 0));
  Run("CREATE INDEX t_v ON t (v)");
  EXPECT_EQ(Final("SELECT id FROM t WHERE v = 30"), Counts(2, 0));
}

// A program too large to work out (here 90 subqueries, each its own loop) counts with SQLite's
// own counters only, and counting it stays cheap however often it is asked.
TEST_F(SqlRowCountsTest, ProgramsTooLargeForAShapeCountWithSqliteCounters) {
  Run("CREATE TABLE t (v); INSERT INTO t VALUES (1), (2), (3)");
  std::string sql = "SELECT 0";
  for (int i = 0; i < 90; ++i)
    sql += ", (SELECT sum(v) FROM t WHERE v > " + std::to_string(i) + ")";
  auto cursor = SqlCursor::Execute(db_.get(), sql, {});
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(cursor->rows_read(), 2 * 90);  // Next steps only
  std::vector<SqlValue> row;
  ASSERT_TRUE(cursor->Next(&row));
  EXPECT_EQ(row.size(), 91u);
  EXPECT_EQ(cursor->rows_written(), 0);
}

}  // namespace
}  // namespace dorm::storage
