// SQLite's own jemalloc arena (storage/sqlite_arena.h): SQLite's blocks come from it and no others
// do, and what closed connections freed goes back to the system rather than staying among the
// process's other allocations.
#include "storage/sqlite_arena.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite_setup.h"
#include "util/process_allocator.h"

namespace dorm::storage {
namespace {

// As `dorm serve` does, SQLite is configured before anything uses it: once another test has
// opened a database, SQLite is initialized and refuses a new allocator. Static initialization
// runs before every test of this binary.
const bool kConfigured = (ConfigureSqliteForManyDatabases(), true);

class SqliteArenaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kConfigured);
    if (!util::ProcessAllocatorIsJemalloc()) GTEST_SKIP() << "built without jemalloc";
    arena_ = SqliteArenaIndex();
    ASSERT_GE(arena_, 0);
  }
  int arena_ = -1;
};

TEST_F(SqliteArenaTest, SqliteAllocatesFromItsArenaAndNothingElseDoes) {
  void* small = sqlite3_malloc(100);
  void* large = sqlite3_malloc(40000);  // an exclusive-mode WAL index is 32 KiB
  ASSERT_NE(small, nullptr);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(util::ArenaOf(small), arena_);
  EXPECT_EQ(util::ArenaOf(large), arena_);
  EXPECT_GE(sqlite3_msize(small), 100u);
  void* grown = sqlite3_realloc(small, 100000);
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(util::ArenaOf(grown), arena_);
  EXPECT_GE(sqlite3_msize(grown), 100000u);
  sqlite3_free(grown);
  sqlite3_free(large);

  // The rest of the process allocates elsewhere, also in blocks of the sizes SQLite just freed.
  void* other = std::malloc(100);
  auto* text = new std::string(5000, 'x');
  EXPECT_NE(util::ArenaOf(other), arena_);
  EXPECT_NE(util::ArenaOf(text->data()), arena_);
  delete text;
  std::free(other);
}

// Opens 64 databases with 200 rows each, closes them, and checks that the arena holds no more
// pages than before once the thread's cache was flushed and the arena purged.
void OpenAndCloseDatabases(int arena) {
  const util::ArenaPages start = util::PagesOfArena(arena);
  std::vector<sqlite3*> connections;
  for (int i = 0; i < 64; ++i) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    connections.push_back(db);
    ASSERT_EQ(
        sqlite3_exec(db,
                     "CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB);"
                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                     "WHERE i < 200) INSERT INTO kv SELECT 'key' || i, randomblob(300) FROM n;",
                     nullptr, nullptr, nullptr),
        SQLITE_OK)
        << sqlite3_errmsg(db);
  }
  const util::ArenaPages open = util::PagesOfArena(arena);
  // 64 databases of about 70 KiB each: well over a thousand pages in use.
  EXPECT_GT(open.active, start.active + 1000);
  for (sqlite3* db : connections) ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  FlushSqliteThreadCache();
  util::ReturnFreeMemoryToSystem();
  const util::ArenaPages closed = util::PagesOfArena(arena);
  EXPECT_LE(closed.active, start.active + 16);
  EXPECT_EQ(closed.dirty, 0u);
  EXPECT_EQ(closed.muzzy, 0u);
}

TEST_F(SqliteArenaTest, ClosedConnectionsLeaveNoPagesBehind) { OpenAndCloseDatabases(arena_); }

// An engine thread's own cache of SQLite's blocks: they still come from the arena, freed ones are
// reused by SQLite on that thread, and a flush gives them back so that a purge returns their pages.
TEST_F(SqliteArenaTest, AThreadCacheKeepsSqliteBlocksInTheArena) {
  std::thread engine([this] {
    UseSqliteThreadCache();
    void* first = sqlite3_malloc(200);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(util::ArenaOf(first), arena_);
    sqlite3_free(first);
    // The freed block waits in this thread's cache for SQLite, not for malloc().
    void* other = std::malloc(200);
    EXPECT_NE(other, first);
    EXPECT_NE(util::ArenaOf(other), arena_);
    void* again = sqlite3_malloc(200);
    EXPECT_EQ(again, first);
    sqlite3_free(again);
    std::free(other);
    OpenAndCloseDatabases(arena_);
  });
  engine.join();
}

}  // namespace
}  // namespace dorm::storage
