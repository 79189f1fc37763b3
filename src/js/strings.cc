#include "js/strings.h"

#include <cstdint>
#include <cstring>

namespace dorm::js {

namespace {

// Whether every byte is below 0x80, eight at a time.
bool IsAscii(std::string_view text) {
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  uint64_t seen = 0;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    seen |= word;
  }
  for (; i < text.size(); ++i) seen |= static_cast<uint8_t>(text[i]);
  return (seen & kHighBits) == 0;
}

}  // namespace

std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  if (value.IsEmpty()) return {};
  v8::Local<v8::String> str;
  if (value->IsString()) {
    str = value.As<v8::String>();
  } else if (!value->ToString(isolate->GetCurrentContext()).ToLocal(&str)) {
    return {};
  }
  if (str->IsOneByte()) {
    // ASCII is its own UTF-8: copied as it is, rather than measured and then encoded character
    // by character (a 55 KB JSON response body cost V8 about 5 instructions a byte that way).
    std::string out(static_cast<size_t>(str->Length()), '\0');
    str->WriteOneByte(isolate, reinterpret_cast<uint8_t*>(out.data()), 0, str->Length(),
                      v8::String::NO_NULL_TERMINATION);
    if (IsAscii(out)) return out;
  }
  int length = str->Utf8Length(isolate);
  std::string out(static_cast<size_t>(length), '\0');
  str->WriteUtf8(isolate, out.data(), length, nullptr,
                 v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  return out;
}

bool StringToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value, std::string* out) {
  if (value.IsEmpty() || !value->IsString()) return false;
  *out = ToUtf8(isolate, value);
  return true;
}

v8::Local<v8::String> FromUtf8(v8::Isolate* isolate, std::string_view text) {
  // ASCII is its own one-byte string: V8's UTF-8 decoder would scan and copy it the long way.
  if (IsAscii(text)) return FromLatin1(isolate, text);
  v8::Local<v8::String> out;
  if (!v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                               static_cast<int>(text.size()))
           .ToLocal(&out)) {
    return v8::String::Empty(isolate);
  }
  return out;
}

v8::Local<v8::String> FromLatin1(v8::Isolate* isolate, std::string_view bytes) {
  v8::Local<v8::String> out;
  if (!v8::String::NewFromOneByte(isolate, reinterpret_cast<const uint8_t*>(bytes.data()),
                                  v8::NewStringType::kNormal, static_cast<int>(bytes.size()))
           .ToLocal(&out)) {
    return v8::String::Empty(isolate);
  }
  return out;
}

std::string ToLatin1(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  v8::Local<v8::String> str;
  if (value.IsEmpty() || !value->ToString(isolate->GetCurrentContext()).ToLocal(&str)) return {};
  std::string out(static_cast<size_t>(str->Length()), '\0');
  str->WriteOneByte(isolate, reinterpret_cast<uint8_t*>(out.data()), 0, str->Length(),
                    v8::String::NO_NULL_TERMINATION);
  return out;
}

void ThrowError(v8::Isolate* isolate, std::string_view message) {
  isolate->ThrowException(v8::Exception::Error(FromUtf8(isolate, message)));
}
void ThrowTypeError(v8::Isolate* isolate, std::string_view message) {
  isolate->ThrowException(v8::Exception::TypeError(FromUtf8(isolate, message)));
}
void ThrowRangeError(v8::Isolate* isolate, std::string_view message) {
  isolate->ThrowException(v8::Exception::RangeError(FromUtf8(isolate, message)));
}

std::string ExceptionMessage(v8::Isolate* isolate, v8::Local<v8::Value> exception) {
  if (exception.IsEmpty()) return "unknown error";
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (exception->IsObject()) {
    v8::Local<v8::Object> obj = exception.As<v8::Object>();
    v8::Local<v8::Value> message;
    v8::TryCatch try_catch(isolate);
    if (obj->Get(context, FromUtf8(isolate, "message")).ToLocal(&message) && message->IsString()) {
      return ToUtf8(isolate, message);
    }
  }
  v8::TryCatch try_catch(isolate);
  return ToUtf8(isolate, exception);
}

std::string ErrorName(v8::Isolate* isolate, v8::Local<v8::Value> exception) {
  if (exception.IsEmpty() || !exception->IsObject()) return "";
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> name;
  if (!exception.As<v8::Object>()
           ->Get(isolate->GetCurrentContext(), FromUtf8(isolate, "name"))
           .ToLocal(&name) ||
      !name->IsString()) {
    return "";
  }
  return ToUtf8(isolate, name);
}

std::string ExceptionStack(v8::Isolate* isolate, v8::Local<v8::Value> exception) {
  if (!exception.IsEmpty() && exception->IsObject()) {
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Value> stack;
    if (exception.As<v8::Object>()
            ->Get(isolate->GetCurrentContext(), FromUtf8(isolate, "stack"))
            .ToLocal(&stack) &&
        stack->IsString()) {
      return ToUtf8(isolate, stack);
    }
  }
  return ExceptionMessage(isolate, exception);
}

}  // namespace dorm::js
