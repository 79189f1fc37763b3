// Storage faults and quotas: files removed under an open database, damaged files, cursors across
// closes, and the per-object and per-app quotas.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "storage/object_database.h"
#include "storage/sql_cursor.h"
#include "storage/storage_quota.h"

namespace dorm::storage {
namespace {

class StorageHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-hardening-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/objects/app/cls/ab/object.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A database with `n` committed entries, closed.
  void Seed(int n) {
    auto db = ObjectDatabase::Open(path_, true);
    for (int i = 0; i < n; ++i) db->Put("k" + std::to_string(i), std::string(100, 'v'));
    db->Commit();
  }

  std::string dir_;
  std::string path_;
};

TEST_F(StorageHardeningTest, CommitFailsWhenTheDatabaseFileWasRemoved) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  db->Commit();
  std::filesystem::remove(path_);
  db->Put("b", "2");
  try {
    db->Commit();
    FAIL() << "a commit into a removed file must fail";
  } catch (const StorageError& e) {
    EXPECT_TRUE(e.critical());
  }
  EXPECT_FALSE(db->in_transaction());
}

TEST_F(StorageHardeningTest, FlushFailsWhenTheLogWasRemoved) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  db->Commit();
  std::filesystem::remove(path_ + "-wal");
  auto target = db->MakeSyncTarget();
  std::string error;
  EXPECT_FALSE(target->Run(&error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  EXPECT_FALSE(target->FilesExist(&error));
}

TEST_F(StorageHardeningTest, AnEmptiedDatabaseWithAFullLogIsRefusedAndKept) {
  Seed(10);
  auto wal_size = std::filesystem::file_size(path_ + "-wal");
  ASSERT_GT(wal_size, 0u);
  std::filesystem::resize_file(path_, 0);
  for (bool create : {false, true}) {
    try {
      ObjectDatabase::Open(path_, create);
      FAIL() << "an emptied database must not open";
    } catch (const StorageError& e) {
      EXPECT_EQ(e.sqlite_code(), SQLITE_CORRUPT);
      EXPECT_TRUE(e.critical());
    }
  }
  // SQLite would have deleted the log; it is still there, whole.
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal"), wal_size);
  EXPECT_EQ(std::filesystem::file_size(path_), 0u);
}

TEST_F(StorageHardeningTest, ATruncatedOrForeignFileIsRefused) {
  Seed(3);
  std::filesystem::resize_file(path_, 50);
  EXPECT_THROW(ObjectDatabase::Open(path_, true), StorageError);
  {
    std::ofstream out(path_, std::ios::trunc);
    out << std::string(8192, 'A');
  }
  try {
    ObjectDatabase::Open(path_, true);
    FAIL() << "a file that is not a database must not open";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.sqlite_code(), SQLITE_NOTADB);
  }
  EXPECT_EQ(std::filesystem::file_size(path_), 8192u);
}

TEST_F(StorageHardeningTest, ACursorOpenAtCloseIsCanceledNotDrained) {
  auto db = ObjectDatabase::Open(path_, true);
  auto cursor = SqlCursor::Execute(
      db.get(), "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
      {});
  EXPECT_TRUE(db->has_clients());
  std::vector<SqlValue> row;
  ASSERT_TRUE(cursor->Next(&row));
  EXPECT_EQ(std::get<int64_t>(row[0]), 1);
  // An endless query: draining it would never end. deleteAll() cancels it.
  db->DeleteAll();
  EXPECT_FALSE(db->has_clients());
  try {
    cursor->Next(&row);
    FAIL() << "a canceled cursor must throw";
  } catch (const SqlError& e) {
    EXPECT_STREQ(e.what(), kSqlCursorCanceledMessage);
  }
  db->Commit();
}

TEST_F(StorageHardeningTest, ACursorReadToItsEndIsNotCanceled) {
  auto db = ObjectDatabase::Open(path_, true);
  auto cursor = SqlCursor::Execute(db.get(), "SELECT 1 AS x", {});
  std::vector<SqlValue> row;
  ASSERT_TRUE(cursor->Next(&row));
  EXPECT_FALSE(cursor->Next(&row));
  EXPECT_FALSE(db->has_clients());
  db.reset();
  EXPECT_FALSE(cursor->Next(&row));
}

TEST_F(StorageHardeningTest, TheObjectQuotaFailsWritesWithSqliteFull) {
  StorageQuota quota(dir_ + "/objects", 256 << 10, 0);
  auto db = ObjectDatabase::Open(path_, true, &quota, "app");
  try {
    for (int i = 0; i < 100; ++i) db->Put("k" + std::to_string(i), std::string(10000, 'x'));
    FAIL() << "256 KiB hold no 1 MB";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.sqlite_code() & 0xff, SQLITE_FULL);
    EXPECT_STREQ(e.what(), "database or disk is full: SQLITE_FULL");
  }
}

TEST_F(StorageHardeningTest, TheObjectQuotaHoldsOnAReopenedDatabase) {
  // Open leaves the page count and max_page_count to the first write transaction: the limit must
  // be in force for a write made on a connection that was opened and first used for reads.
  StorageQuota quota(dir_ + "/objects", 256 << 10, 0);
  {
    auto db = ObjectDatabase::Open(path_, true, &quota, "app");
    for (int i = 0; i < 15; ++i) db->Put("k" + std::to_string(i), std::string(10000, 'x'));
    db->Commit();
  }
  auto db = ObjectDatabase::Open(path_, false, &quota, "app");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Get("k0").value(), std::string(10000, 'x'));
  try {
    for (int i = 15; i < 100; ++i) db->Put("k" + std::to_string(i), std::string(10000, 'x'));
    FAIL() << "256 KiB hold no 1 MB";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.sqlite_code() & 0xff, SQLITE_FULL);
  }
}

