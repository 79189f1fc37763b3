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

bool FetchId(Local<Value> value, uint64_t* id) {
  if (!value->IsNumber()) return false;
  const double number = value.As<v8::Number>()->Value();
  if (!(number >= 1 && number < 9.0e15)) return false;
  *id = static_cast<uint64_t>(number);
  return true;
}

class FetchCallbacks {
 public:
  // startFetch(method, url, headers, body, decode) → [id, promise]. headers: [name, value, ...]
  // of strings; body: an ArrayBuffer, a string (sent as UTF-8), null, or a number: the body is
  // streamed (writeFetchBody/endFetchBody), the number being its length, or -1 if unknown.
  // decode: false leaves a compressed response body as it came; anything else decodes it.
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
    } else if (info[3]->IsNumber()) {
      const double length = info[3].As<v8::Number>()->Value();
      if (!(length == -1 ||
            (length >= 0 && length < 9.0e15 && length == static_cast<int64_t>(length)))) {
        js::ThrowTypeError(isolate, "startFetch: invalid body length");
        return;
      }
      request.upload = std::make_shared<outbound::UploadBody>();
      request.upload->length = static_cast<int64_t>(length);
      request.has_body = true;
    } else if (!info[3]->IsNull()) {
      js::ThrowTypeError(isolate, "startFetch: body must be an ArrayBuffer, a string or null");
      return;
    }
    // Only `false` asks for the body as it came (encodeResponseBody: 'manual').
    request.decode_body = !info[4]->IsFalse();
    v8::Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return;
    const uint64_t id = HostOf(info)->FetchOutbound(AppOf(info), std::move(request), resolver);
    if (id == 0) return;  // thrown
    Local<Value> result[] = {v8::Number::New(isolate, static_cast<double>(id)),
                             resolver->GetPromise()};
    info.GetReturnValue().Set(v8::Array::New(isolate, result, 2));
  }

  // readFetchBody(id) → promise of the streamed response body's next bytes (a Uint8Array), or
  // null at its end; rejected with [kind, message] when the body fails.
  static void ReadFetchBody(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    uint64_t id = 0;
    if (!FetchId(info[0], &id)) {
      js::ThrowTypeError(isolate, "readFetchBody(id)");
      return;
    }
    v8::Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(isolate->GetCurrentContext()).ToLocal(&resolver)) return;
    HostOf(info)->ReadFetchBody(AppOf(info), id, resolver);
    info.GetReturnValue().Set(resolver->GetPromise());
  }

  // writeFetchBody(id, bytes) → true (write on), false (stop: the body is not wanted any more),
  // or a promise of one of them. bytes: an ArrayBufferView or ArrayBuffer.
  static void WriteFetchBody(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    uint64_t id = 0;
    std::string bytes;
    if (info[1]->IsArrayBufferView()) {
      auto view = info[1].As<v8::ArrayBufferView>();
      bytes.resize(view->ByteLength());
      if (!bytes.empty()) view->CopyContents(bytes.data(), bytes.size());
    } else if (info[1]->IsArrayBuffer()) {
      auto store = info[1].As<v8::ArrayBuffer>()->GetBackingStore();
      bytes.assign(static_cast<const char*>(store->Data()), store->ByteLength());
    } else {
      js::ThrowTypeError(isolate, "writeFetchBody(id, bytes)");
      return;
    }
    if (!FetchId(info[0], &id)) {
      js::ThrowTypeError(isolate, "writeFetchBody(id, bytes)");
      return;
    }
    info.GetReturnValue().Set(HostOf(info)->WriteFetchBody(AppOf(info), id, bytes));
  }

  // endFetchBody(id, ok): the streamed request body is complete, or (ok false) failed.
  static void EndFetchBody(const FunctionCallbackInfo<Value>& info) {
    uint64_t id = 0;
    if (!FetchId(info[0], &id)) return;
    HostOf(info)->EndFetchBody(AppOf(info), id, info[1]->IsTrue());
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
      {"readFetchBody", &FetchCallbacks::ReadFetchBody},
      {"writeFetchBody", &FetchCallbacks::WriteFetchBody},
      {"endFetchBody", &FetchCallbacks::EndFetchBody},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
