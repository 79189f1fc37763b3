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

// Returns the serialized bytes, or nullopt with a JS exception pending (DataCloneError).
std::optional<std::string> Serialize(v8::Isolate* isolate, v8::Local<v8::Value> value,
                                     const DataCloneErrorFactory& make_error);

// Returns the value, or an empty handle with a JS exception pending.
v8::MaybeLocal<v8::Value> Deserialize(v8::Isolate* isolate, const char* data, size_t size);

}  // namespace dorm::js
