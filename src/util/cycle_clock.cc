#include "util/cycle_clock.h"

#include <atomic>
#include <thread>

namespace dorm {

namespace {
struct Origin {
  uint64_t ticks;
  std::chrono::steady_clock::time_point time;
};
}  // namespace

double CycleClock::NanosPerTick() {
#if defined(__x86_64__)
  static const Origin origin{Now(), std::chrono::steady_clock::now()};
  static std::atomic<double> rate{0};
  auto elapsed = std::chrono::steady_clock::now() - origin.time;
  // Over a long baseline the rate is exact to a few parts per million; refresh it at most once
  // a second (the measurement itself reads the slow clock).
  static std::atomic<int64_t> refreshed_at{0};
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  double current = rate.load(std::memory_order_relaxed);
  if (current > 0 && now_ns - refreshed_at.load(std::memory_order_relaxed) < 1000000000) {
    return current;
  }
  if (elapsed < std::chrono::milliseconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20) - elapsed);
    elapsed = std::chrono::steady_clock::now() - origin.time;
    now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  }
  uint64_t ticks = Now() - origin.ticks;
  if (ticks == 0) return 1.0;
  double measured = static_cast<double>(now_ns) / static_cast<double>(ticks);
  rate.store(measured, std::memory_order_relaxed);
  refreshed_at.store(now_ns, std::memory_order_relaxed);
  return measured;
#else
  return 1.0;
#endif
}

}  // namespace dorm
