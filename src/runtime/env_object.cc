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
    v8::Local<v8::Value> js_value = js::FromUtf8(isolate, value);
    if (value.size() >= kJsonEnvValuePrefixSize &&
        value.compare(0, kJsonEnvValuePrefixSize,
                      std::string_view(kJsonEnvValuePrefix, kJsonEnvValuePrefixSize)) == 0) {
      v8::TryCatch try_catch(isolate);
      v8::Local<v8::Value> parsed;
      if (v8::JSON::Parse(context, js::FromUtf8(isolate, std::string_view(value).substr(
                                                             kJsonEnvValuePrefixSize)))
              .ToLocal(&parsed)) {
        js_value = parsed;
      }
    }
    if (!object->CreateDataProperty(context, js::FromUtf8(isolate, key), js_value)
             .FromMaybe(false)) {
      return object;
    }
  }
  v8::Local<v8::Function> create_namespace = app->RuntimeFunction("createNamespace");
  if (create_namespace.IsEmpty()) return object;
  for (const DeployedClass& deployed : app->code()->classes) {
    if (deployed.name == kWorkerClassName) continue;
    v8::Local<v8::Value> args[] = {js::FromUtf8(isolate, deployed.name)};
    v8::Local<v8::Value> ns;
    if (!create_namespace->Call(context, v8::Undefined(isolate), 1, args).ToLocal(&ns)) break;
    if (!object
             ->CreateDataProperty(context,
                                  js::FromUtf8(isolate, deployed.binding.empty()
                                                            ? BindingNameFromKebab(deployed.name)
                                                            : deployed.binding),
                                  ns)
             .FromMaybe(false)) {
      break;
    }
  }
  return object;
}

}  // namespace dorm::runtime
