#include "util/rate_limited_log.h"

namespace dorm {

void RateLimitedLog::Note(const std::string& message) {
  auto now = std::chrono::steady_clock::now();
  unsigned long long count;
  std::chrono::steady_clock::duration since;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++unlogged_;
    since = now - last_line_;
    if (logged_once_ && since < interval_) return;
    count = unlogged_;
    unlogged_ = 0;
    last_line_ = now;
    logged_once_ = true;
  }
  if (count <= 1) {
    Log(level_, message);
    return;
  }
  long long seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  try {
    Log(level_, message + " (" + std::to_string(count) + " times in the last " +
                    std::to_string(seconds) + " s)");
  } catch (...) {
    // Out of memory while building the line: the line is dropped, the count is not re-added.
  }
}

}  // namespace dorm
