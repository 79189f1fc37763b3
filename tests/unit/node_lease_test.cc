#include "cluster/node_lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cluster/cluster_status.h"
#include "cluster/object_ownership.h"
#include "cluster_database_test.h"

namespace dorm::cluster {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class NodeLeaseTest : public testing::ClusterDatabaseTest {
 protected:
  // Milliseconds left on `node`'s lease, on PostgreSQL's clock.
  long long LeaseLeftMs(const std::string& node) {
    return db_
        ->Exec(
            "SELECT (extract(epoch FROM lease_until - now()) * 1000)::bigint FROM nodes "
            "WHERE node = $1",
            {PgParam::Text(node)})
        .Int(0, 0);
  }
};

TEST_F(NodeLeaseTest, RegistersAndRenewsOnPostgresClock) {
  NodeLease lease(LeaseOptions("a"));
  lease.Start();
  EXPECT_TRUE(lease.valid());
  EXPECT_EQ(lease.generation(), 1);
  EXPECT_EQ(db_->Exec("SELECT addr FROM nodes WHERE node = 'a'").Text(0, 0),
            "http://127.0.0.1:1/a");
  // Renewed every 0.5 s to now() + 2 s: after 1.5 s the lease still has more than 1 s.
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_GT(LeaseLeftMs("a"), 1000);
  EXPECT_LE(LeaseLeftMs("a"), 2000);
  EXPECT_TRUE(lease.valid());
  // The local deadline is at most ttl − margin after now.
  EXPECT_LE(lease.deadline() - Clock::now(), milliseconds(1750));
  EXPECT_EQ(lease.generation(), 1);
  lease.Stop(false);
  EXPECT_FALSE(lease.valid());
}

TEST_F(NodeLeaseTest, RenewalsReportTheNodesFlushLagForEveryNodeToRead) {
  std::atomic<long long> pending{3};
  NodeLeaseOptions options = LeaseOptions("a");
  options.load = [&pending] { return NodeLoad{pending.load(), 3 * 4096, 250}; };
  NodeLease lease(std::move(options));
  NodeLease quiet(LeaseOptions("b"));
  lease.Start();
  quiet.Start();
  // Before its first renewal a node has reported nothing.
  auto status_of = [this](const std::string& node) {
    for (const NodeStatus& status : ReadClusterStatus(*db_).nodes) {
      if (status.node == node) return status;
    }
    ADD_FAILURE() << "no node " << node;
    return NodeStatus{};
  };
  std::this_thread::sleep_for(milliseconds(800));
  NodeStatus a = status_of("a");
  EXPECT_EQ(a.pending_commits, 3);
  EXPECT_EQ(a.pending_bytes, 3 * 4096);
  EXPECT_EQ(a.oldest_pending_ms, 250);
  EXPECT_GE(a.reported_ms_ago, 0);
  EXPECT_LT(a.reported_ms_ago, 1000);
  NodeStatus b = status_of("b");
  EXPECT_EQ(b.pending_commits, 0);
  EXPECT_EQ(b.oldest_pending_ms, 0);
  EXPECT_GE(b.reported_ms_ago, 0);
  // The next renewal reports the new value.
  pending = 0;
  std::this_thread::sleep_for(milliseconds(800));
  EXPECT_EQ(status_of("a").pending_commits, 0);
  lease.Stop(false);
  quiet.Stop(false);
}

TEST_F(NodeLeaseTest, AnotherProcessCannotTakeALiveNameUntilItRunsOut) {
  NodeLease first(LeaseOptions("a"));
  first.Start();
  EXPECT_EQ(AcquireObject(*db_, "app/Counter/1", "a"), 1);
  NodeLeaseOptions options = LeaseOptions("a");
  options.register_wait = milliseconds(300);
  NodeLease second(options);
  try {
    second.Start();
    FAIL() << "registered twice";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "cannot register node a: the name is held by another process's live lease");
  }
  // Nor did it release the objects of the live lease.
  EXPECT_EQ(LookupOwner(*db_, "app/Counter/1")->node, std::optional<std::string>("a"));
  first.Stop(false);
  // The first lease runs out (2 s) within the second's wait.
  NodeLeaseOptions patient = LeaseOptions("a");
  patient.register_wait = milliseconds(4000);
  NodeLease third(patient);
  auto started = Clock::now();
  third.Start();
  EXPECT_TRUE(third.valid());
  EXPECT_GT(Clock::now() - started, milliseconds(1000));
}

TEST_F(NodeLeaseTest, RefusedRenewalLosesTheLeaseThenRegistersAgain) {
  std::mutex mutex;
  std::condition_variable lost_cv;
  int lost = 0;
  NodeLeaseOptions options = LeaseOptions("a");
  options.on_lost = [&] {
    std::lock_guard lock(mutex);
    ++lost;
    lost_cv.notify_all();
  };
  NodeLease lease(options);
  lease.Start();
  // On PostgreSQL's clock the lease ran out (as if the node had been paused): it is not revived.
  db_->Exec("UPDATE nodes SET lease_until = now() - interval '1 second' WHERE node = 'a'");
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(lost_cv.wait_for(lock, std::chrono::seconds(3), [&] { return lost > 0; }));
  }
  // The node then registers anew: a new generation, whose objects must be taken again.
  auto give_up = Clock::now() + std::chrono::seconds(3);
  while (lease.generation() < 2 && Clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(lease.generation(), 2);
  EXPECT_TRUE(lease.valid());
  EXPECT_EQ(lost, 1);
}

