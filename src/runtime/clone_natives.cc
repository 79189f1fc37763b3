// The natives behind js/prelude/structured_clone.js (structuredClone and its transfer list), also
// used by js/prelude/web_socket.js and the storage API to serialize values.
// Contracts: docs/contracts.md.

#include "js/array_buffers.h"
#include "js/host_objects.h"
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
    auto bytes = js::Serialize(isolate, info[0], AppOf(info)->clone_hooks());
    if (!bytes) return;
    Local<v8::ArrayBuffer> buffer;
    if (js::NewArrayBufferCopy(isolate, *bytes).ToLocal(&buffer)) info.GetReturnValue().Set(buffer);
  }

  static void Deserialize(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsArrayBuffer()) {
      js::ThrowTypeError(isolate, "deserialize(ArrayBuffer)");
      return;
    }
    auto store = info[0].As<v8::ArrayBuffer>()->GetBackingStore();
    Local<Value> value;
    if (js::Deserialize(isolate, static_cast<const char*>(store->Data()), store->ByteLength(),
                        AppOf(info)->clone_hooks())
            .ToLocal(&value)) {
      info.GetReturnValue().Set(value);
    }
  }

  // newHostObject(prototype, kind, first, second) → a host object (js/host_objects.h) with that
  // prototype: kind 1, a Blob over the Uint8Array `first` with type `second`; kind 0, an object
  // of the class named `first` that structured clone refuses; kind 2, an object that structured
  // clone refuses with the message `first`; kind 3, an object of the class named `first` that
  // structured clone copies by its contents (the prelude's describeCopied/reviveCopied).
  static void NewHostObject(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[1]->IsInt32()) {
      js::ThrowTypeError(isolate, "newHostObject(prototype, kind, ...): kind must be 0 to 3");
      return;
    }
    int32_t kind = info[1].As<v8::Int32>()->Value();
    if (kind != static_cast<int32_t>(js::HostObjectKind::kUncloneable) &&
        kind != static_cast<int32_t>(js::HostObjectKind::kBlob) &&
        kind != static_cast<int32_t>(js::HostObjectKind::kRefused) &&
        kind != static_cast<int32_t>(js::HostObjectKind::kCopied)) {
      js::ThrowTypeError(isolate, "newHostObject(prototype, kind, ...): kind must be 0 to 3");
      return;
    }
    v8::Local<v8::Object> object;
    if (js::NewHostObject(isolate->GetCurrentContext(), AppOf(info)->host_object_template(),
                          info[0], static_cast<js::HostObjectKind>(kind), info[2], info[3])
            .ToLocal(&object)) {
      info.GetReturnValue().Set(object);
    }
  }

  // copyHostObject(exemplar) → a copy of the host object `exemplar` (one of kind 0, 2 or 3 that
  // the prelude keeps out of user code's reach, with no own properties): same prototype, kind and
  // name (js::CopyHostObject), made without SetPrototype's transition lookup.
  static void CopyHostObject(const FunctionCallbackInfo<Value>& info) {
    v8::Local<v8::Object> object;
    if (js::CopyHostObject(info.GetIsolate()->GetCurrentContext(), info[0]).ToLocal(&object)) {
      info.GetReturnValue().Set(object);
    }
  }

  // detachArrayBuffer(buffer) → true if `buffer` was an attached, detachable ArrayBuffer, which
  // it no longer is (structuredClone's transfer).
  static void DetachArrayBuffer(const FunctionCallbackInfo<Value>& info) {
    Local<v8::ArrayBuffer> buffer;
    if (!AttachedDetachable(info[0], &buffer)) {
      info.GetReturnValue().Set(false);
      return;
    }
    buffer->Detach();
    info.GetReturnValue().Set(true);
  }

  // transferArrayBuffer(buffer) → a new ArrayBuffer over `buffer`'s memory, `buffer` detached; or
  // undefined, with nothing done, if `buffer` is not an attached, detachable ArrayBuffer. What a
  // byte stream does with every chunk: moving the backing store costs no copy, where a clone
  // through the serializer copied each chunk twice into fresh pages.
  static void TransferArrayBuffer(const FunctionCallbackInfo<Value>& info) {
    Local<v8::ArrayBuffer> buffer;
    if (!AttachedDetachable(info[0], &buffer)) return;
    std::shared_ptr<v8::BackingStore> store = buffer->GetBackingStore();
    buffer->Detach();
    info.GetReturnValue().Set(v8::ArrayBuffer::New(info.GetIsolate(), std::move(store)));
  }

 private:
  // True, with `*buffer` set, if `value` is an ArrayBuffer that is attached and may be detached
  // (not a WebAssembly memory's).
  static bool AttachedDetachable(Local<Value> value, Local<v8::ArrayBuffer>* buffer) {
    if (!value->IsArrayBuffer()) return false;
    *buffer = value.As<v8::ArrayBuffer>();
    return (*buffer)->IsDetachable() && !(*buffer)->WasDetached();
  }
};

}  // namespace

std::span<const NativeFunction> CloneNatives() {
  static const NativeFunction kFunctions[] = {
      {"serialize", &CloneCallbacks::Serialize},
      {"deserialize", &CloneCallbacks::Deserialize},
      {"detachArrayBuffer", &CloneCallbacks::DetachArrayBuffer},
      {"transferArrayBuffer", &CloneCallbacks::TransferArrayBuffer},
      {"newHostObject", &CloneCallbacks::NewHostObject},
      {"copyHostObject", &CloneCallbacks::CopyHostObject},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
