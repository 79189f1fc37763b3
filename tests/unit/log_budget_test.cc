// LogBudget: a burst is written whole, then lines pass at the rate; what is left out is counted
// and reported at most once per interval; 0 bytes per second is no bound.
#include "runtime/log_budget.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

LogBudgetLimits Limits(size_t per_second, size_t burst) {
  LogBudgetLimits limits;
  limits.bytes_per_second = per_second;
  limits.burst_bytes = burst;
  limits.report_every_ns = 10 * kSecond;
  return limits;
}

TEST(LogBudgetTest, WritesTheBurstThenLeavesLinesOut) {
  LogBudget budget(Limits(100, 1000), 0);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(budget.Admit(100, 0).write) << i;
  LogBudget::Decision next = budget.Admit(100, 0);
  EXPECT_FALSE(next.write);
  EXPECT_EQ(next.report_lines, 1u);  // the first line left out is reported at once
  EXPECT_EQ(next.report_bytes, 100u);
}

TEST(LogBudgetTest, RefillsAtTheRateUpToTheBurst) {
  LogBudget budget(Limits(100, 1000), 0);
  EXPECT_TRUE(budget.Admit(1000, 0).write);
  EXPECT_FALSE(budget.Admit(100, kSecond / 2).write);  // 50 bytes gained, not 100
  EXPECT_TRUE(budget.Admit(100, kSecond + kSecond / 2).write);
  // An hour later the bucket holds the burst, not an hour's worth.
  EXPECT_TRUE(budget.Admit(1000, 3600 * kSecond).write);
  EXPECT_FALSE(budget.Admit(1, 3600 * kSecond).write);
}

TEST(LogBudgetTest, ReportsWhatWasLeftOutOncePerInterval) {
  LogBudget budget(Limits(10, 10), 0);
  EXPECT_TRUE(budget.Admit(10, 0).write);
  EXPECT_EQ(budget.Admit(1000, kSecond).report_lines, 1u);
  for (int i = 0; i < 5; ++i) {
    LogBudget::Decision d = budget.Admit(1000, 2 * kSecond);
    EXPECT_FALSE(d.write);
    EXPECT_EQ(d.report_lines, 0u) << i;
  }
  LogBudget::Decision at_eleven = budget.Admit(1000, 11 * kSecond);
  EXPECT_FALSE(at_eleven.write);
  EXPECT_EQ(at_eleven.report_lines, 6u);
  EXPECT_EQ(at_eleven.report_bytes, 6000u);
  // Counted again from 0, and not reported before another 10 s.
  EXPECT_EQ(budget.Admit(1000, 15 * kSecond).report_lines, 0u);
  LogBudget::Decision at_21 = budget.Admit(1000, 21 * kSecond);
  EXPECT_EQ(at_21.report_lines, 2u);
  // Nothing left out since: nothing to report, however long after.
  EXPECT_EQ(budget.Admit(1, 100 * kSecond).report_lines, 0u);
}

TEST(LogBudgetTest, AClockReadEarlierOnAnotherThreadTakesNothingBack) {
  LogBudget budget(Limits(100, 100), 5 * kSecond);
  EXPECT_TRUE(budget.Admit(100, 5 * kSecond).write);
  EXPECT_FALSE(budget.Admit(1, 4 * kSecond).write);
  EXPECT_TRUE(budget.Admit(100, 6 * kSecond).write);
}

TEST(LogBudgetTest, ZeroBytesPerSecondIsNoBound) {
  LogBudget budget(Limits(0, 0), 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(budget.Admit(1 << 20, 0).write);
}

}  // namespace
}  // namespace dorm::runtime
