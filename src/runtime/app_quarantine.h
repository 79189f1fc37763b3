// The apps a runtime process must not run, and until when: those whose code crashed a previous
// runtime process (see control/restart_policy.h). Their requests are answered 503 with
// Retry-After, their alarms wait until the quarantine ends, and their deploys are refused, so
// that one tenant cannot crash the server for the others in a loop.
//
// Filled before the runtime's threads start and never changed afterwards: any thread may read it
// without a lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/wall_clock.h"

namespace dorm::runtime {

class AppQuarantine {
 public:
  // `until_ms`: Unix time in milliseconds.
  void Add(const std::string& app, int64_t until_ms) { until_ms_[app] = until_ms; }

  // Until when (Unix ms) `app` is quarantined at `now_ms`; 0 when it is not.
  int64_t Until(const std::string& app, int64_t now_ms) const {
    if (until_ms_.empty()) return 0;
    auto it = until_ms_.find(app);
    return it != until_ms_.end() && it->second > now_ms ? it->second : 0;
  }

  bool empty() const { return until_ms_.empty(); }

  // The wall clock in Unix milliseconds: the time base of every `*_ms` argument.
  static int64_t NowMs() { return WallClockMs(); }

  // Whole seconds from `now_ms` to `until_ms`, at least 1 (for Retry-After and messages).
  static int64_t SecondsLeft(int64_t until_ms, int64_t now_ms) {
    int64_t left = (until_ms - now_ms + 999) / 1000;
    return left > 0 ? left : 1;
  }

  // The error given for the app's requests and deploys.
  static std::string Message(const std::string& app, int64_t until_ms, int64_t now_ms) {
    return "App '" + app + "' is suspended for " + std::to_string(SecondsLeft(until_ms, now_ms)) +
           " s: its code crashed the server's runtime process.";
  }

 private:
  std::unordered_map<std::string, int64_t> until_ms_;
};

}  // namespace dorm::runtime
