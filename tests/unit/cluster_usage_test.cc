#include "control/cluster_usage.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster_database_test.h"

namespace dorm::control {
namespace {

runtime::ObjectUsageDelta Requests(uint64_t count) {
  runtime::ObjectUsageDelta delta;
  delta.app = "app";
  delta.class_name = "counter";
  delta.instance_name = "one";
  delta.object_id = std::string(64, 'a');
  delta.http_requests = count;
  return delta;
}

uint64_t Counted(ClusterUsage& usage) {
  std::vector<UsageStore::ObjectRow> rows = usage.Query("app", "", 0);
  return rows.size() == 1 ? rows[0].totals.http_requests : 0;
}

TEST(ClusterUsageTest, AFailedPushIsSentWithTheNextAndAPushWritesTotals) {
  std::string conninfo = testing::MigratedDatabase();
  auto db = cluster::PgConnection::Connect(conninfo, std::chrono::seconds(10));
  ClusterUsage usage(conninfo, "n1", 60);
  usage.Push(1000, {Requests(2)});
  EXPECT_EQ(Counted(usage), 2u);
  // The push fails (the table is away): its counts stay with the node.
  db->Exec("ALTER TABLE usage_minutes RENAME TO usage_minutes_away");
  usage.Push(1000, {Requests(3)});
  db->Exec("ALTER TABLE usage_minutes_away RENAME TO usage_minutes");
  usage.Push(1000, {Requests(1)});
  EXPECT_EQ(Counted(usage), 6u);
  // The row holds the process's total for the minute, whatever reached it before.
  EXPECT_EQ(db->Exec("SELECT count(*), sum(http_requests) FROM usage_minutes").Int(0, 0), 1);
  usage.Push(1001, {Requests(5)});
  EXPECT_EQ(Counted(usage), 11u);
  db->Exec("UPDATE usage_minutes SET http_requests = 0 WHERE minute = 1001");
  usage.Push(1001, {Requests(1)});
  EXPECT_EQ(Counted(usage), 12u);
}

TEST(ClusterUsageTest, ANodeStartedAgainKeepsWhatItsPreviousProcessCounted) {
  std::string conninfo = testing::MigratedDatabase();
  {
    ClusterUsage before(conninfo, "n1", 60);
    before.Push(1000, {Requests(4)});
  }
  ClusterUsage after(conninfo, "n1", 60);
  after.Push(1000, {Requests(1)});
  ClusterUsage other(conninfo, "n2", 60);
  other.Push(1000, {Requests(10)});
  EXPECT_EQ(Counted(after), 15u);
}

}  // namespace
}  // namespace dorm::control
