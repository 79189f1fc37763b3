// What the supervisor (control/supervisor.h) does after the runtime process ended by a signal:
// how long it waits before starting a new one, and which apps that process must not run.
//
// - An app whose code was running on the crashing thread is quarantined: 10 s for its first crash
//   within an hour, doubled for each further one in that hour, at most 15 minutes. One tenant can
//   therefore take the server down at most a few times an hour, and never in a loop.
// - The restart itself waits only when the crashed process had run for less than 10 s: 250 ms,
//   doubled for each such crash in a row, at most 10 s, so that a crash at start-up (whatever its
//   cause) does not spin a core.
//
// Pure: times are passed in (Unix milliseconds), nothing is read or written. Not thread-safe (the
// supervisor is single-threaded).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dorm::control {

class RestartPolicy {
 public:
  struct Decision {
    int64_t restart_delay_ms = 0;
    // When the crashing app's quarantine ends; 0 when the crash was not attributed to an app.
    int64_t quarantine_until_ms = 0;
  };

  static constexpr int64_t kFirstQuarantineMs = 10'000;
  static constexpr int64_t kMaxQuarantineMs = 15 * 60'000;
  static constexpr int64_t kCrashMemoryMs = 60 * 60'000;
  static constexpr int64_t kQuickCrashMs = 10'000;
  static constexpr int64_t kFirstRestartDelayMs = 250;
  static constexpr int64_t kMaxRestartDelayMs = 10'000;

  // A runtime process that had run for `uptime_ms` crashed at `now_ms`, while the crashing thread
  // ran `app`'s code ("" if it ran none).
  Decision OnCrash(const std::string& app, int64_t now_ms, int64_t uptime_ms);

  // The apps still quarantined at `now_ms`, with the end of each quarantine.
  std::map<std::string, int64_t> Quarantined(int64_t now_ms) const;

 private:
  struct AppCrashes {
    std::vector<int64_t> times_ms;  // within the last kCrashMemoryMs
    int64_t quarantine_until_ms = 0;
  };
  std::map<std::string, AppCrashes> apps_;
  int quick_crashes_in_a_row_ = 0;
};

}  // namespace dorm::control
