#include "runtime/loop_lag_meter.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LoopLagMeter, ReportsTheLargestLagOfTheLastTwoWindows) {
  const auto t0 = LoopLagMeter::Clock::time_point{} + std::chrono::hours(1);
  LoopLagMeter meter(t0);
  EXPECT_EQ(meter.Lag(), LoopLagMeter::Clock::duration{});
  meter.Record(t0 + seconds(1), t0 + seconds(1) + milliseconds(300));
  meter.Record(t0 + seconds(2), t0 + seconds(2) + milliseconds(10));
  EXPECT_EQ(meter.Lag(), milliseconds(300));
  // Next window: the spike is still reported.
  meter.Record(t0 + seconds(6), t0 + seconds(6) + milliseconds(5));
  EXPECT_EQ(meter.Lag(), milliseconds(300));
  // The window after: it is forgotten.
  meter.Record(t0 + seconds(12), t0 + seconds(12) + milliseconds(7));
  EXPECT_EQ(meter.Lag(), milliseconds(7));
}

}  // namespace
}  // namespace dorm::runtime
