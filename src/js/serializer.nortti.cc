// Compiled without RTTI: it subclasses V8 types, for which libnode has no type information.
#include "js/serializer.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "js/array_buffers.h"
#include "js/clone_bytes_check.h"
#include "js/host_objects.h"
#include "js/strings.h"

namespace dorm::js {
namespace {

// What reading one value back may allocate: a quarter of the isolate's heap, at least 32 MiB.
// The same bound holds when a value is written and when it is read, so that whatever put() or
// structuredClone() accepts can be read back by an isolate with the same heap limit.
CloneBytesLimits LimitsFor(v8::Isolate* isolate) {
  auto heap_limit = reinterpret_cast<uintptr_t>(isolate->GetData(kHeapLimitDataSlot));
  if (heap_limit == 0) {
    v8::HeapStatistics stats;
    isolate->GetHeapStatistics(&stats);
    heap_limit = stats.heap_size_limit();
  }
  CloneBytesLimits limits;
  limits.allocation_budget = std::max<uint64_t>(limits.allocation_budget, heap_limit / 4);
  return limits;
}

// A Blob's contents or type past this cannot be written (the wire format's lengths are 32-bit).
constexpr size_t kMaxHostBytes = 0xFFFFFFFFu;

class CloneDelegate : public v8::ValueSerializer::Delegate {
 public:
  CloneDelegate(v8::Isolate* isolate, const CloneHooks& hooks) : isolate_(isolate), hooks_(hooks) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    if (hooks_.make_error) {
      v8::Local<v8::Value> error = hooks_.make_error(isolate_, message);
      if (!error.IsEmpty()) {
        isolate_->ThrowException(error);
        return;
      }
    }
    isolate_->ThrowException(v8::Exception::Error(message));
  }

  // Called for API objects with internal fields: only the host objects of js/host_objects.h are.
  v8::Maybe<bool> WriteHostObject(v8::Isolate* isolate, v8::Local<v8::Object> object) override {
    if (object->InternalFieldCount() != kHostObjectFields) return Refuse("object");
    v8::Local<v8::Value> kind = object->GetInternalField(0);
    v8::Local<v8::Value> first = object->GetInternalField(1);
    if (kind->IsInt32() &&
        kind.As<v8::Int32>()->Value() == static_cast<int32_t>(HostObjectKind::kRefused) &&
        first->IsString()) {
      ThrowDataCloneError(first.As<v8::String>());
      return v8::Nothing<bool>();
    }
    if (kind->IsInt32() &&
        kind.As<v8::Int32>()->Value() == static_cast<int32_t>(HostObjectKind::kCopied)) {
      return WriteCopied(isolate, object, first);
    }
    if (!kind->IsInt32() ||
        kind.As<v8::Int32>()->Value() != static_cast<int32_t>(HostObjectKind::kBlob)) {
      return Refuse(first->IsString() ? ToUtf8(isolate, first) : "object");
    }
    v8::Local<v8::Value> type = object->GetInternalField(2);
    if (!first->IsUint8Array() || !type->IsString()) return Refuse("Blob");
    std::string type_bytes = ToUtf8(isolate, type);
    v8::Local<v8::Uint8Array> bytes = first.As<v8::Uint8Array>();
    size_t length = bytes->ByteLength();
    if (length > kMaxHostBytes || type_bytes.size() > kMaxHostBytes) return Refuse("Blob");
    serializer_->WriteUint32(static_cast<uint32_t>(HostObjectKind::kBlob));
    serializer_->WriteUint32(static_cast<uint32_t>(type_bytes.size()));
    serializer_->WriteRawBytes(type_bytes.data(), type_bytes.size());
    serializer_->WriteUint32(static_cast<uint32_t>(length));
    if (length > 0) {
      std::shared_ptr<v8::BackingStore> store = bytes->Buffer()->GetBackingStore();
      serializer_->WriteRawBytes(static_cast<const uint8_t*>(store->Data()) + bytes->ByteOffset(),
                                 length);
    }
    return v8::Just(true);
  }

  void set_serializer(v8::ValueSerializer* serializer) { serializer_ = serializer; }

