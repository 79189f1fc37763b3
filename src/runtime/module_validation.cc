// Deploy-time checks of a class module, run in a scratch isolate (see ModuleValidator) so that
// nothing of it reaches the serving isolates unless it passes.
#include <set>

#include "js/strings.h"
#include "runtime/app_isolate.h"

namespace dorm::runtime {

std::optional<std::string> AppIsolate::LoadForInspection(const std::string& module_js,
                                                         const std::string& filename,
                                                         v8::Local<v8::Object>* ns) {
  v8::Local<v8::Context> context = this->context();
  v8::TryCatch try_catch(isolate_);
  v8::ScriptOrigin origin(isolate_, js::FromUtf8(isolate_, filename), 0, 0, false, -1,
                          v8::Local<v8::Value>(), false, false, /*is_module=*/true);
  v8::ScriptCompiler::Source source(js::FromUtf8(isolate_, module_js), origin);
  v8::Local<v8::Module> module;
  if (!v8::ScriptCompiler::CompileModule(isolate_, &source).ToLocal(&module)) {
    std::string message = js::ToUtf8(isolate_, try_catch.Exception());
    v8::Local<v8::Message> where = try_catch.Message();
    if (!where.IsEmpty()) {
      message += " (" + filename + ":" +
                 std::to_string(where->GetLineNumber(context).FromMaybe(0)) + ":" +
                 std::to_string(where->GetStartColumn(context).FromMaybe(0) + 1) + ")";
    }
    return message;
  }
  v8::Local<v8::FixedArray> requests = module->GetModuleRequests();
  for (int i = 0; i < requests->Length(); ++i) {
    auto request = requests->Get(context, i).As<v8::ModuleRequest>();
    std::string specifier = js::ToUtf8(isolate_, request->GetSpecifier());
    if (!IsBuiltinModule(specifier)) {
      // A Node.js module without the nodejs_compat flag: workerd's words.
      if (!NodeModuleName(specifier).empty()) {
        return "No such module \"node:" + NodeModuleName(specifier) + "\".\n  imported from \"" +
               filename + "\"";
      }
      return "Import '" + specifier + "' is not allowed";
    }
  }
  bool ok = false;
  if (!module->InstantiateModule(context, &AppIsolate::ResolveModule).To(&ok) || !ok) {
    return js::ExceptionMessage(isolate_, try_catch.Exception());
  }
  v8::Local<v8::Value> evaluation;
  if (!module->Evaluate(context).ToLocal(&evaluation)) {
    if (try_catch.HasTerminated())
      return "The module's top-level code exceeded the CPU time limit.";
    return "The module threw while loading: " +
           js::ExceptionMessage(isolate_, try_catch.Exception());
  }
  isolate_->PerformMicrotaskCheckpoint();
  if (module->GetStatus() == v8::Module::kErrored) {
    return "The module threw while loading: " +
           js::ExceptionMessage(isolate_, module->GetException());
  }
  *ns = module->GetModuleNamespace().As<v8::Object>();
  return std::nullopt;
}

std::optional<std::string> AppIsolate::InspectModule(const std::string& module_js,
                                                     const std::string& filename,
                                                     std::string* class_name) {
  v8::Local<v8::Context> context = this->context();
  v8::Local<v8::Object> ns;
  if (auto problem = LoadForInspection(module_js, filename, &ns)) return problem;
  v8::Local<v8::Array> names;
  if (!ns->GetOwnPropertyNames(context).ToLocal(&names)) return "Cannot read the module's exports.";
  v8::Local<v8::Function> the_class;
  std::string named;
  for (uint32_t i = 0; i < names->Length(); ++i) {
    v8::Local<v8::Value> key;
    if (!names->Get(context, i).ToLocal(&key)) return "Cannot read the module's exports.";
    v8::Local<v8::Value> value;
    if (!ns->Get(context, key).ToLocal(&value) || !value->IsFunction()) {
      return "Source must export exactly one class";
    }
    v8::Local<v8::String> text;
    // FunctionProtoToString is Function.prototype.toString as the engine has it: the module's
    // top level may have replaced the global one.
    if (!value.As<v8::Function>()->FunctionProtoToString(context).ToLocal(&text) ||
        js::ToUtf8(isolate_, text).rfind("class", 0) != 0) {
      return "Source must export exactly one class";
    }
    if (!the_class.IsEmpty() && !the_class->StrictEquals(value)) {
      return "Source must export exactly one class";
    }
    the_class = value.As<v8::Function>();
    std::string export_name = js::ToUtf8(isolate_, key);
    if (export_name != "default") named = export_name;
  }
  if (the_class.IsEmpty()) return "Source must export exactly one class";
  *class_name = named.empty() ? js::ToUtf8(isolate_, the_class->GetName()) : named;
  if (class_name->empty()) return "Source must export exactly one class";
  return std::nullopt;
}

std::optional<std::string> AppIsolate::InspectProject(const std::string& module_js,
                                                      const std::string& filename,
                                                      const std::vector<std::string>& class_names,
                                                      bool* has_worker) {
  v8::Local<v8::Context> context = this->context();
  v8::Local<v8::Object> ns;
  if (auto problem = LoadForInspection(module_js, filename, &ns)) return problem;
  std::string missing;
  for (const std::string& name : class_names) {
    v8::Local<v8::Value> value;
    if (!ns->Get(context, js::FromUtf8(isolate_, name)).ToLocal(&value) || !value->IsFunction() ||
        !value.As<v8::Function>()->IsConstructor()) {
      missing += (missing.empty() ? "" : ", ") + name;
    }
  }
  if (!missing.empty()) {
    // Wrangler's words for the same mistake.
    return "Your Worker depends on the following Durable Objects, which are not exported in your "
           "entrypoint file: " +
           missing + ". You should export these objects from your entrypoint, " + filename + ".";
  }
  v8::Local<v8::Value> entry;
  *has_worker = ns->Get(context, js::FromUtf8(isolate_, "default")).ToLocal(&entry) &&
                (entry->IsObject() || entry->IsFunction());
  return std::nullopt;
}

}  // namespace dorm::runtime
