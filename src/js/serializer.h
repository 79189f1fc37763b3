// Structured clone (V8's ValueSerializer with header) for storage values and structuredClone().
// Must be called with the isolate and a context entered.
#pragma once

#include <v8.h>

#include <functional>
#include <optional>
#include <string>

namespace dorm::js {

// Makes the DOMException thrown for a value that cannot be cloned. Set once per context by the
// host (it comes from the prelude); without it a plain Error is thrown.
using DataCloneErrorFactory =
    std::function<v8::Local<v8::Value>(v8::Isolate*, v8::Local<v8::String> message)>;

// The isolate's embedder data slot that RememberHeapLimit() uses; hosts keep their own data in
// other slots.
inline constexpr uint32_t kHeapLimitDataSlot = 1;

// Records the heap limit the isolate was created with. Serialize and Deserialize bound what they
// accept by it; without it they read the isolate's heap statistics (a walk over every heap space)
// on every call.
void RememberHeapLimit(v8::Isolate* isolate, size_t heap_limit_bytes);

// Returns the serialized bytes, or nullopt with a JS exception pending (DataCloneError).
std::optional<std::string> Serialize(v8::Isolate* isolate, v8::Local<v8::Value> value,
                                     const DataCloneErrorFactory& make_error);

// Returns the value, or an empty handle with a JS exception pending.
v8::MaybeLocal<v8::Value> Deserialize(v8::Isolate* isolate, const char* data, size_t size);

}  // namespace dorm::js
