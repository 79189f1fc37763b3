// The natives behind js/prelude/encoding.js (TextEncoder, TextDecoder) and the UTF-8 conversions of
// js/prelude/body.js and the WebSocket modules.
// Contracts: docs/contracts.md.
#include <unicode/ustring.h>

#include <algorithm>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class TextCallbacks {
 public:
  // --- Text ---
  static void Utf8Encode(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string bytes = js::ToUtf8(isolate, info[0]);
    Local<v8::Uint8Array> view;
    if (js::NewUint8ArrayCopy(isolate, bytes).ToLocal(&view)) info.GetReturnValue().Set(view);
  }

  static void Utf8EncodeInto(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsString() || !info[1]->IsUint8Array()) {
      js::ThrowTypeError(isolate, "utf8EncodeInto(string, Uint8Array)");
      return;
    }
    Local<v8::String> str = info[0].As<v8::String>();
    Local<v8::Uint8Array> view = info[1].As<v8::Uint8Array>();
    char* dest = static_cast<char*>(view->Buffer()->GetBackingStore()->Data()) + view->ByteOffset();
    int nchars = 0;
    int written = str->WriteUtf8(
        isolate, dest, static_cast<int>(std::min<size_t>(view->ByteLength(), INT32_MAX)), &nchars,
        v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
    // `nchars` counts UTF-16 code units read, which is what encodeInto reports.
    Local<Value> pair[] = {v8::Integer::New(isolate, nchars), v8::Integer::New(isolate, written)};
    info.GetReturnValue().Set(v8::Array::New(isolate, pair, 2));
  }

  static void Utf8Decode(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsArrayBufferView()) {
      js::ThrowTypeError(isolate, "utf8Decode(view, fatal)");
      return;
    }
    Local<v8::ArrayBufferView> view = info[0].As<v8::ArrayBufferView>();
    std::string bytes(view->ByteLength(), '\0');
    view->CopyContents(bytes.data(), bytes.size());
    if (info[1]->BooleanValue(isolate)) {
      // ICU reports the first ill-formed sequence when no substitute is allowed.
      UErrorCode status = U_ZERO_ERROR;
      int32_t needed = 0;
      u_strFromUTF8WithSub(nullptr, 0, &needed, bytes.data(), static_cast<int32_t>(bytes.size()),
                           U_SENTINEL, nullptr, &status);
      if (status == U_INVALID_CHAR_FOUND || status == U_ILLEGAL_CHAR_FOUND) {
        js::ThrowTypeError(isolate, "Failed to decode input.");
        return;
      }
    }
    info.GetReturnValue().Set(js::FromUtf8(isolate, bytes));
  }
};

}  // namespace

std::span<const NativeFunction> TextNatives() {
  static const NativeFunction kFunctions[] = {
      {"utf8Encode", &TextCallbacks::Utf8Encode},
      {"utf8EncodeInto", &TextCallbacks::Utf8EncodeInto},
      {"utf8Decode", &TextCallbacks::Utf8Decode},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
