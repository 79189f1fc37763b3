#include "storage/parkable_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "storage/held_log.h"
#include "storage/new_database_image.h"
#include "storage/object_database.h"
#include "storage/sqlite_setup.h"
#include "storage/storage_quota.h"
#include "storage/temp_file_limit.h"

namespace dorm::storage {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ParkableVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InstallParkableVfs();
    char tmpl[] = "/tmp/dorm-parkable-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/objects/object.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The process's descriptors open on the database file or its log, as the kernel lists them.
  int Descriptors() const {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
      if (!ec && (target == path_ || target == path_ + "-wal" ||
                  target.rfind(path_ + " (deleted)", 0) == 0 ||
                  target.rfind(path_ + "-wal (deleted)", 0) == 0)) {
        ++count;
      }
    }
    return count;
  }

  // A database with one committed key, flushed.
  std::unique_ptr<ObjectDatabase> OpenWithKey() {
    auto db = ObjectDatabase::Open(path_, true);
    db->Put("k", "v1");
    db->Commit();
    std::string error;
    EXPECT_TRUE(db->MakeSyncTarget()->Run(&error)) << error;
    return db;
  }

  // Replaces `path` by a copy of itself: the same bytes under the same name, another file.
  static void ReplaceByCopy(const std::string& path) {
    std::filesystem::copy_file(path, path + ".copy");
    std::filesystem::rename(path + ".copy", path);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(ParkableVfsTest, ObjectDatabasesOpenThroughIt) {
  auto db = ObjectDatabase::Open(path_, true);
  sqlite3_vfs* vfs = nullptr;
  ASSERT_EQ(sqlite3_file_control(db->handle(), "main", SQLITE_FCNTL_VFS_POINTER, &vfs), SQLITE_OK);
  EXPECT_STREQ(vfs->zName, kParkableVfs);
  EXPECT_STREQ(ParkableVfs(), kParkableVfs);
  // Over the VFS that takes no locks (a lock would be lost with the descriptor).
  EXPECT_STREQ(static_cast<sqlite3_vfs*>(vfs->pAppData)->zName, UnlockedVfs());
}

TEST_F(ParkableVfsTest, ParkingClosesBothDescriptorsAndKeepsTheConnection) {
  auto db = OpenWithKey();
  EXPECT_EQ(Descriptors(), 2);
  EXPECT_EQ(UnparkedFiles(db->handle()), 2);
  sqlite3_stmt* before = sqlite3_next_stmt(db->handle(), nullptr);
  ASSERT_NE(before, nullptr);  // the get and put statements, prepared once

  ASSERT_TRUE(db->Park());
  EXPECT_EQ(Descriptors(), 0);
  EXPECT_EQ(UnparkedFiles(db->handle()), 0);
  // Parking again is harmless.
  EXPECT_TRUE(db->Park());

  // The same connection, its statements kept.
  EXPECT_EQ(sqlite3_next_stmt(db->handle(), nullptr), before);
  EXPECT_EQ(db->Get("k").value(), "v1");
  db->Put("k", "v2");
  db->Put("other", "x");
  db->Commit();
  // The commit wrote the log: opened again, and counted.
  EXPECT_GE(UnparkedFiles(db->handle()), 1);
  EXPECT_EQ(Descriptors(), UnparkedFiles(db->handle()));
  std::string error;
  ASSERT_TRUE(db->MakeSyncTarget()->Run(&error)) << error;
  db.reset();
  EXPECT_EQ(Descriptors(), 0);

  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get("k").value(), "v2");
  EXPECT_EQ(again->Get("other").value(), "x");
}

