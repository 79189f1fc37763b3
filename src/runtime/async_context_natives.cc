// The natives behind AsyncLocalStorage (js/runtime/node/async_hooks.js): the context's
// continuation-preserved embedder data, a value V8 saves when a promise reaction is scheduled
// and restores while it runs, so that it follows a chain of awaits and then() callbacks. Timers
// and queueMicrotask carry it in JavaScript (js/prelude/async_context.js). Nothing here runs
// unless an app uses AsyncLocalStorage, so requests of other apps pay nothing for it.
#include "runtime/native_module.h"

namespace dorm::runtime {

namespace {
// getAsyncContext() -> the value last set (undefined at first).
void GetAsyncContext(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Local<v8::Value> value =
      info.GetIsolate()->GetCurrentContext()->GetContinuationPreservedEmbedderData();
  info.GetReturnValue().Set(value);
}

// setAsyncContext(value): any value; the runtime's own frames hold what they replace.
void SetAsyncContext(const v8::FunctionCallbackInfo<v8::Value>& info) {
  info.GetIsolate()->GetCurrentContext()->SetContinuationPreservedEmbedderData(info[0]);
}
}  // namespace

std::span<const NativeFunction> AsyncContextNatives() {
  static const NativeFunction kFunctions[] = {
      {"getAsyncContext", &GetAsyncContext},
      {"setAsyncContext", &SetAsyncContext},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
