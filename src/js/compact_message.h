// A compact encoding, faster to write and read than V8's structured clone, for the RPC messages
// most calls carry: a list of primitives (an answer `[value]` whose value is a primitive), or a
// list whose first element is itself a list of primitives (a call `[args]` whose arguments are all
// primitives). Values other than undefined, null, booleans, numbers and strings are never encoded
// here: the caller falls back to Serialize(), whose bytes begin with 0xFF and so never with
// kCompactMessageTag.
//
// The bytes live only in the process (they are never stored): the format may change freely.
// Decoding trusts nothing: lengths are checked against the input and lists are bounded in length
// and depth, so hostile bytes cost at most a small multiple of their size.
//
// Must be called with the isolate and a context entered. Thread-compatible.
#pragma once

#include <v8.h>

#include <optional>
#include <string>
#include <string_view>

namespace dorm::js {

inline constexpr char kCompactMessageTag = 0x01;

// The longest list encoded here: longer ones go through structured clone.
inline constexpr uint32_t kCompactListMax = 256;

// Encodes `list` (an array the runtime created, never one user code could have touched) when
// every element is a primitive, or when `first_is_runtime_list` and element 0 is itself such an
// array (holding primitives) followed by primitives. Returns nullopt, with no exception pending,
// for anything else.
std::optional<std::string> EncodeCompactMessage(v8::Isolate* isolate,
                                                v8::Local<v8::Context> context,
                                                v8::Local<v8::Value> list,
                                                bool first_is_runtime_list);

inline bool IsCompactMessage(std::string_view bytes) {
  return !bytes.empty() && bytes[0] == kCompactMessageTag;
}

// Decodes what EncodeCompactMessage made: a fresh array. Bytes it did not make throw an Error
// ("Malformed RPC message.") and return an empty handle.
v8::MaybeLocal<v8::Value> DecodeCompactMessage(v8::Isolate* isolate, std::string_view bytes);

}  // namespace dorm::js
