#include "runtime/long_turn_limit.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr int64_t kMs = 1000 * 1000;

TEST(LongTurnLimit, DefaultIsHalfTheThreadsAndAtLeastOne) {
  EXPECT_EQ(LongTurnLimit::DefaultMaxThreads(1), 1u);
  EXPECT_EQ(LongTurnLimit::DefaultMaxThreads(2), 1u);
  EXPECT_EQ(LongTurnLimit::DefaultMaxThreads(3), 1u);
  EXPECT_EQ(LongTurnLimit::DefaultMaxThreads(8), 4u);
}

TEST(LongTurnLimit, OnlyLongTurnsOfTheSameAppOnOtherThreadsHoldBack) {
  LongTurnLimit limit(4, 1, milliseconds(50), seconds(10), milliseconds(0));
  int a = limit.Register(), b = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant"), other = LongTurnLimit::AppTag("other");
  ASSERT_NE(tenant, other);
  EXPECT_TRUE(limit.MayStart(b, tenant, 0));
  limit.Begin(a, tenant, 0);
  // Young turns do not count: an app of quick events uses every thread.
  EXPECT_TRUE(limit.MayStart(b, tenant, 49 * kMs));
  EXPECT_FALSE(limit.MayStart(b, tenant, 50 * kMs));
  // Other apps are never held back, and a thread never by its own turn.
  EXPECT_TRUE(limit.MayStart(b, other, 60 * kMs));
  EXPECT_TRUE(limit.MayStart(a, tenant, 60 * kMs));
  limit.End(a, 60 * kMs);
  EXPECT_TRUE(limit.MayStart(b, tenant, 60 * kMs));
}

TEST(LongTurnLimit, AfterALongTurnAnyTurnOfTheAppHoldsItsThread) {
  LongTurnLimit limit(4, 1, milliseconds(50), seconds(10), milliseconds(0));
  int a = limit.Register(), b = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant"), other = LongTurnLimit::AppTag("other");
  // Short turns leave no mark.
  limit.Begin(a, tenant, 0);
  limit.End(a, 10 * kMs);
  EXPECT_FALSE(limit.Heavy(tenant, 10 * kMs));
  limit.Begin(a, tenant, 20 * kMs);
  EXPECT_TRUE(limit.MayStart(b, tenant, 21 * kMs));
  limit.End(a, 80 * kMs);  // 60 ms: long
  EXPECT_TRUE(limit.Heavy(tenant, 80 * kMs));
  EXPECT_FALSE(limit.Heavy(other, 80 * kMs));
  // Now even a turn just begun holds its thread: it might run to the CPU limit.
  limit.Begin(a, tenant, 100 * kMs);
  EXPECT_FALSE(limit.MayStart(b, tenant, 100 * kMs));
  EXPECT_TRUE(limit.MayStart(b, other, 100 * kMs));
  limit.End(a, 101 * kMs);
  EXPECT_TRUE(limit.MayStart(b, tenant, 101 * kMs));
  // The mark lasts heavy_period after the long turn ended.
  int64_t expired = 80 * kMs + 10000 * kMs;
  limit.Begin(a, tenant, expired);
  EXPECT_TRUE(limit.MayStart(b, tenant, expired));
  EXPECT_FALSE(limit.Heavy(tenant, expired));
}

TEST(LongTurnLimit, AThreadStaysTheAppsForTheLingerAfterALongTurn) {
  LongTurnLimit limit(4, 1, milliseconds(50), seconds(10), milliseconds(500));
  int a = limit.Register(), b = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant"), other = LongTurnLimit::AppTag("other");
  limit.Begin(a, tenant, 0);
  limit.End(a, 100 * kMs);
  EXPECT_FALSE(limit.MayStart(b, tenant, 100 * kMs));
  EXPECT_FALSE(limit.MayStart(b, tenant, 599 * kMs));
  EXPECT_TRUE(limit.MayStart(a, tenant, 200 * kMs)) << "the app may go on where it lingers";
  EXPECT_TRUE(limit.MayStart(b, other, 200 * kMs));
  EXPECT_TRUE(limit.MayStart(b, tenant, 600 * kMs));
  // Other apps' turns there (which the linger is for) leave it in place; only time ends it.
  limit.Begin(a, tenant, 1000 * kMs);
  limit.End(a, 1100 * kMs);
  limit.Begin(a, other, 1200 * kMs);
  limit.End(a, 1201 * kMs);
  EXPECT_FALSE(limit.MayStart(b, tenant, 1201 * kMs));
  EXPECT_TRUE(limit.MayStart(b, tenant, 1600 * kMs));
}

