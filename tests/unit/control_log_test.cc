#include "cluster/control_log.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cluster_database_test.h"

namespace dorm::cluster {
namespace {

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
  ControlLog log(testing::MigratedDatabase());
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
  std::string conninfo = testing::MigratedDatabase();
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
  ControlLog log(testing::MigratedDatabase());
  log.Begin();
  log.Append("a", NextId(), "gone");
  log.Rollback();
  EXPECT_EQ(log.Latest(), 0);
  EXPECT_EQ(AppendOne(log, "a", "kept"), 1);
}

TEST(ControlLogTest, ConcurrentAppendersGetEveryVersionOnceWithoutGaps) {
  std::string conninfo = testing::MigratedDatabase();
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
  ControlLog log(testing::MigratedDatabase());
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
  std::string conninfo = testing::MigratedDatabase();
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

TEST(ControlLogTest, ASnapshotDeletesTheChangesItHoldsAndVersionsGoOn) {
  ControlLog log(testing::MigratedDatabase());
  EXPECT_EQ(log.LatestSnapshot(), std::nullopt);
  EXPECT_EQ(log.SnapshotVersion(), 0);
  for (int i = 1; i <= 3; ++i) AppendOne(log, "a", "change " + std::to_string(i));
  log.Begin();
  log.WriteSnapshot("a", 3, std::string("state\0at 3", 10));
  log.Commit();
  // Every change is gone, and the log's end is the snapshot's.
  EXPECT_TRUE(log.Since(0, 10).empty());
  EXPECT_EQ(log.Latest(), 3);
  std::optional<ControlSnapshot> snapshot = log.LatestSnapshot();
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(snapshot->version, 3);
  EXPECT_EQ(snapshot->node, "a");
  EXPECT_EQ(snapshot->snapshot, std::string("state\0at 3", 10));
  EXPECT_EQ(AppendOne(log, "b", "four"), 4);
  EXPECT_EQ(AppendOne(log, "b", "five"), 5);
  // A reader that had applied 1 finds the next change missing: the snapshot holds it.
  std::vector<ControlChange> after = log.Since(1, 10);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].version, 4);
  // A later snapshot replaces the older one and deletes only what it holds.
  log.Begin();
  log.WriteSnapshot("b", 4, "state at 4");
  log.Commit();
  EXPECT_EQ(log.SnapshotVersion(), 4);
  EXPECT_EQ(log.LatestSnapshot()->snapshot, "state at 4");
  ASSERT_EQ(log.Since(0, 10).size(), 1u);
  EXPECT_EQ(log.Since(0, 10)[0].change, "five");
  // A snapshot that was not committed changes nothing.
  log.Begin();
  log.WriteSnapshot("a", 5, "state at 5");
  log.Rollback();
  EXPECT_EQ(log.SnapshotVersion(), 4);
  EXPECT_EQ(log.Since(0, 10).size(), 1u);
}

TEST(ControlLogTest, FindStillAnswersForAChangeACompactionDeleted) {
  ControlLog log(testing::MigratedDatabase());
  log.Begin();
  long long version = log.Append("a", "compacted-id", "change");
  log.Commit();
  log.Begin();
  log.WriteSnapshot("a", version, "state");
  log.Commit();
  EXPECT_TRUE(log.Since(0, 10).empty());
  EXPECT_EQ(log.Find("compacted-id", 0), std::optional<long long>(version));
  // The id is still the log's: it cannot be appended again.
  log.Begin();
  long long next = log.Append("a", "another-id", "next");
  log.Commit();
  EXPECT_EQ(next, version + 1);
}

