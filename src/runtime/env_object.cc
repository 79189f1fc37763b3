#include "runtime/env_object.h"

#include "js/strings.h"

namespace dorm::runtime {

v8::Local<v8::Object> NewEnvObject(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                   const EnvVars& env) {
  v8::Local<v8::Object> object = v8::Object::New(isolate);
  for (const auto& [key, value] : env) {
    if (!object
             ->CreateDataProperty(context, js::FromUtf8(isolate, key), js::FromUtf8(isolate, value))
             .FromMaybe(false)) {
      break;
    }
  }
  return object;
}

}  // namespace dorm::runtime
