// A count of bytes held against a limit: the memory of one isolate that V8's heap limit does not
// see (ArrayBuffer contents, WebAssembly memories), so that one app cannot exhaust the process's
// memory through them.
//
// Thread-safe: V8 may free ArrayBuffers from a background thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <utility>

namespace dorm::js {

class ByteBudget {
 public:
  // `on_exhausted` runs on the reserving thread each time a reservation is refused; it must be
  // cheap and must not call into V8 other than to terminate execution.
  ByteBudget(size_t limit_bytes, std::function<void()> on_exhausted)
      : limit_(limit_bytes), on_exhausted_(std::move(on_exhausted)) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Counts `bytes` as held; false (and on_exhausted runs) if that would pass the limit, in which
  // case nothing is counted.
  bool Reserve(size_t bytes) {
    if (TryReserve(bytes)) return true;
    if (on_exhausted_) on_exhausted_();
    return false;
  }
  // The same without on_exhausted: for a caller that can free memory and try again.
  bool TryReserve(size_t bytes) {
    size_t now = used_.fetch_add(bytes) + bytes;
    if (now > limit_ || now < bytes) {
      used_.fetch_sub(bytes);
      return false;
    }
    return true;
  }
  // Gives back bytes a successful Reserve counted.
  void Release(size_t bytes) { used_.fetch_sub(bytes); }

  size_t used() const { return used_.load(); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  const std::function<void()> on_exhausted_;
  std::atomic<size_t> used_{0};
};

}  // namespace dorm::js
