#include "runtime/eviction_policy.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Verdict = EvictionPolicy::Verdict;

EvictionPolicy Policy() { return EvictionPolicy(seconds(70), seconds(10), seconds(30)); }

ObjectActivity Idle(std::chrono::steady_clock::duration idle_for) {
  ObjectActivity a;
  a.idle_for = idle_for;
  return a;
}

TEST(EvictionPolicy, AnObjectLeavesAfterTheIdlePeriod) {
  EvictionPolicy policy = Policy();
  EXPECT_EQ(policy.Judge(Idle(seconds(69))), Verdict::kRecentlyActive);
  EXPECT_EQ(policy.Judge(Idle(seconds(70))), Verdict::kEvict);
  EXPECT_TRUE(policy.CanEvict(Idle(seconds(500))));
}

TEST(EvictionPolicy, HibernatableSocketsLetAnObjectLeaveSooner) {
  EvictionPolicy policy = Policy();
  ObjectActivity a = Idle(seconds(10));
  EXPECT_EQ(policy.Judge(a), Verdict::kRecentlyActive);
  a.has_web_sockets = true;
  EXPECT_EQ(policy.Judge(a), Verdict::kEvict);
  a.idle_for = seconds(9);
  EXPECT_EQ(policy.Judge(a), Verdict::kRecentlyActive);
}

TEST(EvictionPolicy, StandardSocketsPinTheObject) {
  EvictionPolicy policy = Policy();
  ObjectActivity a = Idle(seconds(1000));
  a.has_web_sockets = true;
  a.web_sockets_pin = true;
  EXPECT_EQ(policy.Judge(a), Verdict::kPinnedBySocket);
}

TEST(EvictionPolicy, AnAlarmDueSoonKeepsTheObject) {
  EvictionPolicy policy = Policy();
  ObjectActivity a = Idle(seconds(1000));
  a.alarm_due_soon = true;
  EXPECT_EQ(policy.Judge(a), Verdict::kAlarmDueSoon);
}

TEST(EvictionPolicy, WorkInProgressKeepsTheObjectHoweverLongIdle) {
  EvictionPolicy policy = Policy();
  ObjectActivity a = Idle(seconds(100000));
  a.work_in_progress = true;
  EXPECT_EQ(policy.Judge(a), Verdict::kBusy);
  a.has_web_sockets = true;
  EXPECT_EQ(policy.Judge(a), Verdict::kBusy);
}

TEST(EvictionPolicy, IdleConnectionsCloseUnlessBusyOrAnAlarmIsDue) {
  EvictionPolicy policy = Policy();
  EXPECT_FALSE(policy.CanCloseConnection({seconds(29), false, false}));
  EXPECT_TRUE(policy.CanCloseConnection({seconds(30), false, false}));
  EXPECT_FALSE(policy.CanCloseConnection({seconds(300), true, false}));
  EXPECT_FALSE(policy.CanCloseConnection({seconds(300), false, true}));
  EXPECT_TRUE(EvictionPolicy::CanCloseUnderPressure({milliseconds(0), false, true}));
  EXPECT_FALSE(EvictionPolicy::CanCloseUnderPressure({seconds(300), true, false}));
}

TEST(EvictionPolicy, ReopenedConnectionsStayFiveTimesLonger) {
  EvictionPolicy policy = Policy();
  ConnectionActivity reopened{seconds(30), false, false, true};
  EXPECT_FALSE(policy.CanCloseConnection(reopened));
  reopened.unused_for = seconds(149);
  EXPECT_FALSE(policy.CanCloseConnection(reopened));
  reopened.unused_for = seconds(150);
  EXPECT_TRUE(policy.CanCloseConnection(reopened));
  reopened.busy = true;
  EXPECT_FALSE(policy.CanCloseConnection(reopened));
}

TEST(EvictionPolicy, SweepsAtLeastTwicePerIdlePeriodAndAtMostEveryQuarterSecond) {
  EXPECT_EQ(Policy().SweepPeriod(), milliseconds(250));
  EvictionPolicy fast(milliseconds(200), milliseconds(100), milliseconds(100));
  EXPECT_EQ(fast.SweepPeriod(), milliseconds(200));
  EvictionPolicy instant(milliseconds(0), milliseconds(0), milliseconds(0));
  EXPECT_EQ(instant.SweepPeriod(), milliseconds(100));
}

}  // namespace
}  // namespace dorm::runtime
