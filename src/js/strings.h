// Conversions between V8 values and C++ strings. Must be called with the isolate entered.
#pragma once

#include <v8.h>

#include <string>
#include <string_view>

namespace dorm::js {

// UTF-8 of a V8 string (lone surrogates become U+FFFD).
std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value);

// UTF-8 of `value` if it is a string; false otherwise. Runs no user code (no toString()), so
// natives use it for arguments their JS callers have already converted.
bool StringToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value, std::string* out);

// A V8 string from UTF-8; invalid sequences become U+FFFD. Empty handle only if too long.
v8::Local<v8::String> FromUtf8(v8::Isolate* isolate, std::string_view text);

// Header values are byte strings (Fetch): each byte is one code unit U+0000..U+00FF.
v8::Local<v8::String> FromLatin1(v8::Isolate* isolate, std::string_view bytes);
// The bytes of a byte string; code units above U+00FF (which Headers rejects) keep their low byte.
std::string ToLatin1(v8::Isolate* isolate, v8::Local<v8::Value> value);

// Throws a JS exception of the given constructor class ("TypeError", "RangeError", "Error").
void ThrowError(v8::Isolate* isolate, std::string_view message);
void ThrowTypeError(v8::Isolate* isolate, std::string_view message);
void ThrowRangeError(v8::Isolate* isolate, std::string_view message);

// The "name: message" of an exception (or its string form), for logs and error responses.
std::string ExceptionMessage(v8::Isolate* isolate, v8::Local<v8::Value> exception);
// The `name` of a thrown object when it is a string (e.g. "TypeError"), else "". Never throws.
std::string ErrorName(v8::Isolate* isolate, v8::Local<v8::Value> exception);
// The stack of an exception if it has one, else ExceptionMessage().
std::string ExceptionStack(v8::Isolate* isolate, v8::Local<v8::Value> exception);

}  // namespace dorm::js