TEST(LongTurnLimit, HoldsBackAtMaxThreads) {
  LongTurnLimit limit(8, 2, milliseconds(50), seconds(10), milliseconds(0));
  int s[4];
  for (int& slot : s) slot = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant");
  limit.Begin(s[0], tenant, 0);
  EXPECT_TRUE(limit.MayStart(s[2], tenant, 100 * kMs));
  limit.Begin(s[1], tenant, 10 * kMs);
  EXPECT_FALSE(limit.MayStart(s[2], tenant, 100 * kMs));
  EXPECT_FALSE(limit.MayStart(s[3], tenant, 100 * kMs));
  // A thread already holding one may go on (the turn that asks ends its own first).
  EXPECT_TRUE(limit.MayStart(s[1], tenant, 100 * kMs));
  limit.End(s[0], 100 * kMs);
  EXPECT_TRUE(limit.MayStart(s[2], tenant, 100 * kMs));
  // The app is heavy now (its turn on s[0] ran 100 ms): a new turn holds its thread at once.
  limit.Begin(s[0], tenant, 100 * kMs);
  EXPECT_FALSE(limit.MayStart(s[2], tenant, 100 * kMs));
}

TEST(LongTurnLimit, AThreadThatWaitedLongEnoughGoesBeforeTheThreadHoldingTheApp) {
  // A heavy app busy without pause on thread a; its objects on thread b wait.
  LongTurnLimit limit(4, 1, milliseconds(50), seconds(10), milliseconds(200), milliseconds(200));
  int a = limit.Register(), b = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant"), other = LongTurnLimit::AppTag("other");
  limit.Begin(a, tenant, 0);
  limit.End(a, 60 * kMs);  // long: heavy, and a lingers
  int64_t t = 60 * kMs;
  ASSERT_FALSE(limit.MayStart(b, tenant, t));
  limit.NoteRefused(b, tenant, t);
  const int64_t b_since = t;
  // a goes on with short turns while b's wait is younger than 200 ms; b retries every 10 ms.
  for (; t < b_since + 200 * kMs; t += 10 * kMs) {
    ASSERT_TRUE(limit.MayStart(a, tenant, t)) << (t - b_since) / kMs << " ms";
    limit.Begin(a, tenant, t);
    ASSERT_FALSE(limit.MayStart(b, tenant, t + kMs));
    limit.NoteRefused(b, tenant, t + kMs);
    limit.End(a, t + 2 * kMs);
  }
  // Now a steps aside (and waits in turn); other apps are not concerned.
  EXPECT_FALSE(limit.MayStart(a, tenant, t));
  EXPECT_TRUE(limit.MayStart(a, other, t));
  limit.NoteRefused(a, tenant, t);
  // a's linger no longer keeps the app from b.
  ASSERT_TRUE(limit.MayStart(b, tenant, t + kMs));
  limit.Begin(b, tenant, t + kMs);
  EXPECT_FALSE(limit.MayStart(a, tenant, t + 2 * kMs)) << "b holds the app now";
  limit.End(b, t + 3 * kMs);
  // Between b's turns too: let in after waiting its turn, it keeps the app for 200 ms.
  EXPECT_FALSE(limit.MayStart(a, tenant, t + 5 * kMs));
  limit.NoteRefused(a, tenant, t + 5 * kMs);
  // b goes on until a, asking every 10 ms, has waited 200 ms in turn; then they swap again.
  for (int64_t u = t + 10 * kMs; u < t + 200 * kMs; u += 10 * kMs) {
    limit.NoteRefused(a, tenant, u);
    EXPECT_TRUE(limit.MayStart(b, tenant, u + kMs)) << (u - t) / kMs << " ms";
  }
  limit.NoteRefused(a, tenant, t + 200 * kMs);
  EXPECT_FALSE(limit.MayStart(b, tenant, t + 201 * kMs));
  limit.NoteRefused(b, tenant, t + 201 * kMs);
  EXPECT_TRUE(limit.MayStart(a, tenant, t + 202 * kMs));
}