TEST_F(ParkableVfsTest, ParkingTheDatabaseFileKeepsTheLogOpen) {
  auto db = OpenWithKey();
  ASSERT_EQ(Descriptors(), 2);
  ASSERT_TRUE(db->ParkDatabaseFile());
  EXPECT_EQ(Descriptors(), 1);
  EXPECT_EQ(UnparkedFiles(db->handle()), 1);
  EXPECT_TRUE(db->ParkDatabaseFile());  // again: nothing to do

  // Cached pages and a commit need only the log, which stayed open: no file is opened.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(db->Get("k").value(), i == 0 ? "v1" : "v" + std::to_string(i + 1));
    db->Put("k", "v" + std::to_string(i + 2));
    db->Commit();
    EXPECT_EQ(Descriptors(), 1);
  }
  std::string error;
  ASSERT_TRUE(db->MakeSyncTarget()->Run(&error)) << error;

  // A checkpoint writes the database file: opened again at that use.
  db->CheckpointAndTruncate();
  EXPECT_EQ(UnparkedFiles(db->handle()), 2);
  EXPECT_EQ(Descriptors(), 2);

  // Inside a transaction nothing is parked.
  db->Put("k", "v9");
  EXPECT_FALSE(db->ParkDatabaseFile());
  EXPECT_EQ(Descriptors(), 2);
  db->Commit();
  ASSERT_TRUE(db->MakeSyncTarget()->Run(&error)) << error;
  db.reset();
  EXPECT_EQ(Descriptors(), 0);

  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get("k").value(), "v9");
}

TEST_F(ParkableVfsTest, ADatabaseFileReplacedWhileParkedFailsReadsThatNeedIt) {
  auto db = OpenWithKey();
  db->CheckpointAndTruncate();  // the pages are then read from the database file only
  ASSERT_TRUE(db->ParkDatabaseFile());
  ReplaceByCopy(path_);
  sqlite3_db_release_memory(db->handle());
  try {
    db->Get("k");
    FAIL() << "read a replaced database file";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.sqlite_code() & 0xff, SQLITE_IOERR) << e.what();
    EXPECT_TRUE(e.critical());
  }
  // Never opened in its place; the log stayed open.
  EXPECT_EQ(UnparkedFiles(db->handle()), 1);
  EXPECT_EQ(Descriptors(), 1);
}

// Run as root, SQLite gives a log it opens its database's owner with fchown(), which changes the
// log's inode even when the owner is already that: each reopen of a parked log then cost the next
// flush an inode write-back. (Not root: SQLite makes no such call, and nothing changes either.)
TEST_F(ParkableVfsTest, ReopeningALogLeavesItsInodeAlone) {
  ConfigureSqliteForManyDatabases();
  auto db = OpenWithKey();
  ASSERT_TRUE(db->Park());
  sqlite3_db_release_memory(db->handle());
  struct stat before {};
  ASSERT_EQ(::stat((path_ + "-wal").c_str(), &before), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(db->Get("k").value(), "v1");  // read from the log, opened again
  EXPECT_GE(UnparkedFiles(db->handle()), 1);
  struct stat after {};
  ASSERT_EQ(::stat((path_ + "-wal").c_str(), &after), 0);
  EXPECT_EQ(after.st_ctim.tv_sec, before.st_ctim.tv_sec);
  EXPECT_EQ(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
  EXPECT_EQ(after.st_uid, before.st_uid);
}

// The writes the unix VFS makes, counted through its table of system calls.
std::atomic<int> g_writes{0};
ssize_t (*g_pwrite)(int, const void*, size_t, off_t) = nullptr;
ssize_t (*g_pwrite64)(int, const void*, size_t, off64_t) = nullptr;
ssize_t CountedPwrite(int fd, const void* buffer, size_t n, off_t offset) {
  ++g_writes;
  return g_pwrite(fd, buffer, n, offset);
}
ssize_t CountedPwrite64(int fd, const void* buffer, size_t n, off64_t offset) {
  ++g_writes;
  return g_pwrite64(fd, buffer, n, offset);
}

TEST_F(ParkableVfsTest, AFrameIsOneWrite) {
  auto db = OpenWithKey();
  sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
  ASSERT_NE(unix_vfs, nullptr);
  g_pwrite = reinterpret_cast<decltype(g_pwrite)>(unix_vfs->xGetSystemCall(unix_vfs, "pwrite"));
  g_pwrite64 =
      reinterpret_cast<decltype(g_pwrite64)>(unix_vfs->xGetSystemCall(unix_vfs, "pwrite64"));
  // The build uses one of the two (the other is absent from the table).
  ASSERT_TRUE(g_pwrite != nullptr || g_pwrite64 != nullptr);
  if (g_pwrite) {
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite",
                             reinterpret_cast<sqlite3_syscall_ptr>(&CountedPwrite));
  }
  if (g_pwrite64) {
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite64",
                             reinterpret_cast<sqlite3_syscall_ptr>(&CountedPwrite64));
  }
  const auto wal_size = [&] { return std::filesystem::file_size(path_ + "-wal"); };
  const auto before = wal_size();
  g_writes = 0;
  for (int i = 0; i < 10; ++i) {
    db->Put("k", "v" + std::to_string(i));
    db->Commit();
  }
  const int writes = g_writes.load();
  if (g_pwrite) {
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite", reinterpret_cast<sqlite3_syscall_ptr>(g_pwrite));
  }
  if (g_pwrite64) {
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite64",
                             reinterpret_cast<sqlite3_syscall_ptr>(g_pwrite64));
  }
  // Ten commits of one page each: ten frames (header and page), one write each.
  EXPECT_EQ(wal_size() - before, 10u * (24 + 4096));
  EXPECT_EQ(writes, 10);
  std::string error;
  ASSERT_TRUE(db->MakeSyncTarget()->Run(&error)) << error;
  db.reset();
  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get("k").value(), "v9");
}

