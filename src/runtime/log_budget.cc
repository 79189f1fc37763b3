#include "runtime/log_budget.h"

#include <algorithm>

namespace dorm::runtime {

LogBudget::LogBudget(LogBudgetLimits limits, uint64_t now_ns)
    : limits_(limits), tokens_(static_cast<double>(limits.burst_bytes)), refilled_ns_(now_ns) {}

LogBudget::Decision LogBudget::Admit(size_t bytes, uint64_t now_ns) {
  Decision decision;
  if (limits_.bytes_per_second == 0) return decision;
  std::lock_guard<std::mutex> lock(mutex_);
  // Clocks read on different threads may be a little out of order: time never runs backwards here.
  if (now_ns > refilled_ns_) {
    const double gained = static_cast<double>(now_ns - refilled_ns_) / 1e9 *
                          static_cast<double>(limits_.bytes_per_second);
    tokens_ = std::min(tokens_ + gained, static_cast<double>(limits_.burst_bytes));
    refilled_ns_ = now_ns;
  }
  const double cost = static_cast<double>(bytes);
  if (tokens_ >= cost) {
    tokens_ -= cost;
  } else {
    decision.write = false;
    ++dropped_lines_;
    dropped_bytes_ += bytes;
  }
  if (dropped_lines_ > 0 && (!reported_ || (now_ns >= reported_ns_ &&
                                            now_ns - reported_ns_ >= limits_.report_every_ns))) {
    decision.report_lines = dropped_lines_;
    decision.report_bytes = dropped_bytes_;
    dropped_lines_ = 0;
    dropped_bytes_ = 0;
    reported_ns_ = now_ns;
    reported_ = true;
  }
  return decision;
}

}  // namespace dorm::runtime
