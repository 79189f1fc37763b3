#include "storage/object_database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "storage/new_database_image.h"
#include "storage/parkable_vfs.h"
#include "storage/temp_file_limit.h"

namespace dorm::storage {
namespace {

class ObjectDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-db-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/a/b/object.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> Keys(ObjectDatabase& db, const ListRange& range) {
    std::vector<std::string> keys;
    db.List(range, [&](std::string_view k, std::string_view) { keys.emplace_back(k); });
    return keys;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(ObjectDatabaseTest, OpenWithoutCreateFindsNothing) {
  EXPECT_EQ(ObjectDatabase::Open(path_, false), nullptr);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(ObjectDatabaseTest, CommittedWritesSurviveReopen) {
  {
    auto db = ObjectDatabase::Open(path_, true);
    db->Put("k", std::string("v\0x", 3));
    EXPECT_TRUE(db->in_transaction());
    db->Commit();
    EXPECT_FALSE(db->in_transaction());
    auto target = db->MakeSyncTarget();
    std::string error;
    EXPECT_TRUE(target->Run(&error)) << error;
    // The first flush also covers the new file and the folders created for it.
    EXPECT_FALSE(target->fsync_paths.empty());
  }
  auto db = ObjectDatabase::Open(path_, false);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Get("k").value(), std::string("v\0x", 3));
}

// A transaction that changes no page writes nothing to the WAL, so the engine has nothing to
// flush for it; any change writes.
TEST_F(ObjectDatabaseTest, ACommitTellsWhetherItWroteToTheLog) {
  auto db = ObjectDatabase::Open(path_, true);
  EXPECT_TRUE(db->last_commit_wrote());  // nothing known yet: assume it did
  auto run = [&](const char* sql) {
    db->EnsureTransaction();
    ASSERT_EQ(sqlite3_exec(db->handle(), sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    db->Commit();
  };
  run("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
  EXPECT_TRUE(db->last_commit_wrote());
  const int frames = db->wal_frames();
  run("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
  EXPECT_FALSE(db->last_commit_wrote());
  EXPECT_EQ(db->wal_frames(), frames);
  run("INSERT INTO t (v) VALUES ('a')");
  EXPECT_TRUE(db->last_commit_wrote());
  run("DELETE FROM t WHERE v = 'no such row'");
  EXPECT_FALSE(db->last_commit_wrote());
  run("SELECT count(*) FROM t");
  EXPECT_FALSE(db->last_commit_wrote());
  // SQLite overwrites a row in place only where its bytes differ: the same value changes nothing.
  run("UPDATE t SET v = v");
  EXPECT_FALSE(db->last_commit_wrote());
  run("UPDATE t SET v = 'b'");
  EXPECT_TRUE(db->last_commit_wrote());
  db->Put("k", "v");
  db->Commit();
  EXPECT_TRUE(db->last_commit_wrote());
  // Read back: what the writing commits wrote is there.
  db->MakeSyncTarget();
  db.reset();
  db = ObjectDatabase::Open(path_, false);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Get("k").value(), "v");
}

TEST_F(ObjectDatabaseTest, UncommittedWritesAreLostOnClose) {
  {
    auto db = ObjectDatabase::Open(path_, true);
    db->Put("kept", "1");
    db->Commit();
    db->Put("lost", "2");
  }
  auto db = ObjectDatabase::Open(path_, false);
  EXPECT_TRUE(db->Get("kept"));
  EXPECT_FALSE(db->Get("lost"));
}

TEST_F(ObjectDatabaseTest, RollbackDiscardsTheTransaction) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  db->Commit();
  db->Put("a", "2");
  EXPECT_TRUE(db->Delete("a"));
  db->Rollback();
  EXPECT_EQ(db->Get("a").value(), "1");
}

TEST_F(ObjectDatabaseTest, SavepointsNest) {
  auto db = ObjectDatabase::Open(path_, true);
  db->BeginSavepoint(1);
  db->Put("outer", "1");
  db->BeginSavepoint(2);
  db->Put("inner", "1");
  db->RollbackToSavepoint(2);
  db->ReleaseSavepoint(1);
  db->Commit();
  EXPECT_TRUE(db->Get("outer"));
  EXPECT_FALSE(db->Get("inner"));
}

TEST_F(ObjectDatabaseTest, DeleteReportsWhetherTheKeyExisted) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  EXPECT_TRUE(db->Delete("a"));
  EXPECT_FALSE(db->Delete("a"));
}

TEST_F(ObjectDatabaseTest, ListOrdersByUtf8BytesAndHonoursTheRange) {
  auto db = ObjectDatabase::Open(path_, true);
  // U+FFFF (EF BF BF) sorts before U+10000 (F0 90 80 80) in UTF-8, unlike UTF-16.
  for (const char* k : {"b", "a", "\xF0\x90\x80\x80", "\xEF\xBF\xBF", "c"}) db->Put(k, "x");
  ListRange all;
  EXPECT_EQ(Keys(*db, all),
            (std::vector<std::string>{"a", "b", "c", "\xEF\xBF\xBF", "\xF0\x90\x80\x80"}));
  ListRange r;
  r.begin = "b";
  r.end = "c";
  EXPECT_EQ(Keys(*db, r), (std::vector<std::string>{"b"}));
  ListRange last2;
  last2.reverse = true;
  last2.limit = 2;
  EXPECT_EQ(Keys(*db, last2), (std::vector<std::string>{"\xF0\x90\x80\x80", "\xEF\xBF\xBF"}));
  ListRange empty;
  empty.empty = true;
  EXPECT_TRUE(Keys(*db, empty).empty());
}

TEST_F(ObjectDatabaseTest, DeleteAllRemovesEntriesAndTables) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  db->Commit();
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db->handle(), "CREATE TABLE t (x); INSERT INTO t VALUES (1)", nullptr,
                         nullptr, &err),
            0);
  db->DeleteAll();
  db->Commit();
  EXPECT_FALSE(db->Get("a"));
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db->handle(), "SELECT count(*) FROM sqlite_schema WHERE name = 't'", -1, &st,
                     nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
}

TEST_F(ObjectDatabaseTest, ManyCommitsCheckpointWithoutLosingData) {
  auto db = ObjectDatabase::Open(path_, true);
  std::string big(3000, 'x');
  for (int i = 0; i < 3000; ++i) {
    db->Put("key" + std::to_string(i), big);
    db->Commit();
    db->MaybeCheckpoint();
  }
  db.reset();
  db = ObjectDatabase::Open(path_, false);
  for (int i = 0; i < 3000; i += 97) EXPECT_EQ(db->Get("key" + std::to_string(i)).value(), big);
  // The WAL was checkpointed along the way rather than growing with every commit.
  EXPECT_LT(std::filesystem::file_size(path_ + "-wal"), 3000u * 4096u);
}

TEST_F(ObjectDatabaseTest, RowsOverTheLimitAreRejectedWithoutBreakingTheTransaction) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("small", "1");
  try {
    db->Put("big", std::string(kMaxRowBytes + 1, 'x'));
    FAIL() << "a value over the limit was stored";
  } catch (const StorageError& e) {
    EXPECT_EQ(std::string(e.what()), "string or blob too big: SQLITE_TOOBIG");
    EXPECT_FALSE(e.critical());
  }
  db->Commit();
  EXPECT_TRUE(db->Get("small"));
  EXPECT_FALSE(db->Get("big"));
}