TEST_F(ParkableVfsTest, EveryFileOperationOnAParkedFileReopensIt) {
  auto db = OpenWithKey();
  for (int i = 0; i < 20; ++i) {
    db->Put("key" + std::to_string(i), std::string(3000, 'a' + i % 26));
    db->Commit();
  }
  ASSERT_TRUE(db->Park());
  ASSERT_EQ(Descriptors(), 0);
  // A checkpoint reads the log, writes and syncs the database file, truncates the log: both
  // files are needed, and opened again.
  db->CheckpointAndTruncate();
  EXPECT_EQ(UnparkedFiles(db->handle()), 2);
  EXPECT_EQ(Descriptors(), 2);
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal"), 0u);

  // Reads that miss the emptied page cache go to the database file.
  ASSERT_TRUE(db->Park());
  sqlite3_db_release_memory(db->handle());
  EXPECT_EQ(db->Get("key7").value(), std::string(3000, 'a' + 7));
  EXPECT_GE(UnparkedFiles(db->handle()), 1);
  EXPECT_EQ(Descriptors(), UnparkedFiles(db->handle()));
}

TEST_F(ParkableVfsTest, APersistentLogStaysPersistentAcrossAPark) {
  {
    auto db = OpenWithKey();
    ASSERT_TRUE(db->Park());
    db->Put("k", "v2");
    db->Commit();  // the log reopened: SQLite's setting must be set again on it
    ASSERT_TRUE(db->Park());
  }
  // Closed while parked: SQLite asked the parked file whether its log persists.
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
  auto db = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(db->Get("k").value(), "v2");
}

// SQLite's count of the connection's page cache, in bytes.
int CacheBytes(sqlite3* db) {
  int current = 0;
  int highwater = 0;
  EXPECT_EQ(sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_USED, &current, &highwater, 0), SQLITE_OK);
  return current;
}

TEST_F(ParkableVfsTest, AParkedConnectionKeepsASmallCacheAndEmptiesALargeOne) {
  auto db = OpenWithKey();
  const int small = CacheBytes(db->handle());
  ASSERT_GT(small, 0);
  ASSERT_LE(small, ObjectDatabase::kParkedCacheBytes);
  ASSERT_TRUE(db->Park());
  EXPECT_EQ(CacheBytes(db->handle()), small);

  for (int i = 0; i < 60; ++i) db->Put("key" + std::to_string(i), std::string(3000, 'x'));
  db->Commit();
  ASSERT_GT(CacheBytes(db->handle()), ObjectDatabase::kParkedCacheBytes);
  ASSERT_TRUE(db->Park());
  EXPECT_LE(CacheBytes(db->handle()), ObjectDatabase::kParkedCacheBytes);
  EXPECT_EQ(Descriptors(), 0);
  // Read back from the files, opened again.
  EXPECT_EQ(db->Get("key42").value(), std::string(3000, 'x'));
  EXPECT_EQ(db->Get("k").value(), "v1");
}

TEST_F(ParkableVfsTest, NotInsideATransaction) {
  auto db = OpenWithKey();
  db->Put("k", "v2");
  EXPECT_FALSE(db->Park());
  EXPECT_EQ(Descriptors(), 2);
  db->Commit();
  EXPECT_TRUE(db->Park());
  EXPECT_EQ(Descriptors(), 0);
}

