#include "cluster/control_log.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cluster/cluster_schema.h"
#include "postgres_server.h"

namespace dorm::cluster {
namespace {

std::string Migrated() {
  std::string conninfo = testing::PostgresServer::Shared().NewDatabase();
  auto connection = PgConnection::Connect(conninfo, std::chrono::seconds(10));
  MigrateSchema(*connection);
  return conninfo;
}

// A fresh id per change (a node draws random bytes).
std::string NextId() {
  static int next = 0;
  return "id-" + std::to_string(++next);
}

long long AppendOne(ControlLog& log, const std::string& node, const std::string& change) {
  log.Begin();
  long long version = log.Append(node, NextId(), change);
  log.Commit();
  return version;
}

TEST(ControlLogTest, AppendsNumberTheChangesAndSinceReadsThemInOrder) {
  ControlLog log(Migrated());
  EXPECT_EQ(log.Latest(), 0);
  EXPECT_EQ(AppendOne(log, "a", std::string("one\0bytes", 9)), 1);
  EXPECT_EQ(AppendOne(log, "b", "two"), 2);
  EXPECT_EQ(AppendOne(log, "a", "three"), 3);
  EXPECT_EQ(log.Latest(), 3);
  std::vector<ControlChange> all = log.Since(0, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].change, std::string("one\0bytes", 9));
  EXPECT_EQ(all[1].node, "b");
  std::vector<ControlChange> tail = log.Since(1, 1);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].version, 2);
  EXPECT_EQ(tail[0].change, "two");
}

TEST(ControlLogTest, ACommittedAppendNotifiesListenersAndARolledBackOneDoesNot) {
  std::string conninfo = Migrated();
  auto listener = PgConnection::Connect(conninfo, std::chrono::seconds(10));
  listener->Exec(std::string("LISTEN ") + kControlChannel);
  EXPECT_EQ(listener->AwaitNotification(std::chrono::milliseconds(50)), std::nullopt);
  ControlLog log(conninfo);
  log.Begin();
  log.Append("a", NextId(), "gone");
  log.Rollback();
  EXPECT_EQ(listener->AwaitNotification(std::chrono::milliseconds(200)), std::nullopt);
  AppendOne(log, "a", "kept");
  EXPECT_EQ(listener->AwaitNotification(std::chrono::seconds(5)), std::string(kControlChannel));
}

TEST(ControlLogTest, ARolledBackAppendLeavesNoVersion) {
  ControlLog log(Migrated());
  log.Begin();
  log.Append("a", NextId(), "gone");
  log.Rollback();
  EXPECT_EQ(log.Latest(), 0);
  EXPECT_EQ(AppendOne(log, "a", "kept"), 1);
}

TEST(ControlLogTest, ConcurrentAppendersGetEveryVersionOnceWithoutGaps) {
  std::string conninfo = Migrated();
  constexpr int kNodes = 4;
  constexpr int kEach = 15;
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&conninfo, n] {
      ControlLog log(conninfo);
      for (int i = 0; i < kEach; ++i) {
        // While one holds the lock, what it read as the log's end stays the end.
        log.Begin();
        long long before = log.Latest();
        long long version = log.Append("n" + std::to_string(n), NextId(), std::to_string(i));
        EXPECT_EQ(version, before + 1);
        log.Commit();
      }
    });
  }
  for (auto& t : nodes) t.join();
  ControlLog log(conninfo);
  std::vector<ControlChange> all = log.Since(0, 1000);
  ASSERT_EQ(all.size(), size_t{kNodes * kEach});
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].version, static_cast<long long>(i + 1));
}

