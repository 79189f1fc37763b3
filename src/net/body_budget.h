// The server-wide budget of request body bytes buffered at once, and one request's share of it.
// Bodies are read only after routing and access checks; while read, each one reserves the bytes
// it may hold (a body read whole, what it has buffered; a streamed upload, its fixed window), and
// a body that would pass the budget is refused (503) instead of growing memory. Reservations last
// until the request's response has been written, or a streamed upload has ended.
//
// BodyBudget is thread-safe; a BodyReservation belongs to one connection (one thread at a time).
#pragma once

#include <atomic>
#include <cstddef>

namespace dorm::net {

class BodyBudget {
 public:
  explicit BodyBudget(size_t limit) : limit_(limit) {}
  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  // Takes `bytes` if they fit under the limit; false (and nothing taken) otherwise.
  bool TryTake(size_t bytes) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void Give(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

// Bytes of one request held against a budget; gives them back when released or destroyed.
class BodyReservation {
 public:
  explicit BodyReservation(BodyBudget& budget) : budget_(budget) {}
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;
  ~BodyReservation() { Release(); }

  // Grows the reservation to `total` bytes; false (unchanged) when the budget cannot give them.
  bool GrowTo(size_t total) {
    if (total <= held_) return true;
    if (!budget_.TryTake(total - held_)) return false;
    held_ = total;
    return true;
  }
  void Release() {
    if (held_ > 0) budget_.Give(held_);
    held_ = 0;
  }
  size_t held() const { return held_; }

 private:
  BodyBudget& budget_;
  size_t held_ = 0;
};

}  // namespace dorm::net
