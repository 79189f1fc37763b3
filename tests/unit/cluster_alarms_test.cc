// Alarms in PostgreSQL against a real server: the group-commit statement writes a row's alarm to
// `alarms` together with the row and only for rows it inserted, and FindOrphanedAlarms finds the
// due alarms of objects no live node owns, each for the one live node rendezvous hashing picks.
#include "cluster/cluster_alarms.h"

#include <gtest/gtest.h>

#include "cluster/cluster_status.h"
#include "cluster/commit_batch.h"
#include "cluster/object_ownership.h"
#include "cluster/rendezvous.h"
#include "cluster_database_test.h"

namespace dorm::cluster {
namespace {

class ClusterAlarmsTest : public testing::ClusterDatabaseTest {
 protected:
  static LogRow Row(const std::string& object, long long seq, long long epoch,
                    LogRow::Alarm alarm = LogRow::Alarm::kUnchanged, long long alarm_ms = 0) {
    LogRow row{object, seq, epoch, "frames", 3, std::string(32, 'c')};
    row.alarm = alarm;
    row.alarm_ms = alarm_ms;
    return row;
  }
  // The object's alarm in `alarms`, in milliseconds, or -1 when it has none.
  long long AlarmOf(const std::string& object) {
    PgResult found =
        db_->Exec("SELECT (extract(epoch FROM at) * 1000)::bigint FROM alarms WHERE object = $1",
                  {PgParam::Text(object)});
    return found.rows() == 0 ? -1 : found.Int(0, 0);
  }
  // Sets `object`'s alarm to `ms`, written by its owner `node` at `epoch`.
  void SetAlarm(const std::string& object, const std::string& node, long long epoch, long long seq,
                long long ms) {
    auto accepted = AppendCommits(*db_, node, {Row(object, seq, epoch, LogRow::Alarm::kSet, ms)});
    ASSERT_EQ(accepted.size(), 1u);
  }
};

TEST_F(ClusterAlarmsTest, AlarmsAreWrittenWithTheirRowsAndOnlyThen) {
  AddNode("a");
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  ASSERT_EQ(AcquireObject(*db_, "y", "a"), 1);
  const long long at = 1893456000123;  // 2030-01-01, to the millisecond
  auto accepted =
      AppendCommits(*db_, "a", {Row("x", 1, 1, LogRow::Alarm::kSet, at), Row("y", 1, 1)});
  EXPECT_EQ(accepted.size(), 2u);
  EXPECT_EQ(AlarmOf("x"), at);
  EXPECT_EQ(AlarmOf("y"), -1);  // unchanged: none
  // A row that does not touch the alarm leaves it; a later one moves it.
  AppendCommits(*db_, "a", {Row("x", 2, 1)});
  EXPECT_EQ(AlarmOf("x"), at);
  AppendCommits(*db_, "a", {Row("x", 3, 1, LogRow::Alarm::kSet, at + 5)});
  EXPECT_EQ(AlarmOf("x"), at + 5);
  // Several rows of one object in a batch: the highest seq that changed the alarm wins.
  accepted = AppendCommits(*db_, "a",
                           {Row("x", 5, 1, LogRow::Alarm::kSet, at + 50), Row("x", 6, 1),
                            Row("x", 4, 1, LogRow::Alarm::kDeleted)});
  EXPECT_EQ(accepted.size(), 3u);
  EXPECT_EQ(AlarmOf("x"), at + 50);
  AppendCommits(*db_, "a", {Row("x", 7, 1, LogRow::Alarm::kDeleted)});
  EXPECT_EQ(AlarmOf("x"), -1);
  // A time past what a Date holds is written as the latest one, without failing the batch.
  accepted =
      AppendCommits(*db_, "a", {Row("x", 8, 1, LogRow::Alarm::kSet, 1LL << 62), Row("y", 2, 1)});
  EXPECT_EQ(accepted.size(), 2u);
  EXPECT_EQ(AlarmOf("x"), 8640000000000000LL);
  AppendCommits(*db_, "a", {Row("x", 9, 1, LogRow::Alarm::kSet, -5)});
  EXPECT_EQ(AlarmOf("x"), 0);
  AppendCommits(*db_, "a", {Row("x", 10, 1, LogRow::Alarm::kDeleted)});
  // A row already in the log (a batch sent again) changes nothing.
  AppendCommits(*db_, "a", {Row("x", 10, 1, LogRow::Alarm::kSet, at)});
  EXPECT_EQ(AlarmOf("x"), -1);
}

TEST_F(ClusterAlarmsTest, AFencedRowLeavesAlarmsAsTheyWere) {
  AddNode("a");
  AddNode("b");
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  ASSERT_EQ(AcquireObject(*db_, "z", "a"), 1);
  SetAlarm("x", "a", 1, 1, 1000);
  SetAlarm("z", "a", 1, 1, 1000);
  // b takes x (a's lease ran out); a's next commits of x are fenced, z's still land.
  ExpireLease("a");
  ASSERT_EQ(AcquireObject(*db_, "x", "b"), 2);
  db_->Exec("UPDATE nodes SET lease_until = now() + interval '1 hour' WHERE node = 'a'");
  auto accepted = AppendCommits(
      *db_, "a",
      {Row("x", 2, 1, LogRow::Alarm::kSet, 2000), Row("z", 2, 1, LogRow::Alarm::kDeleted)});
  EXPECT_EQ(accepted, (std::set<std::pair<std::string, long long>>{{"z", 2}}));
  EXPECT_EQ(AlarmOf("x"), 1000);
  EXPECT_EQ(AlarmOf("z"), -1);
  accepted = AppendCommits(*db_, "a", {Row("x", 2, 1, LogRow::Alarm::kDeleted)});
  EXPECT_TRUE(accepted.empty());
  EXPECT_EQ(AlarmOf("x"), 1000);
}

TEST_F(ClusterAlarmsTest, OrphanedAlarmsGoToTheRendezvousWinnerAmongLiveNodes) {
  AddNode("a");
  AddNode("b");
  AddNode("c");
  // 40 objects of a with alarms past due, one of b, and one of a far in the future.
  std::vector<std::string> objects;
  for (int i = 0; i < 40; ++i) {
    objects.push_back("o" + std::to_string(i));
    ASSERT_EQ(AcquireObject(*db_, objects.back(), "a"), 1);
    SetAlarm(objects.back(), "a", 1, 1, 1000 + i);
  }
  ASSERT_EQ(AcquireObject(*db_, "of-b", "b"), 1);
  SetAlarm("of-b", "b", 1, 1, 1000);
  ASSERT_EQ(AcquireObject(*db_, "far", "a"), 1);
  SetAlarm("far", "a", 1, 1, 4102444800000);  // 2100
  // a is alive: nothing is orphaned.
  EXPECT_TRUE(FindOrphanedAlarms(*db_, "b", 1000, 1000).empty());
  ExpireLease("a");
  std::vector<OrphanedAlarm> of_b = FindOrphanedAlarms(*db_, "b", 1000, 1000);
  std::vector<OrphanedAlarm> of_c = FindOrphanedAlarms(*db_, "c", 1000, 1000);
  EXPECT_TRUE(FindOrphanedAlarms(*db_, "a", 1000, 1000).empty());  // a is not live
  // Every object once, at its owner's rendezvous pick among b and c, earliest first.
  EXPECT_EQ(of_b.size() + of_c.size(), objects.size());
  EXPECT_FALSE(of_b.empty());
  EXPECT_FALSE(of_c.empty());
  const std::vector<std::string> live = {"b", "c"};
  for (const auto* found : {&of_b, &of_c}) {
    const std::string node = found == &of_b ? "b" : "c";
    for (size_t i = 0; i < found->size(); ++i) {
      const OrphanedAlarm& alarm = (*found)[i];
      EXPECT_EQ(live[*RendezvousPick(live, alarm.object)], node) << alarm.object;
      EXPECT_EQ(alarm.at_ms, 1000 + std::stoi(alarm.object.substr(1)));
      if (i > 0) {
        EXPECT_LT((*found)[i - 1].at_ms, alarm.at_ms);
      }
    }
  }
  // A draining node is left out of the pick; a released object is orphaned too.
  ASSERT_TRUE(RequestDrain(*db_, "c"));
  EXPECT_TRUE(FindOrphanedAlarms(*db_, "c", 1000, 1000).empty());
  EXPECT_EQ(FindOrphanedAlarms(*db_, "b", 1000, 1000).size(), objects.size());
  ASSERT_TRUE(ReleaseObject(*db_, "of-b", "b", 1));
  EXPECT_EQ(FindOrphanedAlarms(*db_, "b", 1000, 1000).size(), objects.size() + 1);
  // At most `limit`, the earliest.
  std::vector<OrphanedAlarm> first = FindOrphanedAlarms(*db_, "b", 1000, 3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].at_ms, 1000);
  // Taken by b, an object is no longer orphaned.
  ASSERT_EQ(AcquireObject(*db_, "o0", "b"), 2);
  for (const OrphanedAlarm& alarm : FindOrphanedAlarms(*db_, "b", 1000, 1000)) {
    EXPECT_NE(alarm.object, "o0");
  }
}

TEST_F(ClusterAlarmsTest, AlarmsKeepTheObjectsNameAndTheRetriesTheirOwnerNoted) {
  AddNode("a");
  AddNode("b");
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  const long long at = 1893456000123;
  LogRow named = Row("x", 1, 1, LogRow::Alarm::kSet, at);
  named.alarm_name = "lobby";
  ASSERT_EQ(AppendCommits(*db_, "a", {named}).size(), 1u);
  EXPECT_EQ(AlarmRetries(*db_, "x"), 0);
  // Only the owner's note counts, and only for the alarm it ran.
  NoteAlarmRetry(*db_, "b", "x", at, 5);
  NoteAlarmRetry(*db_, "a", "x", at + 1, 6);
  EXPECT_EQ(AlarmRetries(*db_, "x"), 0);
  NoteAlarmRetry(*db_, "a", "x", at, 2);
  EXPECT_EQ(AlarmRetries(*db_, "x"), 2);
  // Set again at the same time (by a commit of the object reached by id: no name), the alarm
  // keeps its retries and its name; moved, it starts again at 0.
  ASSERT_EQ(AppendCommits(*db_, "a", {Row("x", 2, 1, LogRow::Alarm::kSet, at)}).size(), 1u);
  EXPECT_EQ(AlarmRetries(*db_, "x"), 2);
  ExpireLease("a");
  std::vector<OrphanedAlarm> due = FindOrphanedAlarms(*db_, "b", 1LL << 50, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].object, "x");
  EXPECT_EQ(due[0].name, "lobby");
  EXPECT_EQ(due[0].retries, 2);
  db_->Exec("UPDATE nodes SET lease_until = now() + interval '1 hour' WHERE node = 'a'");
  ASSERT_EQ(AppendCommits(*db_, "a", {Row("x", 3, 1, LogRow::Alarm::kSet, at + 10)}).size(), 1u);
  EXPECT_EQ(AlarmRetries(*db_, "x"), 0);
  EXPECT_EQ(AlarmRetries(*db_, "nothing"), 0);
}

