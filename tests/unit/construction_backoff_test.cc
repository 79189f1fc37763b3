#include "runtime/construction_backoff.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

using std::chrono::milliseconds;

TEST(ConstructionBackoff, DelaysDoubleUpToTheCapAndRefuseUntilThen) {
  ConstructionBackoff backoff;
  const auto t0 = ConstructionBackoff::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(backoff.Refusal("a", t0), nullptr);
  EXPECT_EQ(backoff.RecordFailure("a", "boom", t0), milliseconds(100));
  ASSERT_NE(backoff.Refusal("a", t0 + milliseconds(99)), nullptr);
  EXPECT_EQ(*backoff.Refusal("a", t0), "boom");
  EXPECT_EQ(backoff.Refusal("a", t0 + milliseconds(100)), nullptr);
  EXPECT_EQ(backoff.Refusal("b", t0), nullptr);
  EXPECT_EQ(backoff.RecordFailure("a", "boom2", t0), milliseconds(200));
  EXPECT_EQ(*backoff.Refusal("a", t0), "boom2");
  milliseconds last{};
  for (int i = 0; i < 40; ++i) last = backoff.RecordFailure("a", "x", t0);
  EXPECT_EQ(last, ConstructionBackoff::kMaxDelay);
}

TEST(ConstructionBackoff, ADeliveredEventClearsTheObject) {
  ConstructionBackoff backoff;
  const auto t0 = ConstructionBackoff::Clock::now();
  backoff.RecordFailure("a", "boom", t0);
  backoff.RecordFailure("a", "boom", t0);
  backoff.Clear("a");
  EXPECT_TRUE(backoff.empty());
  EXPECT_EQ(backoff.RecordFailure("a", "boom", t0), milliseconds(100));
}

TEST(ConstructionBackoff, MemoryIsBounded) {
  ConstructionBackoff backoff;
  const auto t0 = ConstructionBackoff::Clock::now();
  for (size_t i = 0; i < ConstructionBackoff::kMaxRemembered; ++i) {
    backoff.RecordFailure("o" + std::to_string(i), "x", t0);
  }
  EXPECT_EQ(backoff.size(), ConstructionBackoff::kMaxRemembered);
  backoff.RecordFailure("o0", "x", t0);  // known: nothing forgotten
  EXPECT_EQ(backoff.size(), ConstructionBackoff::kMaxRemembered);
  backoff.RecordFailure("new", "x", t0);
  EXPECT_LE(backoff.size(), ConstructionBackoff::kMaxRemembered);
  EXPECT_NE(backoff.Refusal("new", t0), nullptr);
}

}  // namespace
}  // namespace dorm::runtime