 private:
  // The kind, then what the host describes the object as, written inside the same value.
  v8::Maybe<bool> WriteCopied(v8::Isolate* isolate, v8::Local<v8::Object> object,
                              v8::Local<v8::Value> class_name) {
    if (!hooks_.describe_copied) {
      return Refuse(class_name->IsString() ? ToUtf8(isolate, class_name) : "object");
    }
    // V8 10.2 looks for the delegate's failure as a scheduled exception (what
    // Isolate::ThrowException makes here), not one left pending by a call into JavaScript: the
    // hook's is caught and thrown again.
    v8::Local<v8::Value> description;
    v8::Local<v8::Value> exception;
    {
      v8::TryCatch try_catch(isolate);
      if (!hooks_.describe_copied(isolate, object).ToLocal(&description)) {
        if (try_catch.HasTerminated() || !try_catch.HasCaught()) {
          try_catch.ReThrow();
          return v8::Nothing<bool>();
        }
        exception = try_catch.Exception();
      }
    }
    if (!exception.IsEmpty()) {
      isolate->ThrowException(exception);
      return v8::Nothing<bool>();
    }
    serializer_->WriteUint32(static_cast<uint32_t>(HostObjectKind::kCopied));
    return serializer_->WriteValue(isolate->GetCurrentContext(), description);
  }

  v8::Maybe<bool> Refuse(const std::string& type_name) {
    ThrowDataCloneError(FromUtf8(isolate_, "Could not serialize object of type \"" + type_name +
                                               "\". This type does not support serialization."));
    return v8::Nothing<bool>();
  }

  v8::Isolate* isolate_;
  const CloneHooks& hooks_;
  v8::ValueSerializer* serializer_ = nullptr;
};

class CloneReader : public v8::ValueDeserializer::Delegate {
 public:
  explicit CloneReader(const CloneHooks& hooks) : hooks_(hooks) {}

  // The bytes were walked by CheckCloneBytes: a host object is a Blob, its lengths within the
  // bytes. The reads are checked again all the same. No JavaScript may run here.
  v8::MaybeLocal<v8::Object> ReadHostObject(v8::Isolate* isolate) override {
    uint32_t kind = 0, type_length = 0, length = 0;
    const void* type_bytes = nullptr;
    const void* contents = nullptr;
    if (!deserializer_->ReadUint32(&kind)) {
      ThrowError(isolate, "Unable to deserialize cloned data: a malformed host object.");
      return {};
    }
    if (kind == static_cast<uint32_t>(HostObjectKind::kCopied)) return ReadCopied(isolate);
    if (kind != static_cast<uint32_t>(HostObjectKind::kBlob) ||
        !deserializer_->ReadUint32(&type_length) ||
        !deserializer_->ReadRawBytes(type_length, &type_bytes) ||
        !deserializer_->ReadUint32(&length) ||
        (length > 0 && !deserializer_->ReadRawBytes(length, &contents))) {
      ThrowError(isolate, "Unable to deserialize cloned data: a malformed Blob.");
      return {};
    }
    if (!hooks_.host_object_template || !hooks_.blob_prototype || !hooks_.adopt_blob) {
      ThrowError(isolate, "Unable to deserialize cloned data: a Blob cannot be read here.");
      return {};
    }
    v8::Local<v8::Uint8Array> bytes;
    if (!NewUint8ArrayCopy(isolate, std::string_view(static_cast<const char*>(contents), length))
             .ToLocal(&bytes)) {
      return {};
    }
    v8::Local<v8::String> type =
        FromUtf8(isolate, std::string_view(static_cast<const char*>(type_bytes), type_length));
    v8::Local<v8::Object> blob;
    if (!NewHostObject(isolate->GetCurrentContext(), hooks_.host_object_template(isolate),
                       hooks_.blob_prototype(isolate), HostObjectKind::kBlob, bytes, type)
             .ToLocal(&blob)) {
      return {};
    }
    blobs_.push_back({v8::Global<v8::Object>(isolate, blob),
                      v8::Global<v8::Uint8Array>(isolate, bytes),
                      v8::Global<v8::String>(isolate, type)});
    return blob;
  }

  // The nested description (V8 reads it as part of the value, ids included), and a bare host
  // object standing for the object until AdoptCopied gives it its class and state.
  v8::MaybeLocal<v8::Object> ReadCopied(v8::Isolate* isolate) {
    if (!hooks_.host_object_template || !hooks_.revive_copied) {
      ThrowError(isolate, "Unable to deserialize cloned data: this object cannot be read here.");
      return {};
    }
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    v8::Local<v8::Value> description;
    if (!deserializer_->ReadValue(context).ToLocal(&description)) return {};
    v8::Local<v8::Object> object;
    if (!NewHostObject(context, hooks_.host_object_template(isolate),
                       v8::Object::New(isolate)->GetPrototype(), HostObjectKind::kCopied,
                       FromUtf8(isolate, "Object"), v8::Undefined(isolate))
             .ToLocal(&object)) {
      return {};
    }
    copied_.push_back(
        {v8::Global<v8::Object>(isolate, object), v8::Global<v8::Value>(isolate, description)});
    return object;
  }

