#include "control/restart_policy.h"

#include <algorithm>

namespace dorm::control {

RestartPolicy::Decision RestartPolicy::OnCrash(const std::string& app, int64_t now_ms,
                                               int64_t uptime_ms) {
  Decision decision;
  if (uptime_ms < kQuickCrashMs) {
    int64_t delay = kFirstRestartDelayMs;
    for (int i = 0; i < quick_crashes_in_a_row_ && delay < kMaxRestartDelayMs; ++i) delay *= 2;
    decision.restart_delay_ms = std::min(delay, kMaxRestartDelayMs);
    ++quick_crashes_in_a_row_;
  } else {
    quick_crashes_in_a_row_ = 0;
  }
  // Apps with nothing recent to remember are dropped, so the map stays small.
  for (auto it = apps_.begin(); it != apps_.end();) {
    auto& times = it->second.times_ms;
    times.erase(std::remove_if(times.begin(), times.end(),
                               [&](int64_t t) { return now_ms - t >= kCrashMemoryMs; }),
                times.end());
    if (times.empty() && it->second.quarantine_until_ms <= now_ms) {
      it = apps_.erase(it);
    } else {
      ++it;
    }
  }
  if (app.empty()) return decision;
  AppCrashes& crashes = apps_[app];
  crashes.times_ms.push_back(now_ms);
  int64_t length = kFirstQuarantineMs;
  for (size_t i = 1; i < crashes.times_ms.size() && length < kMaxQuarantineMs; ++i) length *= 2;
  length = std::min(length, kMaxQuarantineMs);
  crashes.quarantine_until_ms = std::max(crashes.quarantine_until_ms, now_ms + length);
  decision.quarantine_until_ms = crashes.quarantine_until_ms;
  return decision;
}

std::map<std::string, int64_t> RestartPolicy::Quarantined(int64_t now_ms) const {
  std::map<std::string, int64_t> result;
  for (const auto& [app, crashes] : apps_) {
    if (crashes.quarantine_until_ms > now_ms) result[app] = crashes.quarantine_until_ms;
  }
  return result;
}

}  // namespace dorm::control