TEST_F(StorageHardeningTest, TheQuotaCountsPagesOfTheSizeInTheDatabaseHeader) {
  // A database made with 8 KiB pages (as another tool may have written it): Open takes the page
  // size from the header it checks, and the app's usage grows by whole pages of that size.
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "PRAGMA page_size=8192; PRAGMA journal_mode=WAL;"
                         "CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
                         "CREATE TABLE _cf_METADATA (key TEXT PRIMARY KEY, value) WITHOUT ROWID;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_close(raw), SQLITE_OK);
  StorageQuota quota(dir_ + "/objects", 0, 64 << 20);
  auto db = ObjectDatabase::Open(path_, false, &quota, "app");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->SizeBytes() % 8192, 0);
  const int64_t before = quota.AppUsage("app");
  for (int i = 0; i < 8; ++i) db->Put("k" + std::to_string(i), std::string(10000, 'x'));
  db->Commit();
  const int64_t grown = quota.AppUsage("app") - before;
  EXPECT_GE(grown, 8 * 10000);
  EXPECT_EQ(grown % 8192, 0);
}

TEST_F(StorageHardeningTest, TheAppQuotaCountsEveryObjectOfTheApp) {
  StorageQuota quota(dir_ + "/objects", 0, 512 << 10);
  int refused_at = -1;
  for (int object = 0; object < 10 && refused_at < 0; ++object) {
    auto db = ObjectDatabase::Open(
        dir_ + "/objects/app/cls/ab/o" + std::to_string(object) + ".sqlite", true, &quota, "app");
    try {
      for (int i = 0; i < 10; ++i) db->Put("k" + std::to_string(i), std::string(10000, 'x'));
      db->Commit();
    } catch (const StorageError& e) {
      EXPECT_EQ(e.sqlite_code() & 0xff, SQLITE_FULL);
      refused_at = object;
    }
  }
  // Each object holds about 130 KB (a 10,000-byte value takes three 4 KiB pages): the app's
  // 512 KiB end at the fourth or fifth.
  EXPECT_GE(refused_at, 3);
  EXPECT_LE(refused_at, 5);
  EXPECT_GT(quota.AppUsage("app"), 300 << 10);
  EXPECT_EQ(quota.AppUsage("other"), 0);
  // Measured again from the files, the usage is about the same.
  StorageQuota fresh(dir_ + "/objects", 0, 512 << 10);
  EXPECT_GT(fresh.AppUsage("app"), 300 << 10);
  EXPECT_EQ(fresh.AppRemaining("other"), 512 << 10);
}

TEST_F(StorageHardeningTest, TheAppQuotaNeverWaitsForTheWalkOfTheAppsFiles) {
  // 300 KiB of files against a 200 KiB quota, among more files than a first call walks itself.
  std::filesystem::create_directories(dir_ + "/objects/app/cls/ab");
  for (int i = 0; i < 3; ++i) {
    std::ofstream(dir_ + "/objects/app/cls/ab/o" + std::to_string(i) + ".sqlite")
        << std::string(100 << 10, 'x');
  }
  for (size_t i = 0; i < StorageQuota::kInlineWalkEntries; ++i) {
    std::ofstream(dir_ + "/objects/app/cls/ab/empty" + std::to_string(i) + ".sqlite");
  }
  StorageQuota quota(dir_ + "/objects", 0, 200 << 10);
  // The first answer is given before the walk can have counted anything (the walk's result is
  // stored under the lock this call holds): an event loop never waits for a folder of a million
  // objects to be walked.
  EXPECT_EQ(quota.AppRemaining("app"), 200 << 10);
  // Growth committed while the walk runs (or after it) is kept on top of what it finds.
  quota.Add("app", 10 << 10);
  EXPECT_EQ(quota.AppUsage("app"), 310 << 10);
  EXPECT_EQ(quota.AppRemaining("app"), 0);
  // Forgotten (a class was deleted): walked again.
  std::filesystem::remove(dir_ + "/objects/app/cls/ab/o0.sqlite");
  quota.Forget("app");
  EXPECT_EQ(quota.AppUsage("app"), 200 << 10);
  EXPECT_EQ(quota.AppUsage("other"), 0);
}

TEST_F(StorageHardeningTest, TheAppQuotaStopsAWalkInProgressWhenDestroyed) {
  std::filesystem::create_directories(dir_ + "/objects/big/cls/ab");
  for (int i = 0; i < 20000; ++i) std::ofstream(dir_ + "/objects/big/cls/ab/o" + std::to_string(i));
  for (int round = 0; round < 20; ++round) {
    StorageQuota quota(dir_ + "/objects", 0, 1 << 20);
    EXPECT_EQ(quota.AppRemaining("big"), 1 << 20);
    // Destroyed at once, with the walk queued, running or done: it must end without a crash
    // or a hang (ASan checks the walk does not outlive the quota).
  }
}

}  // namespace
}  // namespace dorm::storage
