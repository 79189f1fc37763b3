// An ArrayBuffer allocator that holds every buffer's bytes against a ByteBudget, so that one
// isolate cannot exhaust the process's memory through ArrayBuffers, which V8's heap limit does not
// count. Over budget, allocation fails and the refusal is left pending
// (ByteBudget::ReserveOrDefer): V8 collects garbage and asks again, so only a refusal that no later
// grant clears is final. The budget's owner settles it (see AppIsolate::SettleMemoryRefusal).
//
// Thread-safe (V8 may free buffers from a background thread).
#pragma once

#include <v8.h>

#include <cstddef>
#include <memory>

#include "js/byte_budget.h"

namespace dorm::js {

// `budget` may be shared with other holders of the isolate's memory (WebAssembly memories).
std::unique_ptr<v8::ArrayBuffer::Allocator> NewBudgetedAllocator(
    std::shared_ptr<ByteBudget> budget);

}  // namespace dorm::js
