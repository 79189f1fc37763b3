#include "cluster/cluster_directory.h"

#include <gtest/gtest.h>

#include <future>

#include "cluster/node_lease.h"
#include "cluster_database_test.h"

namespace dorm::cluster {
namespace {

using std::chrono::milliseconds;

class ClusterDirectoryTest : public testing::ClusterDatabaseTest {
 protected:
  // Waits for Resolve()'s answer (it runs on the directory's thread).
  static std::optional<std::string> Resolved(ClusterDirectory& directory, const std::string& node) {
    auto answer = std::make_shared<std::promise<std::optional<std::string>>>();
    std::future<std::optional<std::string>> future = answer->get_future();
    directory.Resolve(node, [answer](std::optional<std::string> addr) { answer->set_value(addr); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    return future.get();
  }
  static Placement Located(ClusterDirectory& directory, const std::string& object) {
    auto answer = std::make_shared<std::promise<Placement>>();
    std::future<Placement> future = answer->get_future();
    directory.Locate(object, [answer](Placement placement) { answer->set_value(placement); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    return future.get();
  }
};

// A "not owner" answer may name a node that registered after the directory last read the live
// nodes (every 0.5 s): Resolve() reads them again at once, so the request can go on there.
TEST_F(ClusterDirectoryTest, ResolveReadsTheLiveNodesAgainAtOnce) {
  NodeLease a(LeaseOptions("a"));
  a.Start();
  ClusterDirectory directory(conninfo_, "a");
  directory.Start();
  // The first lookup reads the live nodes: only "a".
  EXPECT_EQ(Located(directory, "app/Counter/1").kind, Placement::Kind::kLocal);
  EXPECT_EQ(directory.AddressOf("a"), std::optional<std::string>("http://127.0.0.1:1/a"));
  EXPECT_FALSE(directory.AddressOf("b"));
  NodeLease b(LeaseOptions("b"));
  b.Start();
  // Just registered: found at once (the periodic refresh may still be up to 0.5 s away).
  EXPECT_EQ(Resolved(directory, "b"), std::optional<std::string>("http://127.0.0.1:1/b"));
  EXPECT_EQ(directory.AddressOf("b"), std::optional<std::string>("http://127.0.0.1:1/b"));
  // A node that never registered, or whose lease ended, is not live: nothing to forward to.
  EXPECT_FALSE(Resolved(directory, "never"));
  b.Stop(/*release=*/true);
  EXPECT_FALSE(Resolved(directory, "b"));
  EXPECT_FALSE(directory.AddressOf("b"));
  // Once stopped, answered at once, on the caller's thread.
  directory.Stop();
  bool answered = false;
  directory.Resolve("a", [&](std::optional<std::string> addr) {
    answered = true;
    EXPECT_FALSE(addr);
  });
  EXPECT_TRUE(answered);
  a.Stop(false);
}

}  // namespace
}  // namespace dorm::cluster
