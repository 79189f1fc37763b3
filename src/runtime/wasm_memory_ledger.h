// The WebAssembly memories of one isolate, held against its memory budget. V8 allocates a
// memory's pages outside its heap and outside the ArrayBuffer allocator, so without this a
// `new WebAssembly.Memory({initial: 65536})` (4 GiB) or repeated grow() calls would pass the app's
// memory limit unseen. The prelude reports every memory it constructs or grows (native
// chargeWasmMemory); a memory's charge is given back when the garbage collector frees it.
//
// Threading: the isolate's thread only. The garbage collector calls back during a collection.
#pragma once

#include <v8.h>

#include <cstddef>
#include <memory>
#include <unordered_map>

#include "js/byte_budget.h"

namespace dorm::runtime {

class WasmMemoryLedger {
 public:
  explicit WasmMemoryLedger(std::shared_ptr<js::ByteBudget> budget) : budget_(std::move(budget)) {}
  // Gives back every charge. Destroy before the isolate is disposed (it holds weak handles).
  ~WasmMemoryLedger();
  WasmMemoryLedger(const WasmMemoryLedger&) = delete;
  WasmMemoryLedger& operator=(const WasmMemoryLedger&) = delete;

  // Brings `memory`'s charge up to its current size, running a full garbage collection first if
  // the budget is short (dead memories give their charge back). False if the budget refused the
  // growth (nothing more is charged; the budget's on_exhausted has run): the caller must end the
  // turn.
  bool Charge(v8::Local<v8::Context> context, v8::Local<v8::WasmMemoryObject> memory);

  // Bytes charged for memories still alive (for tests and usage reports).
  size_t charged_bytes() const { return charged_; }

 private:
  struct Entry {
    WasmMemoryLedger* ledger;
    v8::Global<v8::WasmMemoryObject> handle;
    size_t bytes = 0;
  };
  static void OnCollected(const v8::WeakCallbackInfo<Entry>& info);

  std::shared_ptr<js::ByteBudget> budget_;
  std::unordered_map<Entry*, std::unique_ptr<Entry>> entries_;
  size_t charged_ = 0;
};

}  // namespace dorm::runtime
