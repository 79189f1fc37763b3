// The bytes of one RPC message (js/runtime/rpc_values.js: a call's `[arguments]`, an answer's
// `[value]`, or either with the references it holds): compact when it holds only primitives
// (js/compact_message.h), V8's structured clone otherwise.
//
// Must be called on the app's thread with its isolate and context entered.
#pragma once

#include <v8.h>

#include <optional>
#include <string>
#include <string_view>

#include "runtime/app_isolate.h"

namespace dorm::runtime {

// Encodes `message` (an array the runtime made). `first_is_arguments`: its element 0 is a call's
// argument list, also made by the runtime. Returns nullopt with a DataCloneError pending for what
// structured clone refuses.
std::optional<std::string> EncodeRpcMessage(AppIsolate* app, v8::Local<v8::Value> message,
                                            bool first_is_arguments);

// Decodes what EncodeRpcMessage made. Returns an empty handle with an exception pending for bytes
// that cannot be read (or when the isolate is terminating).
v8::MaybeLocal<v8::Value> DecodeRpcMessage(v8::Isolate* isolate, std::string_view bytes);

}  // namespace dorm::runtime
