// The natives behind js/prelude/cache.js (the Cache API): the app's entries in the server's
// ResponseCache. The prelude decides what may be cached and for how long; these only store, find
// and remove. Contracts: docs/contracts.md.
#include <cmath>
#include <limits>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/native_module.h"
#include "runtime/response_cache.h"
#include "util/wall_clock.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

constexpr size_t kMaxCacheNameBytes = 1024;
constexpr size_t kMaxUrlBytes = 16 << 10;

// Reads the cache name and URL of every native's first two arguments; false with a TypeError
// thrown if they are not strings of bounded size.
bool ReadKey(const FunctionCallbackInfo<Value>& info, const char* usage, std::string* cache,
             std::string* url) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsString() || !info[1]->IsString() || !js::StringToUtf8(isolate, info[0], cache) ||
      !js::StringToUtf8(isolate, info[1], url) || cache->size() > kMaxCacheNameBytes ||
      url->size() > kMaxUrlBytes) {
    js::ThrowTypeError(isolate, usage);
    return false;
  }
  return true;
}

// The expiry the prelude computed (now plus the response's max-age, which may be any number of
// digits, so up to Infinity) as int64 milliseconds: converting a double out of int64's range is
// undefined behaviour. NaN expires at once; past the range is forever.
int64_t ExpiryMs(double ms) {
  if (std::isnan(ms)) return 0;
  if (ms >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (ms <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(ms);
}

class CacheCallbacks {
 public:
  // cachePut(cacheName, url, status, statusText, headers, body, expiresMs): headers [name, value,
  // ...] of strings, body an ArrayBuffer. Returns nothing; a cache without room drops the entry.
  static void Put(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    constexpr char kUsage[] =
        "cachePut(cacheName, url, status, statusText, headers, body, expiresMs)";
    std::string cache, url;
    if (!ReadKey(info, kUsage, &cache, &url)) return;
    ResponseCache::Entry entry;
    if (!info[2]->IsInt32() || !info[3]->IsString() ||
        !js::StringToUtf8(isolate, info[3], &entry.status_text) || !info[4]->IsArray() ||
        !info[5]->IsArrayBuffer() || !info[6]->IsNumber()) {
      js::ThrowTypeError(isolate, kUsage);
      return;
    }
    entry.status = info[2].As<v8::Int32>()->Value();
    entry.expires_ms = ExpiryMs(info[6].As<v8::Number>()->Value());
    Local<v8::Array> headers = info[4].As<v8::Array>();
    for (uint32_t i = 0; i + 1 < headers->Length(); i += 2) {
      Local<Value> name, value;
      if (!headers->Get(context, i).ToLocal(&name) || !headers->Get(context, i + 1).ToLocal(&value))
        return;
      std::string name_text, value_text;
      if (!name->IsString() || !value->IsString() || !js::StringToUtf8(isolate, name, &name_text) ||
          !js::StringToUtf8(isolate, value, &value_text)) {
        js::ThrowTypeError(isolate, kUsage);
        return;
      }
      entry.headers.emplace_back(std::move(name_text), std::move(value_text));
    }
    std::shared_ptr<v8::BackingStore> body = info[5].As<v8::ArrayBuffer>()->GetBackingStore();
    entry.body.assign(static_cast<const char*>(body->Data()), body->ByteLength());
    ResponseCache* responses = HostOf(info)->response_cache();
    if (responses) responses->Put(AppOf(info)->app(), cache, url, std::move(entry));
  }

  // cacheMatch(cacheName, url) → [status, statusText, headers, body] or undefined.
  static void Match(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string cache, url;
    if (!ReadKey(info, "cacheMatch(cacheName, url)", &cache, &url)) return;
    ResponseCache* responses = HostOf(info)->response_cache();
    std::optional<ResponseCache::Entry> entry =
        responses ? responses->Match(AppOf(info)->app(), cache, url, WallClockMs()) : std::nullopt;
    if (!entry) return;
    std::vector<Local<Value>> headers;
    headers.reserve(entry->headers.size() * 2);
    for (const auto& [name, value] : entry->headers) {
      headers.push_back(js::FromUtf8(isolate, name));
      headers.push_back(js::FromUtf8(isolate, value));
    }
    Local<v8::ArrayBuffer> body;
    if (!js::NewArrayBufferCopy(isolate, entry->body).ToLocal(&body)) return;
    Local<Value> parts[] = {v8::Integer::New(isolate, entry->status),
                            js::FromUtf8(isolate, entry->status_text),
                            v8::Array::New(isolate, headers.data(), headers.size()), body};
    info.GetReturnValue().Set(v8::Array::New(isolate, parts, 4));
  }

  // cacheDelete(cacheName, url) → whether an entry was there.
  static void Delete(const FunctionCallbackInfo<Value>& info) {
    std::string cache, url;
    if (!ReadKey(info, "cacheDelete(cacheName, url)", &cache, &url)) return;
    ResponseCache* responses = HostOf(info)->response_cache();
    info.GetReturnValue().Set(responses != nullptr &&
                              responses->Delete(AppOf(info)->app(), cache, url, WallClockMs()));
  }
};

}  // namespace

std::span<const NativeFunction> CacheNatives() {
  static const NativeFunction kFunctions[] = {
      {"cachePut", &CacheCallbacks::Put},
      {"cacheMatch", &CacheCallbacks::Match},
      {"cacheDelete", &CacheCallbacks::Delete},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
