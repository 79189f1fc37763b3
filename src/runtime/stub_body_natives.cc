// The natives behind js/runtime/stub_bodies.js: the caller's side of a stub's fetch() answer whose
// body the callee still produces, read chunk by chunk. Contracts: docs/contracts.md.

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class StubBodyCallbacks {
 public:
  // stubBodyTake(id) → [bytes: ArrayBuffer | null, state, errorName, errorMessage, reset, client,
  // retryable]: what the body has queued. state: 0 open (with no bytes: wait for
  // stubBodySignal(id)), 1 ended after the bytes, 2 failed after them (the other fields say with
  // what, see ResponseStream::Failure), 3 unknown id (cancelled, or its caller reset).
  static void Take(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    const uint64_t id = IdArg(info[0]);
    std::optional<ResponseStream::Taken> taken;
    if (id != 0) taken = HostOf(info)->TakeStubBody(AppOf(info), id);
    Local<Value> bytes = v8::Null(isolate);
    int state = 3;
    ResponseStream::Failure failure;
    if (taken) {
      if (!taken->bytes.empty()) {
        Local<v8::ArrayBuffer> buffer;
        if (!js::NewArrayBufferCopy(isolate, taken->bytes).ToLocal(&buffer)) return;
        bytes = buffer;
      }
      state = taken->failed ? 2 : taken->ended ? 1 : 0;
      failure = std::move(taken->failure);
    }
    Local<Value> parts[] = {bytes,
                            v8::Integer::New(isolate, state),
                            js::FromUtf8(isolate, failure.name),
                            js::FromUtf8(isolate, failure.message),
                            v8::Boolean::New(isolate, failure.reset),
                            v8::Boolean::New(isolate, failure.client),
                            v8::Boolean::New(isolate, failure.retryable)};
    info.GetReturnValue().Set(v8::Array::New(isolate, parts, 7));
  }

  // stubBodyCancel(id): the caller cancelled its body; the callee's stream is cancelled.
  static void Cancel(const FunctionCallbackInfo<Value>& info) {
    const uint64_t id = IdArg(info[0]);
    if (id != 0) HostOf(info)->CancelStubBody(AppOf(info), id);
  }

  // openRequestBody() → id: a request body to send through the next fetchObject/fetchService
  // call (its body argument).
  static void OpenRequest(const FunctionCallbackInfo<Value>& info) {
    info.GetReturnValue().Set(static_cast<double>(HostOf(info)->OpenRequestBody(AppOf(info))));
  }

  // openRpcSink() → id: the channel of a WritableStream sent over RPC (ObjectHost::OpenRpcSink),
  // read with stubBodyTake; its negated id goes to the next encodeRpc.
  static void OpenSink(const FunctionCallbackInfo<Value>& info) {
    info.GetReturnValue().Set(static_cast<double>(HostOf(info)->OpenRpcSink(AppOf(info))));
  }

  // requestBodyChunk(id, chunk: ArrayBufferView | string) → 0 | 1 | 2: see
  // ObjectHost::RequestBodyChunk. A string goes as UTF-8; anything else throws a TypeError.
  static void RequestChunk(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    const uint64_t id = IdArg(info[0]);
    std::string bytes;
    if (!StreamChunkBytes(isolate, info[1], &bytes)) return;
    info.GetReturnValue().Set(
        id == 0 ? 0 : HostOf(info)->RequestBodyChunk(AppOf(info), id, std::move(bytes)));
  }

  // requestBodyEnd(id, ok): the caller's stream ended (or failed: `ok` false).
  static void RequestEnd(const FunctionCallbackInfo<Value>& info) {
    const uint64_t id = IdArg(info[0]);
    if (id != 0) {
      HostOf(info)->EndRequestBody(AppOf(info), id, info[1]->IsTrue(), info[2]->IsTrue());
    }
  }
};

}  // namespace

std::span<const NativeFunction> StubBodyNatives() {
  static const NativeFunction kFunctions[] = {
      {"stubBodyTake", &StubBodyCallbacks::Take},
      {"stubBodyCancel", &StubBodyCallbacks::Cancel},
      {"openRequestBody", &StubBodyCallbacks::OpenRequest},
      {"requestBodyChunk", &StubBodyCallbacks::RequestChunk},
      {"requestBodyEnd", &StubBodyCallbacks::RequestEnd},
      {"openRpcSink", &StubBodyCallbacks::OpenSink},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