// One PRAGMA's first column as text ("" if it answers no row).
std::string Pragma(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return out;
}

TEST_F(ObjectDatabaseTest, AKeyPastTheLengthLimitIsRefusedByEveryCall) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  const std::string huge(kMaxRowBytes + 1, 'k');
  for (auto call : std::initializer_list<std::function<void()>>{
           [&] { db->Get(huge); }, [&] { db->Delete(huge); }, [&] { db->Put(huge, "v"); },
           [&] {
             Keys(*db, ListRange{huge, std::nullopt});
           },
           [&] {
             Keys(*db, ListRange{"a", huge});
           }}) {
    try {
      call();
      ADD_FAILURE() << "no error";
    } catch (const StorageError& e) {
      EXPECT_STREQ(e.what(), "string or blob too big: SQLITE_TOOBIG");
    }
  }
  // The statements are usable afterwards, and nothing was written.
  EXPECT_EQ(db->Get("a").value(), "1");
  EXPECT_FALSE(db->Delete("b"));
  EXPECT_EQ(Keys(*db, ListRange{"", std::nullopt}), std::vector<std::string>{"a"});
}

TEST_F(ObjectDatabaseTest, ANewDatabaseIsWrittenFromTheImageInWalMode) {
  auto db = ObjectDatabase::Open(path_, true);
  sqlite3* h = db->handle();
  EXPECT_EQ(Pragma(h, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Pragma(h, "PRAGMA integrity_check"), "ok");
  // The schema page and the two tables' roots, in the file itself; no rollback journal, and
  // nothing in the log before the first commit.
  EXPECT_EQ(std::filesystem::file_size(path_), 3u * 4096u);
  EXPECT_FALSE(std::filesystem::exists(path_ + "-journal"));
  EXPECT_EQ(Pragma(h, "SELECT group_concat(name, ',') FROM sqlite_schema"), "_cf_KV,_cf_METADATA");
  EXPECT_EQ(Pragma(h, "SELECT sql FROM sqlite_schema WHERE name = '_cf_KV'"),
            "CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID");
  db->Put("k", "v");
  db->SetAlarm(1234);
  db->Commit();
  EXPECT_GT(std::filesystem::file_size(path_ + "-wal"), 0u);
  auto target = db->MakeSyncTarget();
  // The new file and its folder are flushed with the first commit.
  EXPECT_NE(std::find(target->fsync_paths.begin(), target->fsync_paths.end(), path_),
            target->fsync_paths.end());
  db.reset();
  db = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(db->Get("k").value(), "v");
  EXPECT_EQ(db->GetAlarm().value(), 1234);
}

TEST_F(ObjectDatabaseTest, ANewDatabaseWhoseImageWriteDidNotFinishStartsEmptyAgain) {
  const std::string& image = NewDatabaseImage();
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  auto write_file = [&](const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  };
  // Power lost before the image's sync: the file shorter than the image, or a block of zeros.
  std::string zeroed = image;
  std::fill(zeroed.begin() + 4096, zeroed.begin() + 8192, '\0');
  for (const std::string& torn : {image.substr(0, 4096), image.substr(0, 100), zeroed}) {
    write_file(torn);
    EXPECT_TRUE(IsUnfinishedNewDatabase(path_));
    // An object that never had data: nothing to read, and a write works.
    EXPECT_EQ(ObjectDatabase::Open(path_, false), nullptr);
    write_file(torn);
    auto db = ObjectDatabase::Open(path_, true);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(Pragma(db->handle(), "PRAGMA integrity_check"), "ok");
    EXPECT_FALSE(db->Get("k").has_value());
    db->Put("k", "v");
    db->Commit();
    db.reset();
    std::filesystem::remove(path_ + "-wal");
  }
  // A finished image, a file with anything of its own, or one whose log holds commits: kept.
  write_file(image);
  EXPECT_FALSE(IsUnfinishedNewDatabase(path_));
  std::string changed = image.substr(0, 4096);
  changed[3000] = 'x';
  write_file(changed);
  EXPECT_FALSE(IsUnfinishedNewDatabase(path_));
  EXPECT_THROW(ObjectDatabase::Open(path_, false), StorageError);
  EXPECT_TRUE(std::filesystem::exists(path_));
  write_file(image.substr(0, 4096));
  std::ofstream(path_ + "-wal", std::ios::binary) << std::string(100, 'w');
  EXPECT_FALSE(IsUnfinishedNewDatabase(path_));
  std::filesystem::remove(path_ + "-wal");
  // A byte of its own past long runs equal to the image (the check skips such runs), and zeros
  // only near the end of an otherwise finished image.
  std::string late = image;
  late[image.size() - 5] = 'x';
  write_file(late);
  EXPECT_FALSE(IsUnfinishedNewDatabase(path_));
  std::string late_zeros = image;
  std::fill(late_zeros.end() - 300, late_zeros.end(), '\0');
  write_file(late_zeros);
  EXPECT_EQ(IsUnfinishedNewDatabase(path_), late_zeros != image);
  // A database written to and checkpointed, its log truncated: its first page is still the
  // image's, its data is its own.
  std::filesystem::remove(path_);
  {
    auto db = ObjectDatabase::Open(path_, true);
    db->Put("k", "v");
    db->Commit();
    db->CheckpointAndTruncate();
  }
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal"), 0u);
  EXPECT_FALSE(IsUnfinishedNewDatabase(path_));
  auto db = ObjectDatabase::Open(path_, false);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Get("k").value(), "v");
}

