// An ArrayBuffer allocator with a byte budget, so that one isolate cannot exhaust the process's
// memory through ArrayBuffers, which V8's heap limit does not count. Over budget, allocation fails
// and JS sees a RangeError.
//
// Thread-safe (V8 may free buffers from a background thread).
#pragma once

#include <v8.h>

#include <cstddef>
#include <memory>

namespace dorm::js {

std::unique_ptr<v8::ArrayBuffer::Allocator> NewBudgetedAllocator(size_t budget_bytes);

}  // namespace dorm::js
