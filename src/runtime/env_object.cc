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
  // Service bindings: the project's own Worker entrypoints, by index into AppCode::Services().
  v8::Local<v8::Function> create_service = app->RuntimeFunction("createService");
  const std::vector<ServiceBinding>& services = app->code()->Services();
  if (create_service.IsEmpty()) return object;
  for (size_t i = 0; i < services.size(); ++i) {
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, static_cast<double>(i))};
    v8::Local<v8::Value> service;
    if (!create_service->Call(context, v8::Undefined(isolate), 1, args).ToLocal(&service)) break;
    if (!object->CreateDataProperty(context, js::FromUtf8(isolate, services[i].binding), service)
             .FromMaybe(false)) {
      break;
    }
  }
  return object;
}

v8::Local<v8::Object> NewExportsObject(AppIsolate* app, const std::string& module_name) {
  v8::Isolate* isolate = app->isolate();
  v8::Local<v8::Context> context = app->context();
  v8::Local<v8::Object> object = v8::Object::New(isolate);
  v8::Local<v8::Object> ns =
      module_name.empty() ? v8::Local<v8::Object>() : app->SharedModuleNamespace(module_name);
  v8::Local<v8::Function> create_namespace = app->RuntimeFunction("createNamespace");
  v8::Local<v8::Function> create_entrypoint = app->RuntimeFunction("createEntrypoint");
  v8::Local<v8::Array> names;
  if (ns.IsEmpty() || create_namespace.IsEmpty() || create_entrypoint.IsEmpty() ||
      !ns->GetOwnPropertyNames(context).ToLocal(&names)) {
    return object;
  }
  for (uint32_t i = 0; i < names->Length(); ++i) {
    v8::Local<v8::Value> key, value, binding;
    std::string export_name;
    if (!names->Get(context, i).ToLocal(&key) || !js::StringToUtf8(isolate, key, &export_name) ||
        !ns->Get(context, key).ToLocal(&value)) {
      return object;
    }
    const DeployedClass* durable_object = nullptr;
    for (const DeployedClass& deployed : app->code()->classes) {
      if (deployed.module_name == module_name && deployed.name != kWorkerClassName &&
          deployed.class_name == export_name) {
        durable_object = &deployed;
      }
    }
    if (durable_object) {
      v8::Local<v8::Value> args[] = {js::FromUtf8(isolate, durable_object->name)};
      if (!create_namespace->Call(context, v8::Undefined(isolate), 1, args).ToLocal(&binding)) {
        return object;
      }
    } else {
      // A WorkerEntrypoint class, or the default export's handler; undefined for anything else.
      v8::Local<v8::Value> args[] = {key, value};
      if (!create_entrypoint->Call(context, v8::Undefined(isolate), 2, args).ToLocal(&binding)) {
        return object;
      }
      if (binding->IsUndefined()) continue;
    }
    if (!object->CreateDataProperty(context, key.As<v8::Name>(), binding).FromMaybe(false)) {
      return object;
    }
  }
  return object;
}

}  // namespace dorm::runtime
