// Ownership and the group-commit statement against a real PostgreSQL: a node's commits are
// durable only while it owns the object at their epoch, and a takeover is ordered against
// in-flight commits by the row lock.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "cluster/commit_batch.h"
#include "cluster/node_lease.h"
#include "cluster/object_ownership.h"
#include "cluster_database_test.h"

namespace dorm::cluster {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Accepted = std::set<std::pair<std::string, long long>>;

class CommitFencingTest : public testing::ClusterDatabaseTest {
 protected:
  static LogRow Row(const std::string& object, long long seq, long long epoch) {
    return LogRow{object, seq,
                  epoch,  "frames of " + object + std::to_string(seq),
                  3,      std::string(32, static_cast<char>(seq))};
  }
  // "node@epoch" of each log row of `object`, in seq order.
  std::string LogOf(const std::string& object) {
    PgResult rows = db_->Exec(
        "SELECT coalesce(string_agg(seq || ':' || node || '@' || epoch, ' ' ORDER BY seq), '') "
        "FROM log WHERE object = $1",
        {PgParam::Text(object)});
    return rows.Text(0, 0);
  }
};

TEST_F(CommitFencingTest, AcquireNeedsALiveLeaseAndBumpsTheEpoch) {
  EXPECT_EQ(AcquireObject(*db_, "x", "a"), std::nullopt);  // "a" has no lease
  EXPECT_FALSE(LookupOwner(*db_, "x"));
  AddNode("a");
  AddNode("b");
  EXPECT_EQ(AcquireObject(*db_, "x", "a"), 1);
  EXPECT_EQ(AcquireObject(*db_, "x", "b"), std::nullopt);  // a's lease is live
  std::optional<Ownership> owner = LookupOwner(*db_, "x");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->node, "a");
  EXPECT_EQ(owner->epoch, 1);
  EXPECT_TRUE(owner->lease_live);
  // A node taking its own object again (it lost track of it) fences its old epoch.
  EXPECT_EQ(AcquireObject(*db_, "x", "a"), 2);
  EXPECT_FALSE(ReleaseObject(*db_, "x", "a", 1));
  EXPECT_TRUE(ReleaseObject(*db_, "x", "a", 2));
  EXPECT_EQ(AcquireObject(*db_, "x", "b"), 3);
}

