// How late a thread's periodic timer fires: how long events wait for the thread. Reports the
// largest lateness of the current and the previous five-second window, so that a reading never
// shows a spike that ended more than ten seconds ago, nor misses one that ended just now.
//
// Pure: the caller passes the time. Threading: one thread.
#pragma once

#include <algorithm>
#include <chrono>

namespace dorm::runtime {

class LoopLagMeter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kWindow{5};

  explicit LoopLagMeter(Clock::time_point now) : window_start_(now) {}

  // The periodic timer meant to fire at `expected` fired at `now`.
  void Record(Clock::time_point expected, Clock::time_point now) {
    if (now - window_start_ > kWindow) {
      previous_max_ = current_max_;
      current_max_ = {};
      window_start_ = now;
    }
    current_max_ = std::max(current_max_, now - expected);
  }
  Clock::duration Lag() const { return std::max(current_max_, previous_max_); }

 private:
  Clock::time_point window_start_;
  Clock::duration current_max_{}, previous_max_{};
};

}  // namespace dorm::runtime
