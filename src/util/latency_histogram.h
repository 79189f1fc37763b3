// A fixed-bucket histogram of durations, for the Prometheus endpoint.
//
// Thread-safe and lock-free: Observe() is a few relaxed atomic increments, so it may sit on a
// hot path; a reader may see a snapshot torn between concurrent observations (off by one), never
// a corrupted one.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace dorm {

class LatencyHistogram {
 public:
  // Upper bounds in seconds (Prometheus `le`), ascending; +Inf is implied.
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,   1,     2.5,  5,     10};

  void Observe(uint64_t nanos) {
    double seconds = static_cast<double>(nanos) / 1e9;
    size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  }

  struct Snapshot {
    std::array<uint64_t, kBounds.size() + 1> buckets{};  // not cumulative; last is +Inf
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  Snapshot Read() const {
    Snapshot s;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
      s.count += s.buckets[i];
    }
    s.sum_seconds = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_nanos_{0};
};

}  // namespace dorm