TEST_F(ParkableVfsTest, NotThroughAnotherVfs) {
  OpenSettings settings;
  settings.vfs = kUnlockedVfs;
  auto db = ObjectDatabase::Open(path_, true, nullptr, std::string(), settings);
  db->Put("k", "v");
  db->Commit();
  EXPECT_FALSE(db->Park());
  EXPECT_FALSE(db->ParkDatabaseFile());
  EXPECT_EQ(Descriptors(), 2);
  EXPECT_EQ(UnparkedFiles(db->handle()), 0);
}

TEST_F(ParkableVfsTest, AReplacedLogIsNeverWrittenThroughItsPath) {
  auto db = OpenWithKey();
  ASSERT_TRUE(db->Park());
  ReplaceByCopy(path_ + "-wal");
  const std::string replaced = ReadAll(path_ + "-wal");
  db->Put("k", "v2");
  try {
    db->Commit();
    FAIL() << "the commit went to a replaced log";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.sqlite_code() & 0xff, SQLITE_IOERR) << e.what();
    EXPECT_TRUE(e.critical());
  }
  EXPECT_FALSE(db->in_transaction());
  EXPECT_EQ(ReadAll(path_ + "-wal"), replaced);
  // The rollback may have read the database file again, never the log.
  EXPECT_LE(UnparkedFiles(db->handle()), 1);
  EXPECT_EQ(Descriptors(), UnparkedFiles(db->handle()));
}

TEST_F(ParkableVfsTest, AReplacedDatabaseFileFailsReadsThatNeedIt) {
  auto db = OpenWithKey();
  db->CheckpointAndTruncate();
  ASSERT_TRUE(db->Park());
  ReplaceByCopy(path_);
  sqlite3_db_release_memory(db->handle());
  try {
    db->Get("k");
    FAIL() << "read a replaced database file";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.sqlite_code() & 0xff, SQLITE_IOERR) << e.what();
    EXPECT_TRUE(e.critical());
  }
}

TEST_F(ParkableVfsTest, ARemovedLogIsNotCreatedAgain) {
  auto db = OpenWithKey();
  ASSERT_TRUE(db->Park());
  std::filesystem::remove(path_ + "-wal");
  db->Put("k", "v2");
  EXPECT_THROW(db->Commit(), StorageError);
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
  // And again: the file stays parked, every use fails.
  EXPECT_THROW(
      {
        db->Put("k", "v3");
        db->Commit();
      },
      StorageError);
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
}

// The descriptors of an open connection's files are known (noted as SQLite's unix VFS opened them),
// and say what stat() of their paths does; parked files have none until they are opened again.
TEST_F(ParkableVfsTest, AnOpenFilesDescriptorTellsItsIdentity) {
  auto db = OpenWithKey();
  for (bool log : {false, true}) {
    const std::string path = log ? path_ + "-wal" : path_;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    const DescriptorStatus status = OpenFileStatus(db->handle(), log);
    ASSERT_TRUE(status.known) << path;
    EXPECT_TRUE(status.linked);
    EXPECT_EQ(status.device, static_cast<uint64_t>(st.st_dev));
    EXPECT_EQ(status.inode, static_cast<uint64_t>(st.st_ino));
  }
  ASSERT_TRUE(db->Park());
  EXPECT_FALSE(OpenFileStatus(db->handle(), false).known);
  EXPECT_FALSE(OpenFileStatus(db->handle(), true).known);
  // A commit opens the log again, and its descriptor is known again.
  db->Put("k", "v2");
  db->Commit();
  EXPECT_TRUE(OpenFileStatus(db->handle(), true).known);
  EXPECT_TRUE(OpenFileStatus(db->handle(), true).linked);

  std::filesystem::remove(path_ + "-wal");
  const DescriptorStatus removed = OpenFileStatus(db->handle(), true);
  EXPECT_TRUE(removed.known);
  EXPECT_FALSE(removed.linked);
}