TEST(ControlLogTest, SnapshotsUnderConcurrentAppendsLoseNoVersion) {
  // Appenders and a compactor share the lock: a reader that follows the log (changes, or the
  // snapshot when the next change is gone) sees every version once, in order.
  std::string conninfo = testing::MigratedDatabase();
  constexpr int kNodes = 3;
  constexpr int kEach = 20;
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&conninfo, n] {
      ControlLog log(conninfo);
      for (int i = 0; i < kEach; ++i) {
        log.Begin();
        long long version = log.Append("n" + std::to_string(n), NextId(), "c");
        if (version % 7 == 0) log.WriteSnapshot("n" + std::to_string(n), version, "s");
        log.Commit();
      }
    });
  }
  ControlLog reader(conninfo);
  long long applied = 0;
  int snapshots_loaded = 0;
  auto follow = [&] {
    for (;;) {
      std::vector<ControlChange> changes = reader.Since(applied, 5);
      if (changes.empty() || changes.front().version != applied + 1) {
        long long at = reader.SnapshotVersion();
        if (at > applied) {
          applied = at;
          ++snapshots_loaded;
          continue;
        }
        ASSERT_TRUE(changes.empty()) << "a gap after " << applied;
        return;
      }
      for (const ControlChange& change : changes) {
        if (change.version != applied + 1) break;
        applied = change.version;
      }
    }
  };
  for (int round = 0; round < 50; ++round) follow();
  for (auto& t : nodes) t.join();
  follow();
  EXPECT_EQ(applied, kNodes * kEach);
  EXPECT_EQ(reader.Latest(), kNodes * kEach);
  EXPECT_EQ(reader.SnapshotVersion(), (kNodes * kEach) / 7 * 7);
}

TEST(ControlLogTest, AnIdempotencyKeyNamesOneChangePerAppForADay) {
  std::string conninfo = testing::MigratedDatabase();
  ControlLog log(conninfo);
  log.Begin();
  EXPECT_EQ(log.FindIdempotencyKey("app", "k1"), std::nullopt);
  long long version = log.Append("a", NextId(), "change");
  log.RecordIdempotencyKey("app", "k1", "request-mac", version);
  log.Commit();
  log.Begin();
  std::optional<IdempotentChange> found = log.FindIdempotencyKey("app", "k1");
  log.Rollback();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->request, "request-mac");
  EXPECT_EQ(found->version, version);
  EXPECT_EQ(found->answer, std::nullopt);
  // Another app's key of the same name is another key.
  log.Begin();
  EXPECT_EQ(log.FindIdempotencyKey("other", "k1"), std::nullopt);
  log.Rollback();
  log.StoreIdempotentAnswer("app", "k1", version, std::string("answer\0bytes", 12));
  log.Begin();
  EXPECT_EQ(log.FindIdempotencyKey("app", "k1")->answer, std::string("answer\0bytes", 12));
  log.Rollback();
  // A key older than a day is forgotten: found no more, reused by a new change, and deleted by a
  // compaction.
  auto db = PgConnection::Connect(conninfo, std::chrono::seconds(10));
  db->Exec("UPDATE control_idempotency SET at = now() - interval '25 hours'");
  log.Begin();
  EXPECT_EQ(log.FindIdempotencyKey("app", "k1"), std::nullopt);
  long long next = log.Append("a", NextId(), "change again");
  log.RecordIdempotencyKey("app", "k1", "another-mac", next);
  log.Commit();
  log.Begin();
  found = log.FindIdempotencyKey("app", "k1");
  log.Rollback();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->version, next);
  EXPECT_EQ(found->answer, std::nullopt);
  db->Exec("UPDATE control_idempotency SET at = now() - interval '25 hours'");
  log.Begin();
  log.WriteSnapshot("a", next, "state");
  log.Commit();
  EXPECT_EQ(db->Exec("SELECT count(*) FROM control_idempotency").Int(0, 0), 0);
}

TEST(ControlLogTest, DeletesAndMovesOnlyTheObjectsUnderAPrefix) {
  std::string conninfo = testing::MigratedDatabase();
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
  std::string conninfo = testing::MigratedDatabase();
  ControlLog first(conninfo);
  ControlLog second(conninfo);
  EXPECT_TRUE(first.CheckKey("key-one"));
  EXPECT_TRUE(second.CheckKey("key-one"));
  EXPECT_FALSE(second.CheckKey("key-two"));
  EXPECT_TRUE(first.CheckKey("key-one"));
}

}  // namespace
}  // namespace dorm::cluster
