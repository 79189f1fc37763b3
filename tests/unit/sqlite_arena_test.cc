// SQLite's own jemalloc arena (storage/sqlite_arena.h): SQLite's blocks come from it and no others
// do, and what closed connections freed goes back to the system rather than staying among the
// process's other allocations.
#include "storage/sqlite_arena.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <string>
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

TEST_F(SqliteArenaTest, ClosedConnectionsLeaveNoPagesBehind) {
  const util::ArenaPages start = util::PagesOfArena(arena_);
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
  const util::ArenaPages open = util::PagesOfArena(arena_);
  // 64 databases of about 70 KiB each: well over a thousand pages in use.
  EXPECT_GT(open.active, start.active + 1000);
  for (sqlite3* db : connections) ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  util::ReturnFreeMemoryToSystem();
  const util::ArenaPages closed = util::PagesOfArena(arena_);
  EXPECT_LE(closed.active, start.active + 16);
  EXPECT_EQ(closed.dirty, 0u);
  EXPECT_EQ(closed.muzzy, 0u);
}

}  // namespace
}  // namespace dorm::storage
