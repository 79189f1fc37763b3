// The memory of a compression library's state (zlib, Brotli), charged to an app's memory budget
// block by block, so that the streams an app opens cannot hold memory past its limit. Each block
// keeps its size in front of it, since the libraries' free callbacks are given only the address.
//
// Not thread-safe: one thread uses a codec's memory (the budget itself is thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>

#include "js/byte_budget.h"

namespace dorm::runtime {

class CodecMemory {
 public:
  // What the allocations report: `collect` runs when the budget refuses one, before it is asked
  // once more (it may free other streams, never this one); `external` is told of every change of
  // the memory held (positive when allocating). Either may be empty.
  struct Hooks {
    std::function<void()> collect;
    std::function<void(int64_t)> external;
  };

  // `budget` must outlive this object and every block it hands out.
  CodecMemory(js::ByteBudget* budget, Hooks hooks) : budget_(budget), hooks_(std::move(hooks)) {}

  // `size` bytes charged to the budget (with their header), collecting garbage first when the
  // budget refuses; nullptr when it still refuses (its on_exhausted has run) or malloc fails.
  void* Allocate(size_t size);
  // Gives back a block from Allocate (nullptr is ignored).
  void Free(void* address);

  // `size` bytes that are not charged here (the caller charges them its own way, see
  // BrotliStream's encoder); nullptr only when malloc fails. Returns through `*charge` the bytes
  // the block takes, header included.
  void* AllocateUncharged(size_t size, size_t* charge);
  // Gives back a block from AllocateUncharged; returns the bytes it took, header included.
  size_t FreeUncharged(void* address);

  // Reserves `bytes` in the budget, collecting garbage first when it refuses; false when it still
  // refuses (its on_exhausted has run).
  bool ReserveCollecting(size_t bytes);

  js::ByteBudget* budget() const { return budget_; }

 private:
  js::ByteBudget* const budget_;
  const Hooks hooks_;
};

}  // namespace dorm::runtime