TEST_F(ObjectDatabaseTest, ANewDatabaseThroughAnotherVfsCreatesItsTablesInTheLog) {
  OpenSettings settings;
  settings.vfs = "unix";  // any VFS named explicitly: as cluster mode's capture shim
  auto db = ObjectDatabase::Open(path_, true, nullptr, std::string(), settings);
  EXPECT_EQ(Pragma(db->handle(), "PRAGMA journal_mode"), "wal");
  EXPECT_FALSE(std::filesystem::exists(path_ + "-journal"));
  // The first page only in the file; the tables came with a first commit into the log.
  EXPECT_EQ(std::filesystem::file_size(path_), 4096u);
  EXPECT_GT(db->wal_frames(), 0);
  db->Put("k", "v");
  db->Commit();
  db.reset();
  db = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(db->Get("k").value(), "v");
}

// The unix VFS walks a list of every file open in the process on each open (temp_file_limit.h);
// object databases go through the one without locks, wrapped by the temporary-file limit when it
// is installed (not in these tests).
TEST_F(ObjectDatabaseTest, OpensThroughTheVfsWithoutFileLocks) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("k", "v");
  db->Commit();
  sqlite3_vfs* vfs = nullptr;
  ASSERT_EQ(sqlite3_file_control(db->handle(), "main", SQLITE_FCNTL_VFS_POINTER, &vfs), SQLITE_OK);
  ASSERT_NE(vfs, nullptr);
  // Through the parkable wrapper when a test installed it (storage/parkable_vfs.h), over unix-none.
  EXPECT_STREQ(vfs->zName, ParkableVfs());
  if (std::string_view(vfs->zName) == kParkableVfs) vfs = static_cast<sqlite3_vfs*>(vfs->pAppData);
  EXPECT_STREQ(vfs->zName, UnlockedVfs());
  EXPECT_STREQ(UnlockedVfs(), kUnlockedVfs);
  // Still in WAL mode with the log's index in the connection's memory: no -shm file.
  EXPECT_FALSE(std::filesystem::exists(path_ + "-shm"));
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
}

