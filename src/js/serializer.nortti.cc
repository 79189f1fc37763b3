// Compiled without RTTI: it subclasses V8 types, for which libnode has no type information.
#include "js/serializer.h"

#include "js/strings.h"

namespace dorm::js {
namespace {

class CloneDelegate : public v8::ValueSerializer::Delegate {
 public:
  CloneDelegate(v8::Isolate* isolate, const DataCloneErrorFactory& make_error)
      : isolate_(isolate), make_error_(make_error) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    if (make_error_) {
      v8::Local<v8::Value> error = make_error_(isolate_, message);
      if (!error.IsEmpty()) {
        isolate_->ThrowException(error);
        return;
      }
    }
    isolate_->ThrowException(v8::Exception::Error(message));
  }

 private:
  v8::Isolate* isolate_;
  const DataCloneErrorFactory& make_error_;
};

}  // namespace

std::optional<std::string> Serialize(v8::Isolate* isolate, v8::Local<v8::Value> value,
                                     const DataCloneErrorFactory& make_error) {
  CloneDelegate delegate(isolate, make_error);
  v8::ValueSerializer serializer(isolate, &delegate);
  serializer.WriteHeader();
  bool ok = false;
  if (!serializer.WriteValue(isolate->GetCurrentContext(), value).To(&ok) || !ok) {
    return std::nullopt;
  }
  std::pair<uint8_t*, size_t> buffer = serializer.Release();
  std::string out(reinterpret_cast<const char*>(buffer.first), buffer.second);
  free(buffer.first);
  return out;
}

v8::MaybeLocal<v8::Value> Deserialize(v8::Isolate* isolate, const char* data, size_t size) {
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::ValueDeserializer deserializer(isolate, reinterpret_cast<const uint8_t*>(data), size);
  bool ok = false;
  if (!deserializer.ReadHeader(context).To(&ok) || !ok) {
    if (!isolate->IsExecutionTerminating()) ThrowError(isolate, "Invalid stored value.");
    return {};
  }
  return deserializer.ReadValue(context);
}

}  // namespace dorm::js
