// A clock cheap enough to read around every JavaScript turn and event.
//
// On this project's machines reading the thread CPU clock costs a system call (microseconds)
// and even the monotonic clock can, while the time-stamp counter is one instruction. Ticks are
// converted to nanoseconds with a rate calibrated against the monotonic clock. x86-64 only uses
// the counter (invariant on every CPU the server targets); elsewhere ticks are steady-clock
// nanoseconds.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace dorm {

class CycleClock {
 public:
  static uint64_t Now() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
  }
  // Nanoseconds per tick. The first call calibrates (sleeping up to 20 ms); later calls refine
  // the rate over the whole time since, and are cheap.
  static double NanosPerTick();
  static uint64_t ToNanos(uint64_t ticks) {
    return static_cast<uint64_t>(static_cast<double>(ticks) * NanosPerTick());
  }
};

}  // namespace dorm