TEST(LongTurnLimit, AThreadWhoseTurnsRunLongStepsAsideToo) {
  LongTurnLimit limit(4, 1, milliseconds(50), seconds(10), milliseconds(500), milliseconds(200));
  int a = limit.Register(), b = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant");
  limit.Begin(a, tenant, 0);
  limit.End(a, 60 * kMs);  // long: heavy, and a lingers
  // a runs 60 ms turns back to back, each renewing its linger; b asks every 10 ms.
  int64_t t = 60 * kMs;
  for (; t < 260 * kMs; t += 60 * kMs) {
    ASSERT_TRUE(limit.MayStart(a, tenant, t)) << t / kMs << " ms";
    limit.Begin(a, tenant, t);
    for (int64_t u = t; u < t + 60 * kMs; u += 10 * kMs) {
      ASSERT_FALSE(limit.MayStart(b, tenant, u)) << u / kMs << " ms";
      limit.NoteRefused(b, tenant, u);
    }
    limit.End(a, t + 60 * kMs);
  }
  // b has waited 240 ms: a steps aside though it lingers, and its linger no longer holds b back.
  EXPECT_FALSE(limit.MayStart(a, tenant, t));
  limit.NoteRefused(a, tenant, t);
  EXPECT_TRUE(limit.MayStart(b, tenant, t));
}

TEST(LongTurnLimit, AWaiterThatStopsAskingIsForgotten) {
  LongTurnLimit limit(4, 1, milliseconds(50), seconds(10), milliseconds(0), milliseconds(50));
  int a = limit.Register(), b = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant");
  limit.NoteRefused(b, tenant, 0);
  // Waited long enough to go first, had it still been asking.
  EXPECT_FALSE(limit.MayStart(a, tenant, 60 * kMs));
  // Not refused again for twice long_after: its work went, or its thread is busy elsewhere.
  EXPECT_TRUE(limit.MayStart(a, tenant, 100 * kMs));
  // A waiter that starts a turn of the app waits no more.
  limit.NoteRefused(b, tenant, 200 * kMs);
  limit.Begin(b, tenant, 201 * kMs);
  limit.End(b, 202 * kMs);
  EXPECT_TRUE(limit.MayStart(a, tenant, 300 * kMs));
}

TEST(LongTurnLimit, ThreadsPastTheCapacityAreNeitherLimitedNorCounted) {
  LongTurnLimit limit(1, 1);
  int a = limit.Register();
  int b = limit.Register();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, -1);
  uint64_t tenant = LongTurnLimit::AppTag("tenant");
  limit.Begin(b, tenant, 0);  // ignored
  EXPECT_TRUE(limit.MayStart(a, tenant, 1000 * kMs));
  limit.Begin(a, tenant, 0);
  EXPECT_TRUE(limit.MayStart(b, tenant, 1000 * kMs));
  limit.End(b, 1000 * kMs);  // ignored
}

TEST(LongTurnLimit, TagIsNeverZero) {
  // 0 marks an idle slot; any app name, including the empty one, gets another tag.
  EXPECT_NE(LongTurnLimit::AppTag(""), 0u);
  EXPECT_EQ(LongTurnLimit::AppTag("app"), LongTurnLimit::AppTag("app"));
}

TEST(LongTurnLimit, AThreadIsBusyDuringALongTurnAHeavyAppsTurnAndTheLinger) {
  LongTurnLimit limit(4, 1, milliseconds(50), seconds(10), milliseconds(500));
  int a = limit.Register();
  uint64_t tenant = LongTurnLimit::AppTag("tenant"), other = LongTurnLimit::AppTag("other");
  EXPECT_FALSE(limit.Busy(a, 0));
  EXPECT_FALSE(limit.Busy(-1, 0));
  EXPECT_FALSE(limit.Busy(7, 0));  // never registered
  limit.Begin(a, tenant, 0);
  EXPECT_FALSE(limit.Busy(a, 49 * kMs));  // a young turn of an app that never ran long
  EXPECT_TRUE(limit.Busy(a, 50 * kMs));
  limit.End(a, 100 * kMs);
  EXPECT_TRUE(limit.Busy(a, 599 * kMs));  // the linger
  EXPECT_FALSE(limit.Busy(a, 600 * kMs));
  // The tenant is heavy now: even its young turns make the thread busy; other apps' do not.
  limit.Begin(a, tenant, 1000 * kMs);
  EXPECT_TRUE(limit.Busy(a, 1001 * kMs));
  limit.End(a, 1002 * kMs);
  EXPECT_FALSE(limit.Busy(a, 1002 * kMs));
  limit.Begin(a, other, 1003 * kMs);
  EXPECT_FALSE(limit.Busy(a, 1004 * kMs));
  limit.End(a, 1005 * kMs);
  // Once the heavy period is over, the tenant's young turns are not busy either.
  limit.Begin(a, tenant, 20000 * kMs);
  EXPECT_FALSE(limit.Busy(a, 20001 * kMs));
}

}  // namespace
}  // namespace dorm::runtime
