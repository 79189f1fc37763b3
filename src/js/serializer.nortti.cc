// Compiled without RTTI: it subclasses V8 types, for which libnode has no type information.
#include "js/serializer.h"

#include <algorithm>

#include "js/clone_bytes_check.h"
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

void RememberHeapLimit(v8::Isolate* isolate, size_t heap_limit_bytes) {
  isolate->SetData(kHeapLimitDataSlot, reinterpret_cast<void*>(heap_limit_bytes));
}

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

v8::MaybeLocal<v8::Value> Deserialize(v8::Isolate* isolate, const char* data, size_t size) {
  if (isolate->IsExecutionTerminating()) return {};
  // V8 allocates what the bytes ask for before reading the contents, and dies (instead of
  // throwing) when that is over the heap limit; the bytes are checked first.
  CloneBytesVerdict verdict = CheckCloneBytes(std::string_view(data, size), LimitsFor(isolate));
  if (!verdict.ok()) {
    ThrowError(isolate, "Unable to deserialize cloned data: " + verdict.reason + ".");
    return {};
  }
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
