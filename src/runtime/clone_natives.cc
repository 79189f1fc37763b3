// The natives behind js/prelude/structured_clone.js (structuredClone and its transfer list), also
// used by js/prelude/web_socket.js and the storage API to serialize values.
// Contracts: docs/contracts.md.
#include <cstring>

#include "js/serializer.h"
#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class CloneCallbacks {
 public:
  // --- Structured clone ---
  static void Serialize(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    auto bytes = js::Serialize(isolate, info[0], AppOf(info)->data_clone_error_factory());
    if (!bytes) return;
    Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes->size());
    if (!bytes->empty())
      std::memcpy(buffer->GetBackingStore()->Data(), bytes->data(), bytes->size());
    info.GetReturnValue().Set(buffer);
  }

  static void Deserialize(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsArrayBuffer()) {
      js::ThrowTypeError(isolate, "deserialize(ArrayBuffer)");
      return;
    }
    auto store = info[0].As<v8::ArrayBuffer>()->GetBackingStore();
    Local<Value> value;
    if (js::Deserialize(isolate, static_cast<const char*>(store->Data()), store->ByteLength())
            .ToLocal(&value)) {
      info.GetReturnValue().Set(value);
    }
  }

  // detachArrayBuffer(buffer) → true if `buffer` was an attached, detachable ArrayBuffer, which
  // it no longer is (structuredClone's transfer).
  static void DetachArrayBuffer(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsArrayBuffer()) {
      info.GetReturnValue().Set(false);
      return;
    }
    Local<v8::ArrayBuffer> buffer = info[0].As<v8::ArrayBuffer>();
    if (!buffer->IsDetachable() || buffer->WasDetached()) {
      info.GetReturnValue().Set(false);
      return;
    }
    buffer->Detach();
    info.GetReturnValue().Set(true);
  }
};

}  // namespace

std::span<const NativeFunction> CloneNatives() {
  static const NativeFunction kFunctions[] = {
      {"serialize", &CloneCallbacks::Serialize},
      {"deserialize", &CloneCallbacks::Deserialize},
      {"detachArrayBuffer", &CloneCallbacks::DetachArrayBuffer},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
