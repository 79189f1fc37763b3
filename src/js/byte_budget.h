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
  // `on_exhausted` runs on the reserving thread each time a Reserve is refused; it must be cheap
  // and must not call into V8 other than to terminate execution. `on_deferred_refusal` runs when a
  // ReserveOrDefer is refused, on the reserving thread, possibly inside V8's allocation of an
  // ArrayBuffer; it must be cheap and may only ask V8 for an interrupt (Isolate::RequestInterrupt).
  ByteBudget(size_t limit_bytes, std::function<void()> on_exhausted,
             std::function<void()> on_deferred_refusal = nullptr)
      : limit_(limit_bytes),
        on_exhausted_(std::move(on_exhausted)),
        on_deferred_refusal_(std::move(on_deferred_refusal)) {}
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
  // For an allocator whose caller frees memory and asks again when refused (V8 collects garbage
  // and retries a refused ArrayBuffer up to three times): the same as TryReserve, but a refusal is
  // left pending (and on_deferred_refusal runs) instead of being final, and the next reservation
  // granted here clears it. Whoever settles the outcome calls TakePendingRefusal: a refusal still
  // pending then was final. Call from one thread at a time (the isolate's).
  bool ReserveOrDefer(size_t bytes) {
    if (TryReserve(bytes)) {
      refusal_pending_.store(false);
      return true;
    }
    refusal_pending_.store(true);
    if (on_deferred_refusal_) on_deferred_refusal_();
    return false;
  }
  // Whether a ReserveOrDefer refusal is pending; clears it.
  bool TakePendingRefusal() { return refusal_pending_.exchange(false); }

  // Gives back bytes a successful Reserve counted.
  void Release(size_t bytes) { used_.fetch_sub(bytes); }

  size_t used() const { return used_.load(); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  const std::function<void()> on_exhausted_;
  const std::function<void()> on_deferred_refusal_;
  std::atomic<size_t> used_{0};
  std::atomic<bool> refusal_pending_{false};
};

}  // namespace dorm::js
