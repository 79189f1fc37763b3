// What one app's calls to its objects hold in native memory outside every heap limit. The
// arguments of an RPC call wait in the caller's output gate, between threads and in the callee's
// input queue: a caller that made calls faster than a slow callee took them held gigabytes
// (100,000 calls of 10 KB twice: 2 GiB). Each call is charged, per app and runtime thread of the
// caller, from the moment it is made until it is delivered (or dropped); past the bound a call
// throws kRpcInFlightMessage instead of being made. A stub's fetch() request waits the same way,
// and once delivered its body stays native memory (the Request's bytes, not copied into the
// heap) while the callee's handler runs: a callee that never answered held every body sent to it
// (8,000 of 100 KB: 800 MiB). Its bytes are charged on a counter of their own from the moment it
// is made until its handler settles (or it is dropped); past the bound it throws
// kFetchInFlightMessage.
//
// Thread-safe: a charge is made on the caller's thread and released on whichever thread drops the
// call.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

namespace dorm::runtime {

// Dorm's own bound (workerd's outstanding calls are bounded only by the process's memory), as
// large as --max-outbound-mb-per-app's default for fetch() bodies.
inline constexpr size_t kMaxRpcBytesInFlight = size_t{256} << 20;
// Counted for every call on top of its arguments: its bookkeeping on the way.
inline constexpr size_t kRpcCallCostBytes = 1024;

inline constexpr char kRpcInFlightMessage[] =
    "Too many RPC calls are on their way to their callees: their arguments hold over 256 MiB on "
    "this thread. Await some before making more.";
inline constexpr char kFetchInFlightMessage[] =
    "Too many stub fetch() requests are unanswered by their callees: their bodies hold over 256 "
    "MiB on this thread. Await some before making more.";

class RpcCharge {
 public:
  // Counts `bytes` on `counter` (an app's, on one thread); null, counting nothing, when that would
  // pass kMaxRpcBytesInFlight. The bytes are given back when the last copy of the result is
  // destroyed.
  static std::shared_ptr<const RpcCharge> Take(std::shared_ptr<std::atomic<size_t>> counter,
                                               size_t bytes) {
    const size_t now = counter->fetch_add(bytes) + bytes;
    if (now > kMaxRpcBytesInFlight || now < bytes) {
      counter->fetch_sub(bytes);
      return nullptr;
    }
    return std::shared_ptr<const RpcCharge>(new RpcCharge(std::move(counter), bytes));
  }

  ~RpcCharge() { counter_->fetch_sub(bytes_); }
  RpcCharge(const RpcCharge&) = delete;
  RpcCharge& operator=(const RpcCharge&) = delete;

 private:
  RpcCharge(std::shared_ptr<std::atomic<size_t>> counter, size_t bytes)
      : counter_(std::move(counter)), bytes_(bytes) {}

  const std::shared_ptr<std::atomic<size_t>> counter_;
  const size_t bytes_;
};

}  // namespace dorm::runtime