  // Gives every copied object read its class and state; false with a JS exception pending if one
  // failed. Objects inside a description (a Request's `cf`) were read, and are revived, first.
  bool AdoptCopied(v8::Isolate* isolate) {
    for (const ReadCopiedObject& read : copied_) {
      if (!hooks_.revive_copied(isolate, read.object.Get(isolate), read.description.Get(isolate))) {
        return false;
      }
    }
    return true;
  }

  // Gives every Blob read its state; false with a JS exception pending if one failed.
  bool AdoptBlobs(v8::Isolate* isolate) {
    for (const ReadBlob& read : blobs_) {
      if (!hooks_.adopt_blob(isolate, read.blob.Get(isolate), read.bytes.Get(isolate),
                             read.type.Get(isolate))) {
        return false;
      }
    }
    return true;
  }

  void set_deserializer(v8::ValueDeserializer* deserializer) { deserializer_ = deserializer; }

 private:
  // Globals: V8 may call ReadHostObject inside a HandleScope of its own.
  struct ReadBlob {
    v8::Global<v8::Object> blob;
    v8::Global<v8::Uint8Array> bytes;
    v8::Global<v8::String> type;
  };

  struct ReadCopiedObject {
    v8::Global<v8::Object> object;
    v8::Global<v8::Value> description;
  };

  const CloneHooks& hooks_;
  v8::ValueDeserializer* deserializer_ = nullptr;
  std::vector<ReadBlob> blobs_;
  std::vector<ReadCopiedObject> copied_;
};

}  // namespace

void RememberHeapLimit(v8::Isolate* isolate, size_t heap_limit_bytes) {
  isolate->SetData(kHeapLimitDataSlot, reinterpret_cast<void*>(heap_limit_bytes));
}

std::optional<std::string> Serialize(v8::Isolate* isolate, v8::Local<v8::Value> value,
                                     const CloneHooks& hooks) {
  CloneDelegate delegate(isolate, hooks);
  v8::ValueSerializer serializer(isolate, &delegate);
  delegate.set_serializer(&serializer);
  serializer.WriteHeader();
  bool ok = false;
  if (!serializer.WriteValue(isolate->GetCurrentContext(), value).To(&ok) || !ok) {
    return std::nullopt;
  }
  std::pair<uint8_t*, size_t> buffer = serializer.Release();
  std::string out(reinterpret_cast<const char*>(buffer.first), buffer.second);
  free(buffer.first);
  // A value whose bytes could not be read back is refused now, not stored and then unreadable
  // (a sparse array of length 33554431 takes a few bytes but 256 MiB to read).
  CloneBytesVerdict verdict = CheckCloneBytes(out, LimitsFor(isolate));
  if (!verdict.ok()) {
    std::string message = "Could not serialize value: ";
    message += verdict.kind == CloneBytesVerdict::Kind::kMalformed
                   ? "it has a part that cannot be read back (" + verdict.reason + ")"
                   : verdict.reason;
    delegate.ThrowDataCloneError(FromUtf8(isolate, message + "."));
    return std::nullopt;
  }
  return out;
}

v8::MaybeLocal<v8::Value> Deserialize(v8::Isolate* isolate, const char* data, size_t size,
                                      const CloneHooks& hooks) {
  if (isolate->IsExecutionTerminating()) return {};
  // V8 allocates what the bytes ask for before reading the contents, and dies (instead of
  // throwing) when that is over the heap limit; the bytes are checked first.
  CloneBytesVerdict verdict = CheckCloneBytes(std::string_view(data, size), LimitsFor(isolate));
  if (!verdict.ok()) {
    ThrowError(isolate, "Unable to deserialize cloned data: " + verdict.reason + ".");
    return {};
  }
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  CloneReader reader(hooks);
  v8::ValueDeserializer deserializer(isolate, reinterpret_cast<const uint8_t*>(data), size,
                                     &reader);
  reader.set_deserializer(&deserializer);
  bool ok = false;
  if (!deserializer.ReadHeader(context).To(&ok) || !ok) {
    if (!isolate->IsExecutionTerminating()) ThrowError(isolate, "Invalid stored value.");
    return {};
  }
  v8::Local<v8::Value> value;
  if (!deserializer.ReadValue(context).ToLocal(&value) || !reader.AdoptBlobs(isolate) ||
      !reader.AdoptCopied(isolate)) {
    return {};
  }
  return value;
}

}  // namespace dorm::js
