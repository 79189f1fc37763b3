// The natives behind js/prelude/fetch.js: one HTTP exchange with the outside world per call (the
// prelude follows redirects and handles aborts). Contracts: docs/contracts.md.
#include <cstring>

#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

constexpr size_t kMaxUrlBytes = 16 << 10;
constexpr size_t kMaxHeaderBytes = 256 << 10;

// Whether `text` may be sent as part of a request line or header: no CR, LF or NUL.
bool IsHeaderSafe(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

class FetchCallbacks {
 public:
  // startFetch(method, url, headers, body) → [id, promise]. headers: [name, value, ...] of
  // strings; body: an ArrayBuffer, a string (sent as UTF-8) or null.
  static void StartFetch(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    outbound::ExchangeRequest request;
    if (!js::StringToUtf8(isolate, info[0], &request.method) || !IsToken(request.method) ||
        !js::StringToUtf8(isolate, info[1], &request.url) || request.url.size() > kMaxUrlBytes ||
        !(request.url.starts_with("http://") || request.url.starts_with("https://")) ||
        !IsHeaderSafe(request.url) || !info[2]->IsArray()) {
      js::ThrowTypeError(isolate, "startFetch(method, url, headers, body)");
      return;
    }
    Local<v8::Array> headers = info[2].As<v8::Array>();
    const uint32_t length = headers->Length();
    size_t header_bytes = 0;
    for (uint32_t i = 0; i + 1 < length; i += 2) {
      Local<Value> name, value;
      std::string name_text, value_text;
      if (!headers->Get(context, i).ToLocal(&name) || !headers->Get(context, i + 1).ToLocal(&value))
        return;
      if (!name->IsString() || !value->IsString()) {
        js::ThrowTypeError(isolate, "startFetch: headers must be strings");
        return;
      }
      name_text = js::ToLatin1(isolate, name);
      value_text = js::ToUtf8(isolate, value);
      header_bytes += name_text.size() + value_text.size();
      if (!IsToken(name_text) || !IsHeaderSafe(value_text) || header_bytes > kMaxHeaderBytes) {
        js::ThrowTypeError(isolate, "startFetch: invalid header");
        return;
      }
      request.headers.emplace_back(std::move(name_text), std::move(value_text));
    }
    if (info[3]->IsArrayBuffer()) {
      auto store = info[3].As<v8::ArrayBuffer>()->GetBackingStore();
      request.body.assign(static_cast<const char*>(store->Data()), store->ByteLength());
      request.has_body = true;
    } else if (info[3]->IsString()) {
      request.body = js::ToUtf8(isolate, info[3]);
      request.has_body = true;
    } else if (!info[3]->IsNull()) {
      js::ThrowTypeError(isolate, "startFetch: body must be an ArrayBuffer, a string or null");
      return;
    }
    v8::Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return;
    const uint64_t id = HostOf(info)->FetchOutbound(AppOf(info), std::move(request), resolver);
    if (id == 0) return;  // thrown
    Local<Value> result[] = {v8::Number::New(isolate, static_cast<double>(id)),
                             resolver->GetPromise()};
    info.GetReturnValue().Set(v8::Array::New(isolate, result, 2));
  }

  // cancelFetch(id): the exchange ends; its promise never settles.
  static void CancelFetch(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsNumber()) return;
    const double id = info[0].As<v8::Number>()->Value();
    if (id >= 1 && id < 9.0e15) HostOf(info)->CancelFetch(AppOf(info), static_cast<uint64_t>(id));
  }
};

}  // namespace

std::span<const NativeFunction> FetchNatives() {
  static const NativeFunction kFunctions[] = {
      {"startFetch", &FetchCallbacks::StartFetch},
      {"cancelFetch", &FetchCallbacks::CancelFetch},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
