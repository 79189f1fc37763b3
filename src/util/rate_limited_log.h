// A log line for a condition that may recur very often (accept failures at the descriptor limit,
// refused connections): at most one line per interval, saying how many times it happened since
// the previous line, so that a flood of events cannot flood the log.
//
// Thread-safe. Never throws.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "util/log.h"

namespace dorm {

class RateLimitedLog {
 public:
  RateLimitedLog(LogLevel level, std::chrono::steady_clock::duration interval)
      : level_(level), interval_(interval) {}

  // Counts one occurrence. Writes "<message> (N times in the last S s)" (or just the message for
  // the first occurrence after a quiet interval) when `interval` has passed since the last line;
  // otherwise only counts.
  void Note(const std::string& message);

 private:
  const LogLevel level_;
  const std::chrono::steady_clock::duration interval_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_line_{};
  bool logged_once_ = false;
  unsigned long long unlogged_ = 0;
};

}  // namespace dorm