TEST_F(ClusterAlarmsTest, StatusListsNodesLeasesAndObjects) {
  AddNode("a");
  AddNode("b");
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  ASSERT_EQ(AcquireObject(*db_, "y", "a"), 1);
  ASSERT_EQ(AcquireObject(*db_, "z", "b"), 1);
  SetAlarm("x", "a", 1, 1, 1000);
  ExpireLease("b");
  ClusterStatus status = ReadClusterStatus(*db_);
  ASSERT_EQ(status.nodes.size(), 2u);
  EXPECT_EQ(status.nodes[0].node, "a");
  EXPECT_EQ(status.nodes[0].addr, "http://a");
  EXPECT_TRUE(status.nodes[0].live);
  EXPECT_GT(status.nodes[0].lease_remaining_ms, 3500000);
  EXPECT_EQ(status.nodes[0].objects, 2);
  EXPECT_FALSE(status.nodes[1].live);
  EXPECT_LT(status.nodes[1].lease_remaining_ms, 0);
  EXPECT_EQ(status.nodes[1].objects, 1);
  EXPECT_EQ(status.owned_objects, 3);
  EXPECT_EQ(status.alarms, 1);
  EXPECT_GT(status.log_bytes, 0);
  EXPECT_FALSE(RequestDrain(*db_, "nobody"));
  EXPECT_FALSE(DrainRequested(*db_, "a"));
  EXPECT_TRUE(RequestDrain(*db_, "a"));
  EXPECT_TRUE(DrainRequested(*db_, "a"));
  EXPECT_TRUE(ReadClusterStatus(*db_).nodes[0].draining);
  ClearDrain(*db_, "a");
  EXPECT_FALSE(DrainRequested(*db_, "a"));
}

}  // namespace
}  // namespace dorm::cluster
