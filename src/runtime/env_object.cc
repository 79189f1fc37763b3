#include "runtime/env_object.h"

#include "js/strings.h"
#include "runtime/app_isolate.h"
#include "util/names.h"

namespace dorm::runtime {

v8::Local<v8::Object> NewEnvObject(AppIsolate* app) {
  v8::Isolate* isolate = app->isolate();
  v8::Local<v8::Context> context = app->context();
  v8::Local<v8::Object> object = v8::Object::New(isolate);
  for (const auto& [key, value] : app->code()->env) {
    if (!object
             ->CreateDataProperty(context, js::FromUtf8(isolate, key), js::FromUtf8(isolate, value))
             .FromMaybe(false)) {
      return object;
    }
  }
  v8::Local<v8::Function> create_namespace = app->RuntimeFunction("createNamespace");
  if (create_namespace.IsEmpty()) return object;
  for (const DeployedClass& deployed : app->code()->classes) {
    v8::Local<v8::Value> args[] = {js::FromUtf8(isolate, deployed.name)};
    v8::Local<v8::Value> ns;
    if (!create_namespace->Call(context, v8::Undefined(isolate), 1, args).ToLocal(&ns)) break;
    if (!object
             ->CreateDataProperty(context,
                                  js::FromUtf8(isolate, BindingNameFromKebab(deployed.name)), ns)
             .FromMaybe(false)) {
      break;
    }
  }
  return object;
}

}  // namespace dorm::runtime
