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

// One decoded message. When the bytes could not be read, `unreadable` is set and `value` is the
// reason: the exception the decoder threw, or the string "Malformed RPC message.".
struct DecodedRpcMessage {
  v8::Local<v8::Value> value;
  bool unreadable = false;
};

// Decodes what EncodeRpcMessage made and leaves no exception pending. Returns nullopt only when
// the isolate is terminating.
std::optional<DecodedRpcMessage> DecodeRpcMessage(v8::Isolate* isolate, std::string_view bytes);

}  // namespace dorm::runtime