// With the database file open, a commit learns from its descriptor that the file was removed or
// replaced under its name (no stat() of the path), and refuses.
TEST_F(ParkableVfsTest, ACommitIntoAnOpenDatabaseFileRemovedOrReplacedIsRefused) {
  for (const bool replace : {false, true}) {
    auto db = OpenWithKey();
    ASSERT_TRUE(OpenFileStatus(db->handle(), false).known);
    if (replace) {
      ReplaceByCopy(path_);
    } else {
      std::filesystem::remove(path_);
    }
    db->Put("k", "v2");
    try {
      db->Commit();
      FAIL() << "committed into a database file " << (replace ? "replaced" : "removed");
    } catch (const StorageError& e) {
      EXPECT_TRUE(e.critical()) << e.what();
      EXPECT_NE(std::string(e.what()).find("removed or replaced"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(db->in_transaction());
    db.reset();
    std::filesystem::remove_all(dir_ + "/objects");
  }
}

// A file moved to another name keeps its link: its commits go on, and are durable there.
TEST_F(ParkableVfsTest, ADatabaseMovedAwayWhileOpenKeepsItsCommits) {
  auto db = OpenWithKey();
  const std::string moved = dir_ + "/moved";
  std::filesystem::rename(dir_ + "/objects", moved);
  db->Put("k", "v2");
  db->Commit();
  auto target = db->MakeSyncTarget();
  EXPECT_TRUE(target->unwritten.empty()) << target->unwritten;
  db.reset();
  auto again = ObjectDatabase::Open(moved + "/object.sqlite", false);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get("k").value(), "v2");
}

// A commit learns the size it left from its commit frame's header (TakeCommittedPages) and counts
// it against the quota as PRAGMA page_count would have.
TEST_F(ParkableVfsTest, ACommitCountsTheSizeItsCommitFrameRecords) {
  StorageQuota quota(dir_ + "/objects", 0, 64 << 20);
  auto db = ObjectDatabase::Open(path_, true, &quota, "app");
  auto pages = [&] {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db->handle(), "PRAGMA page_count", -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    const long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
  };
  db->Put("first", "1");
  db->Commit();
  const int64_t usage = quota.AppUsage("app");
  const long long before = pages();
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      db->Put("k" + std::to_string(round) + "-" + std::to_string(i), std::string(3000, 'x'));
    }
    db->Commit();
    EXPECT_EQ(TakeCommittedPages(db->handle()), 0u);  // the commit took it
    const long long now = pages();
    EXPECT_GT(now, before);
    EXPECT_EQ(quota.AppUsage("app") - usage, (now - before) * 4096) << "round " << round;
  }
  // A commit outside ObjectDatabase: its frame's size is there to take, once.
  ASSERT_EQ(sqlite3_exec(db->handle(), "INSERT INTO _cf_KV VALUES ('raw', zeroblob(20000))",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(static_cast<long long>(TakeCommittedPages(db->handle())), pages());
  EXPECT_EQ(TakeCommittedPages(db->handle()), 0u);
}

// The log of a flush is checked through its descriptor when the target is made: a removed one
// fails the flush before any path is looked up; a present one is taken as found by a group's flush.
TEST_F(ParkableVfsTest, AFlushTargetChecksItsLogThroughItsDescriptor) {
  auto db = OpenWithKey();
  db->Put("k", "v2");
  db->Commit();
  auto present = db->MakeSyncTarget();
  struct stat st {};
  ASSERT_EQ(::stat((path_ + "-wal").c_str(), &st), 0);
  EXPECT_TRUE(present->unwritten.empty());
  EXPECT_EQ(present->checked_data_paths, 1u);
  EXPECT_EQ(present->checked_device, static_cast<uint64_t>(st.st_dev));
  std::string error;
  EXPECT_TRUE(present->Run(&error)) << error;

  db->Put("k", "v3");
  db->Commit();
  std::filesystem::remove(path_ + "-wal");
  auto removed = db->MakeSyncTarget();
  EXPECT_EQ(removed->checked_data_paths, 0u);
  EXPECT_NE(removed->unwritten.find("removed or replaced"), std::string::npos)
      << removed->unwritten;
  EXPECT_FALSE(removed->Run(&error));
  EXPECT_EQ(error, removed->unwritten);
}

}  // namespace
}  // namespace dorm::storage

