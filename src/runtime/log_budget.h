// LogBudget: how much of the server log one app may fill: a token bucket of bytes per second with
// a burst allowance. Lines past it are left out and counted; the count is handed back for one
// notice line at the first line left out, then at most once per report interval.
//
// Without it, an app's `console.log` in a loop (or a loop of rejected promises) writes to the
// server log as fast as its CPU limit lets it, filling the log and the disk every app shares.
//
// Thread-safe: Admit may be called from any thread (one mutex, held for a few arithmetic steps).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

namespace dorm::runtime {

struct LogBudgetLimits {
  // Bytes the bucket gains per second; 0: no bound (every line is written).
  size_t bytes_per_second = size_t{128} << 10;
  // What the bucket holds when full: a quiet app may write this much at once.
  size_t burst_bytes = size_t{2} << 20;
  // Dropped lines are reported at most this often.
  uint64_t report_every_ns = 10'000'000'000ull;
};

class LogBudget {
 public:
  struct Decision {
    bool write = true;          // whether this line is written
    uint64_t report_lines = 0;  // when not 0: lines left out since the last report, to report
    uint64_t report_bytes = 0;  // and their bytes
  };

  // `now_ns` (any monotonic origin) is when the budget starts, full.
  LogBudget(LogBudgetLimits limits, uint64_t now_ns);
  LogBudget(const LogBudget&) = delete;
  LogBudget& operator=(const LogBudget&) = delete;

  // Takes `bytes` for one line at `now_ns` (monotonic, the same origin as the constructor's): the
  // line is written if the bucket holds them, else it is counted as left out. A report is due when
  // lines were left out and there was no report yet, or the last is at least report_every_ns old
  // (so the first line of a flood is reported at once); the counts then start again from 0.
  // Never throws.
  Decision Admit(size_t bytes, uint64_t now_ns);

  const LogBudgetLimits& limits() const { return limits_; }

 private:
  const LogBudgetLimits limits_;
  std::mutex mutex_;
  double tokens_;             // bytes that may be written now
  uint64_t refilled_ns_;      // when tokens_ was last brought up to date
  uint64_t reported_ns_ = 0;  // the last report
  bool reported_ = false;     // whether there was one
  uint64_t dropped_lines_ = 0;
  uint64_t dropped_bytes_ = 0;
};

}  // namespace dorm::runtime
