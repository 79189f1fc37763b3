// DatabaseCloser: a connection handed over is checkpointed with its WAL emptied, then closed; its
// commits are in the database file; opening it again waits for the close.
#include "storage/database_closer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

namespace dorm::storage {
namespace {

class DatabaseCloserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-closer-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/objects/app/cls/ab/object.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  long long WalBytes() const {
    struct stat st;
    return ::stat((path_ + "-wal").c_str(), &st) == 0 ? st.st_size : -1;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(DatabaseCloserTest, EmptiesTheLogAndKeepsEveryCommit) {
  auto db = ObjectDatabase::Open(path_, true);
  for (int i = 0; i < 50; ++i) {
    db->Put("k" + std::to_string(i), std::string(500, 'v'));
    db->Commit();
  }
  ASSERT_GT(WalBytes(), 0) << "the commits are in the log before the close";
  DatabaseCloser closer;
  ASSERT_TRUE(closer.Close(db));
  closer.AwaitClosed(path_);
  EXPECT_EQ(closer.pending(), 0u);
  EXPECT_EQ(WalBytes(), 0) << "the log was emptied into the database file";
  auto again = ObjectDatabase::Open(path_, false);
  ASSERT_TRUE(again);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(again->Get("k" + std::to_string(i)), std::string(500, 'v'));
  }
  // Still a working database: a new commit goes to the log again.
  again->Put("after", "1");
  again->Commit();
  EXPECT_GT(WalBytes(), 0);
}

TEST_F(DatabaseCloserTest, OpeningAgainRightAwayWaitsForTheClose) {
  DatabaseCloser closer;
  for (int round = 0; round < 20; ++round) {
    closer.AwaitClosed(path_);
    auto db = ObjectDatabase::Open(path_, true);
    EXPECT_EQ(db->Get("n"),
              round == 0 ? std::nullopt : std::optional<std::string>(std::to_string(round - 1)));
    db->Put("n", std::to_string(round));
    db->Commit();
    // The next open must not read the file while this connection still checkpoints into it
    // (object databases take no file locks that would refuse it).
    ASSERT_TRUE(closer.Close(db));
  }
  closer.AwaitClosed(path_);
  auto db = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(db->Get("n"), "19");
}

TEST_F(DatabaseCloserTest, LeavesAnOpenTransactionAlone) {
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  db->Commit();
  db->Put("b", "2");  // never committed: the close rolls it back, it never reaches the file
  DatabaseCloser closer;
  ASSERT_TRUE(closer.Close(db));
  closer.AwaitClosed(path_);
  auto again = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(again->Get("a"), "1");
  EXPECT_EQ(again->Get("b"), std::nullopt);
}

TEST_F(DatabaseCloserTest, RefusesConnectionsPastItsQueue) {
  // A closer with no room hands every connection back, untouched and still usable.
  DatabaseCloser closer(0);
  auto db = ObjectDatabase::Open(path_, true);
  db->Put("a", "1");
  db->Commit();
  // Flushed, as the engine does before anything waits on it (a new database's log is written
  // out then, see ObjectDatabase::image_pending).
  std::string error;
  ASSERT_TRUE(db->MakeSyncTarget()->Run(&error)) << error;
  EXPECT_FALSE(closer.Close(db));
  ASSERT_TRUE(db);
  EXPECT_EQ(db->Get("a"), "1");
  closer.AwaitClosed(path_);  // nothing of it is closing: returns at once
  EXPECT_GT(WalBytes(), 0);
}

TEST_F(DatabaseCloserTest, ReclaimTakesBackAQueuedConnectionOrWaitsForItsClose) {
  DatabaseCloser closer;
  for (int round = 0; round < 50; ++round) {
    std::unique_ptr<ObjectDatabase> db = closer.Reclaim(path_);
    if (!db) db = ObjectDatabase::Open(path_, true);  // closed meanwhile: opened again
    EXPECT_EQ(db->Get("n"),
              round == 0 ? std::nullopt : std::optional<std::string>(std::to_string(round - 1)));
    db->Put("n", std::to_string(round));
    db->Commit();
    ASSERT_TRUE(closer.Close(db));
  }
  closer.AwaitClosed(path_);
  EXPECT_EQ(closer.Reclaim(path_), nullptr);
  auto db = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(db->Get("n"), "49");
}

TEST_F(DatabaseCloserTest, CloseNowUnderClosesAFoldersConnectionsBeforeItIsReplaced) {
  // A class's folder with 20 objects, and one of another class, all handed to the closer.
  const std::string folder = dir_ + "/objects/app/cls/";
  const std::string other = dir_ + "/objects/app/cls2/ab/other.sqlite";
  DatabaseCloser closer;
  for (int i = 0; i < 20; ++i) {
    auto db = ObjectDatabase::Open(folder + "ab/o" + std::to_string(i) + ".sqlite", true);
    for (int j = 0; j < 100; ++j) {
      db->Put("k" + std::to_string(j), std::string(200, 'x'));
      db->Commit();
    }
    ASSERT_TRUE(closer.Close(db));
  }
  auto other_db = ObjectDatabase::Open(other, true);
  other_db->Put("kept", "1");
  other_db->Commit();
  ASSERT_TRUE(closer.Close(other_db));

  closer.CloseNowUnder(folder);
  EXPECT_EQ(closer.Reclaim(folder + "ab/o0.sqlite"), nullptr) << "nothing of the folder is left";
  // The folder is replaced (as a class deleted and deployed again is): a close finishing late
  // would delete the new databases' WAL files by name.
  std::filesystem::rename(dir_ + "/objects/app/cls", dir_ + "/trash");
  for (int i = 0; i < 20; ++i) {
    auto fresh = ObjectDatabase::Open(folder + "ab/o" + std::to_string(i) + ".sqlite", true);
    ASSERT_TRUE(fresh) << "no connection holds the path's lock any more";
    EXPECT_EQ(fresh->Get("k0"), std::nullopt) << "a new, empty database";
    fresh->Put("new", std::to_string(i));
    fresh->Commit();
  }
  closer.AwaitClosed(other);
  for (int i = 0; i < 20; ++i) {
    const std::string path = folder + "ab/o" + std::to_string(i) + ".sqlite";
    struct stat st;
    EXPECT_EQ(::stat((path + "-wal").c_str(), &st), 0) << "the new WAL is still there";
  }
  // The old objects' commits were not lost either: they are in the moved folder.
  auto moved = ObjectDatabase::Open(dir_ + "/trash/ab/o7.sqlite", false);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->Get("k99"), std::string(200, 'x'));
  auto other_again = ObjectDatabase::Open(other, false);
  EXPECT_EQ(other_again->Get("kept"), "1");
}

TEST_F(DatabaseCloserTest, FinishesQueuedClosesWhenDestroyed) {
  {
    DatabaseCloser closer;
    auto db = ObjectDatabase::Open(path_, true);
    db->Put("a", "1");
    db->Commit();
    ASSERT_TRUE(closer.Close(db));
  }
  EXPECT_EQ(WalBytes(), 0);
  auto again = ObjectDatabase::Open(path_, false);
  EXPECT_EQ(again->Get("a"), "1");
}

}  // namespace
}  // namespace dorm::storage
