#include "js/array_buffers.h"

#include <cstring>
#include <memory>

#include "js/strings.h"

namespace dorm::js {

v8::MaybeLocal<v8::ArrayBuffer> NewArrayBufferCopy(v8::Isolate* isolate, std::string_view bytes) {
  // An empty buffer allocates nothing, so V8 cannot fail to make one.
  if (bytes.empty()) return v8::ArrayBuffer::New(isolate, 0);
  v8::ArrayBuffer::Allocator* allocator = isolate->GetArrayBufferAllocator();
  void* data = allocator->AllocateUninitialized(bytes.size());
  if (data == nullptr) {
    // As V8 does for its own buffers: what the budget holds may be garbage, so collect it and ask
    // once more before the refusal stands.
    isolate->LowMemoryNotification();
    data = allocator->AllocateUninitialized(bytes.size());
  }
  if (data == nullptr) {
    isolate->ThrowException(
        v8::Exception::RangeError(FromUtf8(isolate, "Array buffer allocation failed")));
    return {};
  }
  std::memcpy(data, bytes.data(), bytes.size());
  std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(
      data, bytes.size(),
      [](void* data, size_t length, void* allocator) {
        static_cast<v8::ArrayBuffer::Allocator*>(allocator)->Free(data, length);
      },
      allocator);
  return v8::ArrayBuffer::New(isolate, std::move(store));
}

v8::MaybeLocal<v8::Uint8Array> NewUint8ArrayCopy(v8::Isolate* isolate, std::string_view bytes) {
  v8::Local<v8::ArrayBuffer> buffer;
  if (!NewArrayBufferCopy(isolate, bytes).ToLocal(&buffer)) return {};
  return v8::Uint8Array::New(buffer, 0, bytes.size());
}

}  // namespace dorm::js
