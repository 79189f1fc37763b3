#include "control/restart_policy.h"

#include <gtest/gtest.h>

namespace dorm::control {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kT0 = 1'800'000'000'000;  // any Unix time
constexpr int64_t kLongUptime = 3600 * kSecond;

TEST(RestartPolicy, AnAttributedCrashSuspendsTheAppForTenSeconds) {
  RestartPolicy policy;
  auto decision = policy.OnCrash("bad", kT0, kLongUptime);
  EXPECT_EQ(decision.quarantine_until_ms, kT0 + 10 * kSecond);
  EXPECT_EQ(decision.restart_delay_ms, 0);
  auto quarantined = policy.Quarantined(kT0 + 1);
  ASSERT_EQ(quarantined.size(), 1u);
  EXPECT_EQ(quarantined.at("bad"), kT0 + 10 * kSecond);
  EXPECT_TRUE(policy.Quarantined(kT0 + 10 * kSecond).empty());
}

TEST(RestartPolicy, AnUnattributedCrashSuspendsNoApp) {
  RestartPolicy policy;
  auto decision = policy.OnCrash("", kT0, kLongUptime);
  EXPECT_EQ(decision.quarantine_until_ms, 0);
  EXPECT_EQ(decision.restart_delay_ms, 0);
  EXPECT_TRUE(policy.Quarantined(kT0).empty());
}

TEST(RestartPolicy, EachFurtherCrashWithinAnHourDoublesTheSuspensionUpToFifteenMinutes) {
  RestartPolicy policy;
  int64_t now = kT0;
  const int64_t expected[] = {10, 20, 40, 80, 160, 320, 640, 900, 900};
  for (int64_t seconds : expected) {
    auto decision = policy.OnCrash("bad", now, kLongUptime);
    EXPECT_EQ(decision.quarantine_until_ms, now + seconds * kSecond) << seconds;
    // The next crash comes right when the suspension ends.
    now = decision.quarantine_until_ms;
  }
}

TEST(RestartPolicy, CrashesOlderThanAnHourAreForgotten) {
  RestartPolicy policy;
  policy.OnCrash("bad", kT0, kLongUptime);
  policy.OnCrash("bad", kT0 + 30 * kMinute, kLongUptime);
  // The first crash is forgotten, the second is not: 20 s.
  auto decision = policy.OnCrash("bad", kT0 + 61 * kMinute, kLongUptime);
  EXPECT_EQ(decision.quarantine_until_ms, kT0 + 61 * kMinute + 20 * kSecond);
  // Both earlier ones are forgotten: 10 s again.
  decision = policy.OnCrash("bad", kT0 + 200 * kMinute, kLongUptime);
  EXPECT_EQ(decision.quarantine_until_ms, kT0 + 200 * kMinute + 10 * kSecond);
}

TEST(RestartPolicy, AppsAreSuspendedIndependently) {
  RestartPolicy policy;
  policy.OnCrash("a", kT0, kLongUptime);
  policy.OnCrash("a", kT0 + kSecond, kLongUptime);
  auto b = policy.OnCrash("b", kT0 + 2 * kSecond, kLongUptime);
  EXPECT_EQ(b.quarantine_until_ms, kT0 + 12 * kSecond);
  auto quarantined = policy.Quarantined(kT0 + 2 * kSecond);
  ASSERT_EQ(quarantined.size(), 2u);
  EXPECT_EQ(quarantined.at("a"), kT0 + kSecond + 20 * kSecond);
  EXPECT_EQ(quarantined.at("b"), kT0 + 12 * kSecond);
}

TEST(RestartPolicy, ASuspensionIsNeverShortenedByALaterCrash) {
  RestartPolicy policy;
  for (int i = 0; i < 6; ++i) policy.OnCrash("bad", kT0 + i, kLongUptime);  // up to 320 s
  int64_t until = policy.Quarantined(kT0 + 10).at("bad");
  EXPECT_EQ(until, kT0 + 5 + 320 * kSecond);
}

TEST(RestartPolicy, QuickCrashesInARowDelayTheRestartUpToTenSeconds) {
  RestartPolicy policy;
  const int64_t expected[] = {250, 500, 1000, 2000, 4000, 8000, 10000, 10000};
  int64_t now = kT0;
  for (int64_t delay : expected) {
    EXPECT_EQ(policy.OnCrash("", now, 100).restart_delay_ms, delay);
    now += kMinute;
  }
  // A process that ran long enough restarts at once, and the next quick crash starts over.
  EXPECT_EQ(policy.OnCrash("", now, 10 * kSecond).restart_delay_ms, 0);
  EXPECT_EQ(policy.OnCrash("", now, 9999).restart_delay_ms, 250);
}

}  // namespace
}  // namespace dorm::control