TEST_F(NodeLeaseTest, LostLeaseRegistersAgainOnlyOnceItMayAndAtOnceWhenWoken) {
  std::atomic<int> allowed{0};  // the generation may_register allows
  std::atomic<int> asked{0};    // the generation it was last asked for
  NodeLeaseOptions options = LeaseOptions("a");
  options.may_register = [&](int generation) {
    asked = generation;
    return generation == allowed.load();
  };
  NodeLease lease(options);
  lease.Start();  // the first registration does not ask
  EXPECT_EQ(lease.generation(), 1);
  EXPECT_EQ(lease.next_generation(), 1);
  EXPECT_EQ(asked.load(), 0);
  EXPECT_EQ(AcquireObject(*db_, "app/Counter/1", "a"), 1);
  db_->Exec("UPDATE nodes SET lease_until = now() - interval '1 second' WHERE node = 'a'");
  auto give_up = Clock::now() + std::chrono::seconds(3);
  while (asked.load() == 0 && Clock::now() < give_up) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_EQ(asked.load(), 2);
  // Lost, and not registered again while may_register says no: not live in PostgreSQL, so no
  // node places objects on it.
  std::this_thread::sleep_for(milliseconds(1200));
  EXPECT_FALSE(lease.valid());
  EXPECT_EQ(lease.generation(), 1);
  EXPECT_EQ(lease.next_generation(), 2);
  EXPECT_LE(LeaseLeftMs("a"), 0);
  // Allowed and woken: registered at once, not at its next attempt.
  allowed = 2;
  auto woken = Clock::now();
  lease.Wake();
  while (!lease.valid() && Clock::now() < woken + std::chrono::seconds(3)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(lease.valid());
  EXPECT_LT(Clock::now() - woken, milliseconds(400));
  EXPECT_EQ(lease.generation(), 2);
  EXPECT_EQ(lease.next_generation(), 2);
  EXPECT_GT(LeaseLeftMs("a"), 1000);
  // It registered holding nothing: its object was released first, so another node may take it
  // although the node is live again.
  std::optional<Ownership> owner = LookupOwner(*db_, "app/Counter/1");
  ASSERT_TRUE(owner);
  EXPECT_FALSE(owner->node);
  NodeLease b(LeaseOptions("b"));
  b.Start();
  EXPECT_EQ(AcquireObject(*db_, "app/Counter/1", "b"), 2);
}

TEST_F(NodeLeaseTest, NodeThatCannotRenewStopsBeforeItsLeaseRunsOut) {
  std::mutex mutex;
  std::condition_variable lost_cv;
  bool lost = false;
  NodeLeaseOptions options = LeaseOptions("a");
  options.margin = milliseconds(500);
  options.on_lost = [&] {
    std::lock_guard lock(mutex);
    lost = true;
    lost_cv.notify_all();
  };
  NodeLease lease(options);
  lease.Start();
  // Renewals now hang on the row lock, as they would on a silent network.
  db_->Exec("BEGIN");
  db_->Exec("SELECT 1 FROM nodes WHERE node = 'a' FOR UPDATE");
  auto locked = Clock::now();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(lost_cv.wait_for(lock, std::chrono::seconds(3), [&] { return lost; }));
  }
  EXPECT_FALSE(lease.valid());
  // The node gave up while its lease was still live in PostgreSQL: nobody could have taken its
  // objects yet.
  EXPECT_GT(LeaseLeftMs("a"), 0);
  EXPECT_LT(Clock::now() - locked, milliseconds(2000));
  db_->Exec("ROLLBACK");
}

TEST_F(NodeLeaseTest, StopWithReleaseHandsObjectsOverAtOnce) {
  NodeLease a(LeaseOptions("a"));
  NodeLease b(LeaseOptions("b"));
  a.Start();
  b.Start();
  EXPECT_EQ(AcquireObject(*db_, "app/Counter/1", "a"), 1);
  EXPECT_EQ(AcquireObject(*db_, "app/Counter/1", "b"), std::nullopt);
  a.Stop(true);
  std::optional<Ownership> owner = LookupOwner(*db_, "app/Counter/1");
  ASSERT_TRUE(owner);
  EXPECT_FALSE(owner->node);
  EXPECT_EQ(owner->epoch, 1);
  EXPECT_LE(LeaseLeftMs("a"), 0);
  EXPECT_EQ(AcquireObject(*db_, "app/Counter/1", "b"), 2);
}

}  // namespace
}  // namespace dorm::cluster