TEST_F(ObjectDatabaseTest, ReopeningKeepsEverySettingOfTheConnection) {
  {
    auto db = ObjectDatabase::Open(path_, true);
    db->Put("k", "v");
    db->Commit();
  }
  auto db = ObjectDatabase::Open(path_, false);
  ASSERT_NE(db, nullptr);
  sqlite3* h = db->handle();
  // WAL mode comes from the file's header on a reopen; the rest is set on every connection.
  EXPECT_EQ(Pragma(h, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Pragma(h, "PRAGMA locking_mode"), "exclusive");
  EXPECT_EQ(Pragma(h, "PRAGMA synchronous"), "0");
  EXPECT_EQ(Pragma(h, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(Pragma(h, "PRAGMA cache_size"), "-256");
  EXPECT_EQ(Pragma(h, "PRAGMA journal_size_limit"), std::to_string(4 << 20));
  // Defensive mode is on: the schema cannot be written to directly.
  EXPECT_NE(sqlite3_exec(h, "PRAGMA writable_schema=ON; DELETE FROM sqlite_schema", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(db->Get("k").value(), "v");
  // Foreign keys are enforced.
  ASSERT_EQ(sqlite3_exec(h,
                         "CREATE TABLE p (id INTEGER PRIMARY KEY);"
                         "CREATE TABLE c (p INTEGER REFERENCES p(id))",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(h, "INSERT INTO c VALUES (7)", nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
}

TEST_F(ObjectDatabaseTest, ADatabaseInRollbackModeIsSwitchedToWalOnOpen) {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
                         "INSERT INTO _cf_KV VALUES ('k', 'v')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(Pragma(raw, "PRAGMA journal_mode"), "delete");
  sqlite3_close(raw);
  {
    auto db = ObjectDatabase::Open(path_, false);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(Pragma(db->handle(), "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db->Get("k").value(), "v");
    db->Put("k2", "v2");
    db->Commit();
    EXPECT_FALSE(db->GetAlarm());  // _cf_METADATA was created
  }
  auto db = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(Pragma(db->handle(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db->Get("k2").value(), "v2");
}

TEST_F(ObjectDatabaseTest, AnEmptyFileBecomesANewDatabase) {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  { std::ofstream(path_).flush(); }
  ASSERT_EQ(std::filesystem::file_size(path_), 0u);
  auto db = ObjectDatabase::Open(path_, false);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Pragma(db->handle(), "PRAGMA journal_mode"), "wal");
  db->Put("k", "v");
  db->Commit();
  db.reset();
  db = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(db->Get("k").value(), "v");
}

}  // namespace
}  // namespace dorm::storage
