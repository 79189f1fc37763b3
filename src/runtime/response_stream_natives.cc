// The natives behind js/runtime/response_streams.js: a fetch() handler's Response whose body is a
// stream, written to the client as the stream yields it. Contracts: docs/contracts.md.
#include "js/strings.h"
#include "runtime/native_module.h"
#include "util/log.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class ResponseStreamCallbacks {
 public:
  // openResponseStream(slot, eventId, length) → id | 0: a body stream for the response the event
  // is about to settle with (`length`: known in advance, else -1); 0 when the event takes no
  // streamed body (the caller buffers it).
  static void Open(const FunctionCallbackInfo<Value>& info) {
    info.GetReturnValue().Set(0);
    const uint64_t slot = IdArg(info[0]);
    const uint64_t event_id = IdArg(info[1]);
    if (slot == 0 || event_id == 0) return;
    int64_t length = -1;
    if (info[2]->IsNumber()) {
      const double given = info[2].As<v8::Number>()->Value();
      if (given >= 0 && given < 9.0e15) length = static_cast<int64_t>(given);
    }
    ObjectHost* host = HostOf(info);
    ObjectInstance* instance = host->FindObjectOfApp(AppOf(info), slot);
    if (!instance) return;
    info.GetReturnValue().Set(
        static_cast<double>(host->OpenResponseStream(instance, event_id, length)));
  }

  // responseChunk(id, chunk: ArrayBufferView | string) → 0 | 1 | 2: see
  // ObjectHost::ResponseStreamChunk. A string goes as UTF-8; anything else throws a TypeError.
  static void Chunk(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    const uint64_t id = IdArg(info[0]);
    std::string bytes;
    if (!StreamChunkBytes(isolate, info[1], &bytes)) return;
    info.GetReturnValue().Set(
        id == 0 ? 0 : HostOf(info)->ResponseStreamChunk(AppOf(info), id, std::move(bytes)));
  }

  // responseEnd(id, ok, error): the stream closed (ok) or failed with `error` (the connection
  // breaks; the error is logged as uncaught, as workerd logs it; a stub's caller reads an error
  // of its class and message).
  static void End(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    const uint64_t id = IdArg(info[0]);
    if (id == 0) return;
    const bool ok = info[1]->IsTrue();
    ObjectHost* host = HostOf(info);
    ResponseStream::Failure failure;
    if (!ok) {
      AppOf(info)->WriteServerLog(LogLevel::kError, CurrentObjectTag(host) +
                                                        "Uncaught (in response body) " +
                                                        js::ExceptionStack(isolate, info[2]));
      failure.name = js::ErrorName(isolate, info[2]);
      failure.message = OwnMessage(isolate, info[2]);
    }
    host->EndResponseStream(AppOf(info), id, ok, std::move(failure));
  }

 private:
  // The `message` of a thrown error when it is a string, else the value's string form; cut to
  // kMaxMessage bytes, since it crosses to another object. Never throws.
  static std::string OwnMessage(v8::Isolate* isolate, Local<Value> error) {
    constexpr size_t kMaxMessage = 16u << 10;
    std::string text;
    if (error->IsObject()) {
      v8::TryCatch try_catch(isolate);
      Local<Value> message;
      if (error.As<v8::Object>()
              ->Get(isolate->GetCurrentContext(), js::FromUtf8(isolate, "message"))
              .ToLocal(&message) &&
          message->IsString()) {
        text = js::ToUtf8(isolate, message);
      } else {
        text = js::ExceptionMessage(isolate, error);
      }
    } else {
      text = js::ExceptionMessage(isolate, error);
    }
    if (text.size() > kMaxMessage) text.resize(kMaxMessage);
    return text;
  }
};

}  // namespace

std::span<const NativeFunction> ResponseStreamNatives() {
  static const NativeFunction kFunctions[] = {
      {"openResponseStream", &ResponseStreamCallbacks::Open},
      {"responseChunk", &ResponseStreamCallbacks::Chunk},
      {"responseEnd", &ResponseStreamCallbacks::End},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