namespace dorm::storage {
namespace {

uint64_t SizeOf(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

// A new database's log stays in memory until its image is durable: a crash before then leaves
// the image and an empty log on disk, which reads as a new database (IsUnfinishedNewDatabase).
TEST_F(ParkableVfsTest, ANewDatabasesLogIsHeldUntilItsImageIsDurable) {
  auto db = ObjectDatabase::Open(path_, true);
  ASSERT_TRUE(db->image_pending());
  for (int i = 0; i < 3; ++i) {
    db->Put("k" + std::to_string(i), "v" + std::to_string(i));
    db->Commit();
  }
  EXPECT_EQ(SizeOf(path_ + "-wal"), 0u);
  EXPECT_EQ(ReadAll(path_), NewDatabaseImage());
  // Without its page cache the connection reads its pages back from the held copy.
  sqlite3_db_release_memory(db->handle());
  EXPECT_EQ(db->Get("k1").value(), "v1");
  EXPECT_TRUE(db->image_pending());

  db->ImageDurable();
  EXPECT_FALSE(db->image_pending());
  EXPECT_EQ(SizeOf(path_ + "-wal"), 32u + 3 * (24 + 4096));
  // Written through from now on.
  db->Put("k3", "v3");
  db->Commit();
  EXPECT_EQ(SizeOf(path_ + "-wal"), 32u + 4 * (24 + 4096));
  std::string error;
  ASSERT_TRUE(db->MakeSyncTarget()->Run(&error)) << error;
  // What the files hold now, opened by another connection.
  const std::string copy = dir_ + "/copy.sqlite";
  std::filesystem::copy_file(path_, copy);
  std::filesystem::copy_file(path_ + "-wal", copy + "-wal");
  auto other = ObjectDatabase::Open(copy, false);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->Get("k0").value(), "v0");
  EXPECT_EQ(other->Get("k3").value(), "v3");
}

TEST_F(ParkableVfsTest, AHeldLogIsWrittenOutWhenItsConnectionCloses) {
  auto db = ObjectDatabase::Open(path_, true);
  ASSERT_TRUE(db->image_pending());
  db->Put("k", "v");
  db->Commit();
  ASSERT_TRUE(db->Park());  // parked while held: the copy stays
  EXPECT_EQ(db->Get("k").value(), "v");
  db.reset();
  EXPECT_EQ(SizeOf(path_ + "-wal"), 32u + 24 + 4096);
  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_NE(again, nullptr);
  EXPECT_FALSE(again->image_pending());
  EXPECT_EQ(again->Get("k").value(), "v");
}

TEST_F(ParkableVfsTest, AFlushOfAHeldLogWritesItOutFirst) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("k", "v");
  db->Commit();
  ASSERT_TRUE(db->image_pending());
  auto target = db->MakeSyncTarget();
  EXPECT_FALSE(db->image_pending());
  EXPECT_EQ(SizeOf(path_ + "-wal"), 32u + 24 + 4096);
  std::string error;
  EXPECT_TRUE(target->Run(&error)) << error;
}

TEST_F(ParkableVfsTest, AFirstTransactionLargerThanAHeldLogIsWrittenThrough) {
  auto db = ObjectDatabase::Open(path_, true);
  ASSERT_TRUE(db->image_pending());
  db->Put("big", std::string(HeldLog::kMaxBytes + 1, 'b'));
  db->Commit();
  EXPECT_FALSE(db->image_pending());
  EXPECT_GT(SizeOf(path_ + "-wal"), HeldLog::kMaxBytes);
  db.reset();
  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get("big").value().size(), HeldLog::kMaxBytes + 1);
}

TEST_F(ParkableVfsTest, ACheckpointWritesAHeldLogOutFirst) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("k", "v");
  db->Commit();
  ASSERT_TRUE(db->image_pending());
  db->CheckpointAndTruncate();
  EXPECT_FALSE(db->image_pending());
  EXPECT_EQ(SizeOf(path_ + "-wal"), 0u);  // copied into the database file, then cut
  EXPECT_NE(ReadAll(path_), NewDatabaseImage());
  db.reset();
  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get("k").value(), "v");
}

// Rolled back, a new database's first transaction leaves nothing anywhere.
TEST_F(ParkableVfsTest, AHeldLogOfARolledBackTransactionWritesNothing) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("k", "v");
  db->Rollback();
  db.reset();
  EXPECT_EQ(SizeOf(path_ + "-wal"), 0u);
  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_NE(again, nullptr);
  EXPECT_FALSE(again->Get("k").has_value());
}

}  // namespace
}  // namespace dorm::storage