TEST(ControlLogTest, AnIdIsInTheLogOnceAndFindTellsUnderWhichVersion) {
  ControlLog log(Migrated());
  AppendOne(log, "a", "first");
  log.Begin();
  long long version = log.Append("a", "the-id", "second");
  log.Commit();
  EXPECT_EQ(version, 2);
  EXPECT_EQ(log.Find("the-id", 0), std::optional<long long>(2));
  EXPECT_EQ(log.Find("never-appended", 0), std::nullopt);
  // The same change sent again cannot be a second version.
  log.Begin();
  EXPECT_THROW(log.Append("b", "the-id", "second again"), PgError);
  log.Rollback();
  EXPECT_EQ(log.Latest(), 2);
}

TEST(ControlLogTest, FindEndsTheTransactionOfALostCommitBeforeItReadsTheLog) {
  std::string conninfo = Migrated();
  // A transaction that has appended and not committed yet (its COMMIT could still come): Find
  // ends its server process, so the answer "not in the log" stays true.
  ControlLog lost(conninfo);
  lost.Begin();
  lost.Append("a", "in-flight", "change");
  int pid = lost.backend_pid();
  ASSERT_NE(pid, 0);
  ControlLog reader(conninfo);
  EXPECT_EQ(reader.Find("in-flight", pid), std::nullopt);
  EXPECT_THROW(lost.Commit(), PgError);
  EXPECT_EQ(reader.Latest(), 0);
  // A committed one is found although its process is gone.
  lost.Begin();
  pid = lost.backend_pid();
  lost.Append("a", "committed", "change");
  lost.Commit();
  EXPECT_EQ(reader.Find("committed", pid), std::optional<long long>(1));
}

TEST(ControlLogTest, DeletesAndMovesOnlyTheObjectsUnderAPrefix) {
  std::string conninfo = Migrated();
  auto db = PgConnection::Connect(conninfo, std::chrono::seconds(10));
  for (const char* object : {"app\ngone\n01", "app\ngone\n02", "app\ngone-too\n01",
                             "app\nmoved\n01", "other\ngone\n01"}) {
    db->Exec("INSERT INTO owners (object, node, epoch) VALUES ($1, 'a', 1)",
             {PgParam::Text(object)});
    db->Exec(
        "INSERT INTO log (object, seq, epoch, node, frames, db_size, checksum)"
        " VALUES ($1, 1, 1, 'a', '\\x00', 4096, '\\x00')",
        {PgParam::Text(object)});
    db->Exec("INSERT INTO alarms (object, at) VALUES ($1, now())", {PgParam::Text(object)});
    db->Exec(
        "INSERT INTO snapshots (object, seq, checksum, image_bytes, image_digest)"
        " VALUES ($1, 1, '\\x00', 1, '\\x00')",
        {PgParam::Text(object)});
    db->Exec("INSERT INTO snapshot_pieces (object, seq, piece, bytes) VALUES ($1, 1, 0, '\\x00')",
             {PgParam::Text(object)});
  }
  ControlLog log(conninfo);
  log.Begin();
  log.DeleteObjects("app\ngone\n");
  log.MoveObjects("app\nmoved\n", "dest\nmoved-here\n");
  log.Commit();
  for (const char* table : {"owners", "log", "alarms", "snapshots", "snapshot_pieces"}) {
    PgResult rows = db->Exec(std::string("SELECT string_agg(replace(object, chr(10), '/'), ','"
                                         " ORDER BY object) FROM ") +
                             table);
    EXPECT_EQ(rows.Text(0, 0), "app/gone-too/01,dest/moved-here/01,other/gone/01") << table;
  }
}

TEST(ControlLogTest, TheFirstKeyCheckIsTheClustersAndOthersMustMatchIt) {
  std::string conninfo = Migrated();
  ControlLog first(conninfo);
  ControlLog second(conninfo);
  EXPECT_TRUE(first.CheckKey("key-one"));
  EXPECT_TRUE(second.CheckKey("key-one"));
  EXPECT_FALSE(second.CheckKey("key-two"));
  EXPECT_TRUE(first.CheckKey("key-one"));
}

}  // namespace
}  // namespace dorm::cluster
