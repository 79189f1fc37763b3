// An ArrayBuffer allocator with a byte budget, so that one isolate cannot exhaust the process's
// memory through ArrayBuffers, which V8's heap limit does not count. Over budget, allocation fails
// and JS sees a RangeError.
//
// Thread-safe (V8 may free buffers from a background thread).
#pragma once

#include <v8.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace dorm::js {

// `on_exhausted` runs (on the allocating thread) each time an allocation is refused; it must be
// cheap and must not call into V8 other than to terminate execution.
std::unique_ptr<v8::ArrayBuffer::Allocator> NewBudgetedAllocator(
    size_t budget_bytes, std::function<void()> on_exhausted);

}  // namespace dorm::js
