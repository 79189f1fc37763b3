#include "runtime/rpc_message.h"

#include "js/compact_message.h"
#include "js/serializer.h"
#include "js/strings.h"

namespace dorm::runtime {

std::optional<std::string> EncodeRpcMessage(AppIsolate* app, v8::Local<v8::Value> message,
                                            bool first_is_arguments) {
  v8::Isolate* isolate = app->isolate();
  if (auto compact = js::EncodeCompactMessage(isolate, isolate->GetCurrentContext(), message,
                                              first_is_arguments)) {
    return compact;
  }
  return js::Serialize(isolate, message, app->clone_hooks());
}

std::optional<DecodedRpcMessage> DecodeRpcMessage(v8::Isolate* isolate, std::string_view bytes) {
  if (isolate->IsExecutionTerminating()) return std::nullopt;
  v8::TryCatch decoding(isolate);
  v8::MaybeLocal<v8::Value> decoded = js::IsCompactMessage(bytes)
                                          ? js::DecodeCompactMessage(isolate, bytes)
                                          : js::Deserialize(isolate, bytes.data(), bytes.size(),
                                                            AppIsolate::Of(isolate)->clone_hooks());
  v8::Local<v8::Value> value;
  if (decoded.ToLocal(&value)) return DecodedRpcMessage{value, false};
  if (decoding.HasTerminated() || isolate->IsExecutionTerminating()) return std::nullopt;
  return DecodedRpcMessage{decoding.HasCaught()
                               ? decoding.Exception()
                               : js::FromUtf8(isolate, "Malformed RPC message.").As<v8::Value>(),
                           true};
}

}  // namespace dorm::runtime
