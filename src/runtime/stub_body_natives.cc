// The natives behind js/runtime/stub_bodies.js: the caller's side of a stub's fetch() answer whose
// body the callee still produces, read chunk by chunk. Contracts: docs/contracts.md.
#include <cstring>

#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

// A body id the runtime handed out: a positive integer below 2^53. 0 otherwise.
uint64_t StubBodyIdArg(Local<Value> value) {
  if (!value->IsNumber()) return 0;
  const double number = value.As<v8::Number>()->Value();
  return number >= 1 && number < 9.0e15 ? static_cast<uint64_t>(number) : 0;
}

class StubBodyCallbacks {
 public:
  // stubBodyTake(id) → [bytes: ArrayBuffer | null, state, errorName, errorMessage, reset]: what
  // the body has queued. state: 0 open (with no bytes: wait for stubBodySignal(id)), 1 ended after
  // the bytes, 2 failed after them (errorName/errorMessage/reset say with what), 3 unknown id
  // (cancelled, or its caller reset).
  static void Take(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    const uint64_t id = StubBodyIdArg(info[0]);
    std::optional<ResponseStream::Taken> taken;
    if (id != 0) taken = HostOf(info)->TakeStubBody(AppOf(info), id);
    Local<Value> bytes = v8::Null(isolate);
    int state = 3;
    ResponseStream::Failure failure;
    if (taken) {
      if (!taken->bytes.empty()) {
        Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, taken->bytes.size());
        std::memcpy(buffer->GetBackingStore()->Data(), taken->bytes.data(), taken->bytes.size());
        bytes = buffer;
      }
      state = taken->failed ? 2 : taken->ended ? 1 : 0;
      failure = std::move(taken->failure);
    }
    Local<Value> parts[] = {
        bytes, v8::Integer::New(isolate, state), js::FromUtf8(isolate, failure.name),
        js::FromUtf8(isolate, failure.message), v8::Boolean::New(isolate, failure.reset)};
    info.GetReturnValue().Set(v8::Array::New(isolate, parts, 5));
  }

  // stubBodyCancel(id): the caller cancelled its body; the callee's stream is cancelled.
  static void Cancel(const FunctionCallbackInfo<Value>& info) {
    const uint64_t id = StubBodyIdArg(info[0]);
    if (id != 0) HostOf(info)->CancelStubBody(AppOf(info), id);
  }
};

}  // namespace

std::span<const NativeFunction> StubBodyNatives() {
  static const NativeFunction kFunctions[] = {
      {"stubBodyTake", &StubBodyCallbacks::Take},
      {"stubBodyCancel", &StubBodyCallbacks::Cancel},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