TEST_F(CommitFencingTest, OldOwnersCommitsAreRefusedAfterItsLeaseRunsOut) {
  NodeLeaseOptions short_lease = LeaseOptions("a");
  short_lease.ttl = milliseconds(600);
  short_lease.renew_every = milliseconds(150);
  short_lease.margin = milliseconds(100);
  NodeLease a(short_lease);
  NodeLease b(LeaseOptions("b"));
  a.Start();
  b.Start();
  auto a_db = Connect();
  auto b_db = Connect();
  ASSERT_EQ(AcquireObject(*a_db, "x", "a"), 1);
  ASSERT_EQ(AcquireObject(*a_db, "y", "a"), 1);
  EXPECT_EQ(AppendCommits(*a_db, "a", {Row("x", 1, 1), Row("y", 1, 1)}),
            (Accepted{{"x", 1}, {"y", 1}}));
  EXPECT_EQ(AcquireObject(*b_db, "x", "b"), std::nullopt);

  // "a" stops renewing (paused, partitioned): once its lease ran out on PostgreSQL's clock, "b"
  // takes x.
  a.Stop(false);
  std::optional<long long> epoch;
  auto give_up = Clock::now() + std::chrono::seconds(3);
  while (!(epoch = AcquireObject(*b_db, "x", "b")) && Clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(epoch, 2);

  // a's next batch: x is refused (fenced), y still a's at epoch 1 (nobody took it) is accepted.
  EXPECT_EQ(AppendCommits(*a_db, "a", {Row("x", 2, 1), Row("y", 2, 1)}), (Accepted{{"y", 2}}));
  // b continues x's log at its epoch; a's refused row is nowhere.
  EXPECT_EQ(AppendCommits(*b_db, "b", {Row("x", 2, 2)}), (Accepted{{"x", 2}}));
  EXPECT_EQ(LogOf("x"), "1:a@1 2:b@2");
  EXPECT_EQ(LogOf("y"), "1:a@1 2:a@1");
  // A row claiming b's epoch but written by a is refused too.
  EXPECT_EQ(AppendCommits(*a_db, "a", {Row("x", 3, 2)}), Accepted{});
  EXPECT_EQ(LogOf("x"), "1:a@1 2:b@2");
}

TEST_F(CommitFencingTest, TakeoverWaitsForAnInFlightCommit) {
  AddNode("a");
  AddNode("b");
  auto a_db = Connect();
  auto b_db = Connect();
  ASSERT_EQ(AcquireObject(*a_db, "x", "a"), 1);
  // a's commit statement has run but its transaction has not committed yet.
  a_db->Exec("BEGIN");
  EXPECT_EQ(AppendCommits(*a_db, "a", {Row("x", 1, 1)}), (Accepted{{"x", 1}}));
  ExpireLease("a");
  auto takeover = std::async(std::launch::async, [&] { return AcquireObject(*b_db, "x", "b"); });
  EXPECT_EQ(takeover.wait_for(milliseconds(300)), std::future_status::timeout);
  a_db->Exec("COMMIT");
  ASSERT_EQ(takeover.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(takeover.get(), 2);
  // The commit landed before the takeover, at the old epoch: the new owner will replay it.
  EXPECT_EQ(LogOf("x"), "1:a@1");
  EXPECT_EQ(AppendCommits(*a_db, "a", {Row("x", 2, 1)}), Accepted{});
}

TEST_F(CommitFencingTest, CommitWaitingOnATakeoverIsRefusedOnceItCommits) {
  AddNode("a");
  AddNode("b");
  auto a_db = Connect();
  auto b_db = Connect();
  ASSERT_EQ(AcquireObject(*a_db, "x", "a"), 1);
  ExpireLease("a");
  // b's takeover holds the row lock, uncommitted.
  b_db->Exec("BEGIN");
  ASSERT_EQ(AcquireObject(*b_db, "x", "b"), 2);
  auto commit =
      std::async(std::launch::async, [&] { return AppendCommits(*a_db, "a", {Row("x", 1, 1)}); });
  EXPECT_EQ(commit.wait_for(milliseconds(300)), std::future_status::timeout);
  b_db->Exec("COMMIT");
  ASSERT_EQ(commit.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(commit.get(), Accepted{});
  EXPECT_EQ(LogOf("x"), "");
}

TEST_F(CommitFencingTest, ADuplicateRowDoesNotFailTheOthers) {
  AddNode("a");
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  ASSERT_EQ(AcquireObject(*db_, "y", "a"), 1);
  EXPECT_EQ(AppendCommits(*db_, "a", {Row("x", 1, 1)}), (Accepted{{"x", 1}}));
  EXPECT_EQ(AppendCommits(*db_, "a", {Row("x", 1, 1), Row("x", 2, 1), Row("y", 1, 1)}),
            (Accepted{{"x", 2}, {"y", 1}}));
  PgResult row =
      db_->Exec("SELECT frames, db_size, checksum FROM log WHERE object = 'x' AND seq = 2");
  EXPECT_EQ(row.Bytes(0, 0), "frames of x2");
  EXPECT_EQ(row.Int(0, 1), 3);
  EXPECT_EQ(row.Bytes(0, 2), std::string(32, '\2'));
  EXPECT_THROW(AppendCommits(*db_, "a", std::vector<LogRow>(kMaxBatchRows + 1, Row("x", 9, 1))),
               std::invalid_argument);
}

}  // namespace
}  // namespace dorm::cluster
