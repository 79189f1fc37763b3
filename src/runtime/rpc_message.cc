#include "runtime/rpc_message.h"

#include "js/compact_message.h"
#include "js/serializer.h"

namespace dorm::runtime {

std::optional<std::string> EncodeRpcMessage(AppIsolate* app, v8::Local<v8::Value> message,
                                            bool first_is_arguments) {
  v8::Isolate* isolate = app->isolate();
  if (auto compact = js::EncodeCompactMessage(isolate, isolate->GetCurrentContext(), message,
                                              first_is_arguments)) {
    return compact;
  }
  return js::Serialize(isolate, message, app->data_clone_error_factory());
}

v8::MaybeLocal<v8::Value> DecodeRpcMessage(v8::Isolate* isolate, std::string_view bytes) {
  if (isolate->IsExecutionTerminating()) return {};
  if (js::IsCompactMessage(bytes)) return js::DecodeCompactMessage(isolate, bytes);
  return js::Deserialize(isolate, bytes.data(), bytes.size());
}

}  // namespace dorm::runtime
