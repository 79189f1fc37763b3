#include "runtime/app_isolate.h"

#include <cstring>
#include <stdexcept>

#include "js/array_buffer_allocator.h"
#include "js/host_objects.h"
#include "js/platform.h"
#include "js/serializer.h"
#include "js/strings.h"
#include "runtime/compression_natives.h"
#include "runtime/digest_stream_natives.h"
#include "runtime/embedded_source.h"
#include "runtime/env_object.h"
#include "runtime/js_response.h"
#include "runtime/native_module.h"
#include "runtime/object_host.h"
#include "runtime/sql_natives.h"

namespace dorm::runtime {

extern const unsigned char kPreludeSource[];
extern const std::size_t kPreludeSourceSize;
extern const unsigned char kRuntimeSource[];
extern const std::size_t kRuntimeSourceSize;

namespace {
// Headroom granted when the heap limit is reached, so that the termination can unwind; the
// isolate is destroyed right after. It must hold the largest object one allocation can ask for
// (a fast array's backing store of up to 32 Mi elements is 256 MiB, a flat two-byte string up to
// 1 GiB): V8 treats an allocation that still fails after the callback as a fatal OOM, which ends
// the whole process. The memory is used only by the allocation that crossed the limit (and what
// runs until the termination takes effect), and is freed with the isolate.
constexpr size_t kHeapHeadroom = (1u << 30) + (64u << 20);
// The modules the runtime provides, by specifier, with their exports (see BuiltinModule).
struct BuiltinModuleSpec {
  const char* specifier;
  std::vector<const char*> exports;
};
const BuiltinModuleSpec kBuiltinModules[] = {
    {"cloudflare:workers",
     {"DurableObject", "WorkerEntrypoint", "RpcTarget", "WorkflowEntrypoint", "env"}},
    {"@cloudwerk/durable-object",
     {"defineDurableObject", "DurableObjectNotFoundError", "DurableObjectRPCError"}},
    {"@cloudwerk/core/bindings", {"durableObjects"}},
};

// The Node.js modules of the nodejs_compat flag, by bare name (js/runtime/node; the runtime's
// nodeModule() builds each one's exports). Their export names come from that object.
const char* const kNodeModules[] = {"_stream_duplex",
                                    "_stream_passthrough",
                                    "_stream_readable",
                                    "_stream_transform",
                                    "_stream_writable",
                                    "assert",
                                    "async_hooks",
                                    "buffer",
                                    "crypto",
                                    "events",
                                    "path",
                                    "process",
                                    "stream",
                                    "stream/consumers",
                                    "stream/promises",
                                    "stream/web",
                                    "string_decoder",
                                    "url",
                                    "util"};

const BuiltinModuleSpec* FindBuiltinModule(const std::string& specifier) {
  for (const BuiltinModuleSpec& spec : kBuiltinModules) {
    if (specifier == spec.specifier) return &spec;
  }
  return nullptr;
}

// Copies a Node.js module's exports object into its synthetic module: each own string key (the
// names the module was created with), and `default` as the object itself unless it has one.
bool SetNodeModuleExports(v8::Local<v8::Context> context, v8::Local<v8::Module> module,
                          v8::Local<v8::Object> exports) {
  v8::Isolate* isolate = context->GetIsolate();
  v8::Local<v8::Array> keys;
  if (!exports->GetOwnPropertyNames(context).ToLocal(&keys)) return false;
  bool has_default = false;
  for (uint32_t i = 0; i < keys->Length(); ++i) {
    v8::Local<v8::Value> key;
    v8::Local<v8::Value> value;
    if (!keys->Get(context, i).ToLocal(&key) || !key->IsString() ||
        !exports->Get(context, key).ToLocal(&value) ||
        module->SetSyntheticModuleExport(isolate, key.As<v8::String>(), value).IsNothing()) {
      return false;
    }
    has_default |= js::ToUtf8(isolate, key) == "default";
  }
  return has_default ||
         module->SetSyntheticModuleExport(isolate, js::FromUtf8(isolate, "default"), exports)
             .IsJust();
}

}  // namespace

AppIsolate::AppIsolate(ObjectHost* host, std::shared_ptr<const AppCode> code,
                       size_t heap_limit_bytes)
    : host_(host), code_(std::move(code)), heap_limit_bytes_(heap_limit_bytes) {
  // ArrayBuffer memory counts against the same limit as the heap, as on Cloudflare: running out
  // resets the isolate's objects rather than handing user code a catchable error. A buffer the
  // budget refuses may fit once V8 has collected garbage and asked again, so that refusal is
  // settled later (SettleMemoryRefusal): at V8's next interrupt check, when an event fails, or at
  // the end of the turn, whichever comes first.
  memory_budget_ = std::make_shared<js::ByteBudget>(
      heap_limit_bytes,
      [this] {
        out_of_memory_ = true;
        if (isolate_) isolate_->TerminateExecution();
      },
      [this] {
        if (isolate_) {
          isolate_->RequestInterrupt(
              [](v8::Isolate*, void* self) {
                static_cast<AppIsolate*>(self)->SettleMemoryRefusal();
              },
              this);
        }
      });
  allocator_ = js::NewBudgetedAllocator(memory_budget_);
  wasm_memories_ = std::make_unique<WasmMemoryLedger>(memory_budget_);
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = allocator_.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, heap_limit_bytes);
  isolate_ = v8::Isolate::New(params);
  isolate_->SetData(0, this);
  js::RememberHeapLimit(isolate_, heap_limit_bytes);
  // As in workerd, Atomics.wait() throws instead of blocking: a blocked thread would stall every
  // object placed on it, at no CPU cost the watchdog could see.
  isolate_->SetAllowAtomicsWait(false);
  // As in workerd, code cannot compile WebAssembly from bytes at run time
  // (WebAssembly.compile(), instantiate(bytes), new WebAssembly.Module(): V8's CompileError
  // "Wasm code generation disallowed by embedder").
  isolate_->SetAllowWasmCodeGenerationCallback(
      [](v8::Local<v8::Context>, v8::Local<v8::String>) { return false; });
  isolate_->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  isolate_->AddNearHeapLimitCallback(&AppIsolate::NearHeapLimit, this);
  isolate_->SetPromiseRejectCallback(&AppIsolate::OnPromiseReject);

  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handle_scope(isolate_);
  v8::Local<v8::Context> context = v8::Context::New(isolate_);
  // As on Cloudflare, user code cannot compile code from strings (eval, new Function).
  context->AllowCodeGenerationFromStrings(false);
  context_.Reset(isolate_, context);
  v8::Context::Scope context_scope(context);

  host_object_template_.Reset(isolate_, js::NewHostObjectTemplate(isolate_));
  clone_hooks_.host_object_template = [this](v8::Isolate*) { return host_object_template(); };
  clone_hooks_.blob_prototype = [this](v8::Isolate*) { return blob_prototype_.Get(isolate_); };
  clone_hooks_.adopt_blob = [this](v8::Isolate* isolate, v8::Local<v8::Object> blob,
                                   v8::Local<v8::Uint8Array> bytes, v8::Local<v8::String> type) {
    v8::Local<v8::Function> adopt = Internal("adoptClonedBlob");
    v8::Local<v8::Value> args[] = {blob, bytes, type};
    return !adopt.IsEmpty() &&
           !adopt->Call(isolate->GetCurrentContext(), v8::Undefined(isolate), 3, args).IsEmpty();
  };
  clone_hooks_.make_error = [this](v8::Isolate* isolate, v8::Local<v8::String> message) {
    v8::Local<v8::Function> make = Internal("makeDOMException");
    v8::Local<v8::Value> args[] = {message, js::FromUtf8(isolate, "DataCloneError")};
    v8::Local<v8::Value> error;
    if (make.IsEmpty() || !make->Call(isolate->GetCurrentContext(), v8::Undefined(isolate), 2, args)
                               .ToLocal(&error)) {
      return v8::Local<v8::Value>();
    }
    return error;
  };

  clone_hooks_.describe_copied = [this](v8::Isolate* isolate,
                                        v8::Local<v8::Object> object) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Function> describe = Internal("describeCopied");
    v8::Local<v8::Value> args[] = {object};
    if (describe.IsEmpty()) {
      js::ThrowError(isolate, "the prelude has no describeCopied");
      return {};
    }
    return describe->Call(isolate->GetCurrentContext(), v8::Undefined(isolate), 1, args);
  };
  clone_hooks_.revive_copied = [this](v8::Isolate* isolate, v8::Local<v8::Object> object,
                                      v8::Local<v8::Value> description) {
    v8::Local<v8::Function> revive = Internal("reviveCopied");
    if (revive.IsEmpty()) {
      js::ThrowError(isolate, "the prelude has no reviveCopied");
      return false;
    }
    v8::Local<v8::Value> args[] = {object, description};
    return !revive->Call(isolate->GetCurrentContext(), v8::Undefined(isolate), 2, args).IsEmpty();
  };

  RunBundle(reinterpret_cast<const char*>(kPreludeSource), kPreludeSourceSize, "dorm:prelude",
            "__dormPrelude", &prelude_internals_);
  RunBundle(reinterpret_cast<const char*>(kRuntimeSource), kRuntimeSourceSize, "dorm:runtime",
            "__dormRuntime", &runtime_exports_);
  new_request_.Reset(isolate_, Internal("newRequest"));
  v8::Local<v8::Value> blob_prototype;
  if (!prelude_internals_.Get(isolate_)
           ->Get(context, js::FromUtf8(isolate_, "blobPrototype"))
           .ToLocal(&blob_prototype) ||
      !blob_prototype->IsObject()) {
    throw std::runtime_error("the prelude has no Blob.prototype");
  }
  blob_prototype_.Reset(isolate_, blob_prototype);
  response_parts_.Reset(isolate_, Internal("responseParts"));
  v8::Local<v8::Function> response_sink;
  if (!NewResponseSink(context, &response_sink_slot_).ToLocal(&response_sink)) {
    throw std::runtime_error("the response sink could not be made");
  }
  response_sink_.Reset(isolate_, response_sink);
  create_state_.Reset(isolate_, RuntimeFunction("createState"));
  deliver_fetch_.Reset(isolate_, RuntimeFunction("deliverFetch"));
  deliver_rpc_.Reset(isolate_, RuntimeFunction("deliverRpc"));
  if (new_request_.IsEmpty() || response_parts_.IsEmpty() || create_state_.IsEmpty() ||
      deliver_fetch_.IsEmpty() || deliver_rpc_.IsEmpty()) {
    throw std::runtime_error(
        "the prelude lacks newRequest, responseParts, createState, deliverFetch or deliverRpc");
  }
}

AppIsolate::~AppIsolate() {
  classes_.clear();
  shared_modules_.clear();
  new_request_.Reset();
  response_parts_.Reset();
  response_sink_.Reset();
  create_state_.Reset();
  deliver_fetch_.Reset();
  deliver_rpc_.Reset();
  builtin_modules_.clear();
  node_module_exports_.clear();
  prelude_internals_.Reset();
  runtime_exports_.Reset();
  host_object_template_.Reset();
  blob_prototype_.Reset();
  context_.Reset();
  reported_rejections_.clear();
  ReleaseSqlCursors(isolate_);
  ReleaseCompressionStreams(isolate_);
  ReleaseDigestStreams(isolate_);
  wasm_memories_.reset();
  js::ForgetIsolate(isolate_);
  isolate_->Dispose();
}

void AppIsolate::OnPromiseReject(v8::PromiseRejectMessage message) {
  AppIsolate* app = AppIsolate::Of(message.GetPromise()->GetIsolate());
  if (app && app->host_) app->host_->OnPromiseReject(app, message);
}

void AppIsolate::RunBundle(const char* source, size_t size, const char* name,
                           const char* global_name, v8::Global<v8::Object>* exports) {
  v8::Local<v8::Context> context = this->context();
  v8::Local<v8::Object> global = context->Global();
  global->Set(context, js::FromUtf8(isolate_, "__dormNative"), MakeNatives(host_, this)).Check();
  v8::TryCatch try_catch(isolate_);
  v8::ScriptOrigin origin(isolate_, js::FromUtf8(isolate_, name));
  v8::ScriptCompiler::Source script_source(EmbeddedSource(isolate_, source, size), origin);
  v8::Local<v8::Script> script;
  v8::Local<v8::Value> result;
  if (!v8::ScriptCompiler::Compile(context, &script_source).ToLocal(&script) ||
      !script->Run(context).ToLocal(&result)) {
    throw std::runtime_error(std::string(name) +
                             " failed: " + js::ExceptionStack(isolate_, try_catch.Exception()));
  }
  v8::Local<v8::String> key = js::FromUtf8(isolate_, global_name);
  v8::Local<v8::Value> value;
  if (!global->Get(context, key).ToLocal(&value) || !value->IsObject()) {
    throw std::runtime_error(std::string(name) + " did not define " + global_name);
  }
  v8::Local<v8::Object> object = value.As<v8::Object>();
  // esbuild puts an ES module's default export under "default".
  v8::Local<v8::Value> inner;
  if (object->Get(context, js::FromUtf8(isolate_, "default")).ToLocal(&inner) &&
      inner->IsObject()) {
    object = inner.As<v8::Object>();
  }
  exports->Reset(isolate_, object);
  // Both must be gone before user code runs: they would expose the host's internals.
  if (!global->Delete(context, key).FromMaybe(false) ||
      !global->Delete(context, js::FromUtf8(isolate_, "__dormNative")).FromMaybe(false) ||
      global->Has(context, key).FromMaybe(true)) {
    throw std::runtime_error(std::string(name) + " left " + global_name + " on the global object");
  }
}

v8::Local<v8::Function> AppIsolate::Internal(const char* name) {
  v8::Local<v8::Value> value;
  if (!prelude_internals_.Get(isolate_)
           ->Get(context(), js::FromUtf8(isolate_, name))
           .ToLocal(&value) ||
      !value->IsFunction()) {
    return {};
  }
  return value.As<v8::Function>();
}

void AppIsolate::RememberReportedRejection(v8::Local<v8::Promise> promise) {
  // Promises collected since are dropped on the way.
  while (!reported_rejections_.empty() &&
         (reported_rejections_.front().IsEmpty() ||
          reported_rejections_.size() >= kReportedRejectionLimit)) {
    reported_rejections_.pop_front();
  }
  reported_rejections_.emplace_back(isolate_, promise);
  reported_rejections_.back().SetWeak();
}

bool AppIsolate::TakeReportedRejection(v8::Local<v8::Promise> promise) {
  for (auto it = reported_rejections_.begin(); it != reported_rejections_.end(); ++it) {
    if (!it->IsEmpty() && it->Get(isolate_) == promise) {
      reported_rejections_.erase(it);
      return true;
    }
  }
  return false;
}

uint64_t AppIsolate::StageMessage(StagedMessage message) {
  const uint64_t token = next_stage_token_++;
  staged_.emplace_back(token, std::move(message));
  return token;
}

std::optional<AppIsolate::StagedMessage> AppIsolate::TakeStagedMessage(double token) {
  for (auto it = staged_.begin(); it != staged_.end(); ++it) {
    if (static_cast<double>(it->first) == token) {
      StagedMessage message = std::move(it->second);
      staged_.erase(it);
      return message;
    }
  }
  return std::nullopt;
}

v8::Local<v8::Function> AppIsolate::RuntimeFunction(const char* name) {
  v8::Local<v8::Value> value;
  if (!runtime_exports_.Get(isolate_)
           ->Get(context(), js::FromUtf8(isolate_, name))
           .ToLocal(&value) ||
      !value->IsFunction()) {
    return {};
  }
  return value.As<v8::Function>();
}

void AppIsolate::SettleMemoryRefusal() {
  if (memory_budget_->TakePendingRefusal()) ExceedMemoryLimit();
}

size_t AppIsolate::NearHeapLimit(void* data, size_t current_limit, size_t) {
  auto* self = static_cast<AppIsolate*>(data);
  self->out_of_memory_ = true;
  self->isolate_->TerminateExecution();
  return current_limit + kHeapHeadroom;
}

const char AppIsolate::kNodeCompatGlobalsModule[] = "dorm:nodejs_compat";

std::string AppIsolate::NodeModuleName(const std::string& specifier) {
  std::string bare = specifier.rfind("node:", 0) == 0 ? specifier.substr(5) : specifier;
  for (const char* name : kNodeModules) {
    if (bare == name) return bare;
  }
  return "";
}

const std::vector<std::string>& AppIsolate::NodeModuleNames() {
  static const std::vector<std::string> names(std::begin(kNodeModules), std::end(kNodeModules));
  return names;
}

bool AppIsolate::IsBuiltinModule(const std::string& specifier) const {
  if (FindBuiltinModule(specifier) != nullptr) return true;
  if (!code_->node_modules_importable) return false;
  return specifier == kNodeCompatGlobalsModule || !NodeModuleName(specifier).empty();
}

v8::Local<v8::Module> AppIsolate::BuiltinModule(const std::string& specifier) {
  auto it = builtin_modules_.find(specifier);
  if (it != builtin_modules_.end()) return it->second.Get(isolate_);
  if (!IsBuiltinModule(specifier)) return {};
  const BuiltinModuleSpec* spec = FindBuiltinModule(specifier);
  std::vector<v8::Local<v8::String>> names;
  if (spec) {
    for (const char* n : spec->exports) names.push_back(js::FromUtf8(isolate_, n));
  } else {
    // A Node.js module (or the flag's globals, which export nothing): the runtime builds its
    // exports object now, whose own string keys and `default` (the object itself, as Node's
    // CommonJS modules are imported) become the module's exports.
    v8::Local<v8::Context> context = this->context();
    std::string bare =
        specifier == kNodeCompatGlobalsModule ? specifier : NodeModuleName(specifier);
    v8::Local<v8::Function> build = RuntimeFunction("nodeModule");
    // The app's env goes along: process.env holds its text and JSON vars, as on workerd.
    v8::Local<v8::Value> args[] = {js::FromUtf8(isolate_, bare), NewEnvObject(this)};
    v8::Local<v8::Value> value;
    if (build.IsEmpty() ||
        !build->Call(context, v8::Undefined(isolate_), 2, args).ToLocal(&value) ||
        !value->IsObject()) {
      return {};
    }
    v8::Local<v8::Object> exports = value.As<v8::Object>();
    if (specifier != kNodeCompatGlobalsModule) {
      v8::Local<v8::Array> keys;
      if (!exports->GetOwnPropertyNames(context).ToLocal(&keys)) return {};
      bool has_default = false;
      for (uint32_t i = 0; i < keys->Length(); ++i) {
        v8::Local<v8::Value> key;
        if (!keys->Get(context, i).ToLocal(&key) || !key->IsString()) return {};
        names.push_back(key.As<v8::String>());
        has_default |= js::ToUtf8(isolate_, key) == "default";
      }
      if (!has_default) names.push_back(js::FromUtf8(isolate_, "default"));
    }
    node_module_exports_[specifier].Reset(isolate_, exports);
  }
  v8::Local<v8::Module> module = v8::Module::CreateSyntheticModule(
      isolate_, js::FromUtf8(isolate_, specifier), names, &AppIsolate::EvaluateBuiltinModule);
  builtin_modules_[specifier].Reset(isolate_, module);
  return module;
}

v8::MaybeLocal<v8::Value> AppIsolate::EvaluateBuiltinModule(v8::Local<v8::Context> context,
                                                            v8::Local<v8::Module> module) {
  v8::Isolate* isolate = context->GetIsolate();
  AppIsolate* self = AppIsolate::Of(isolate);
  std::string specifier;
  for (const auto& [name, global] : self->builtin_modules_) {
    if (global.Get(isolate) == module) specifier = name;
  }
  if (auto node = self->node_module_exports_.find(specifier);
      node != self->node_module_exports_.end()) {
    v8::Local<v8::Object> exports = node->second.Get(isolate);
    if (specifier != kNodeCompatGlobalsModule && !SetNodeModuleExports(context, module, exports)) {
      return {};
    }
    v8::Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return {};
    if (resolver->Resolve(context, v8::Undefined(isolate)).IsNothing()) return {};
    return resolver->GetPromise();
  }
  const BuiltinModuleSpec* spec = FindBuiltinModule(specifier);
  if (!spec) return {};
  v8::Local<v8::Object> exports = self->runtime_exports_.Get(isolate);
  if (specifier == "@cloudwerk/durable-object") {
    v8::Local<v8::Value> cloudwerk;
    if (!exports->Get(context, js::FromUtf8(isolate, "cloudwerk")).ToLocal(&cloudwerk) ||
        !cloudwerk->IsObject()) {
      return {};
    }
    exports = cloudwerk.As<v8::Object>();
  }
  for (const char* n : spec->exports) {
    v8::Local<v8::String> name = js::FromUtf8(isolate, n);
    v8::Local<v8::Value> value;
    if (specifier == "cloudflare:workers" && std::strcmp(n, "env") == 0) {
      // As on Cloudflare, the app's env (vars and bindings), importable at the top level.
      value = NewEnvObject(self);
    } else if (specifier == "@cloudwerk/core/bindings") {
      // Cloudwerk's `durableObjects`: the app's namespaces, by class name.
      v8::Local<v8::Function> bindings = self->RuntimeFunction("cloudwerkBindings");
      v8::Local<v8::Value> env = NewEnvObject(self);
      if (bindings.IsEmpty() ||
          !bindings->Call(context, v8::Undefined(isolate), 1, &env).ToLocal(&value)) {
        return {};
      }
    } else if (!exports->Get(context, name).ToLocal(&value)) {
      return {};
    }
    if (module->SetSyntheticModuleExport(isolate, name, value).IsNothing()) return {};
  }
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return {};
  if (resolver->Resolve(context, v8::Undefined(isolate)).IsNothing()) return {};
  return resolver->GetPromise();
}

v8::MaybeLocal<v8::Module> AppIsolate::ResolveModule(v8::Local<v8::Context> context,
                                                     v8::Local<v8::String> specifier,
                                                     v8::Local<v8::FixedArray>,
                                                     v8::Local<v8::Module>) {
  v8::Isolate* isolate = context->GetIsolate();
  AppIsolate* self = AppIsolate::Of(isolate);
  std::string name = js::ToUtf8(isolate, specifier);
  v8::Local<v8::Module> builtin = self->BuiltinModule(name);
  if (!builtin.IsEmpty()) return builtin;
  js::ThrowError(isolate, "No such module \"" + name + "\".");
  return {};
}

v8::MaybeLocal<v8::Object> AppIsolate::EvaluateModule(const std::string& filename,
                                                      const std::string& module_js,
                                                      v8::Global<v8::Module>* slot,
                                                      std::string* error) {
  v8::Local<v8::Context> context = this->context();
  v8::TryCatch try_catch(isolate_);
  v8::ScriptOrigin origin(isolate_, js::FromUtf8(isolate_, filename), 0, 0, false, -1,
                          v8::Local<v8::Value>(), false, false, /*is_module=*/true);
  v8::ScriptCompiler::Source source(js::FromUtf8(isolate_, module_js), origin);
  v8::Local<v8::Module> module;
  if (!v8::ScriptCompiler::CompileModule(isolate_, &source).ToLocal(&module)) {
    *error = js::ExceptionMessage(isolate_, try_catch.Exception());
    return {};
  }
  slot->Reset(isolate_, module);
  bool ok = false;
  if (!module->InstantiateModule(context, &AppIsolate::ResolveModule).To(&ok) || !ok) {
    *error = js::ExceptionMessage(isolate_, try_catch.Exception());
    return {};
  }
  v8::Local<v8::Value> evaluation;
  // The top level and the microtasks it queued (ThreadEngine::OnPromiseReject asks).
  ++evaluating_module_;
  const bool evaluated = module->Evaluate(context).ToLocal(&evaluation);
  if (evaluated) isolate_->PerformMicrotaskCheckpoint();
  --evaluating_module_;
  if (!evaluated) {
    *error = isolate_->IsExecutionTerminating()
                 ? std::string()
                 : js::ExceptionMessage(isolate_, try_catch.Exception());
    return {};
  }
  if (module->GetStatus() == v8::Module::kErrored) {
    *error = js::ExceptionMessage(isolate_, module->GetException());
    return {};
  }
  if (module->GetStatus() != v8::Module::kEvaluated) {
    *error = "The module " + filename + " did not finish loading (top-level await).";
    return {};
  }
  return module->GetModuleNamespace().As<v8::Object>();
}

v8::Local<v8::Object> AppIsolate::SharedModuleNamespace(const std::string& module_name) {
  auto it = shared_modules_.find(module_name);
  if (it == shared_modules_.end() || it->second.module.IsEmpty()) return {};
  return it->second.module.Get(isolate_)->GetModuleNamespace().As<v8::Object>();
}

v8::Local<v8::Function> AppIsolate::ClassConstructor(const std::string& name, std::string* error) {
  auto it = classes_.find(name);
  if (it != classes_.end()) {
    if (!it->second.error.empty()) {
      *error = it->second.error;
      return {};
    }
    return it->second.constructor.Get(isolate_);
  }
  const DeployedClass* deployed = code_->Find(name);
  if (!deployed) {
    *error = "No Durable Object class named '" + name + "'.";
    return {};
  }
  LoadedClass& loaded = classes_[name];
  v8::Local<v8::Context> context = this->context();
  v8::TryCatch try_catch(isolate_);
  auto fail = [&](const std::string& message) -> v8::Local<v8::Function> {
    loaded.error = message;
    *error = message;
    return {};
  };
  // A load cut short by termination is not the module's error: the next use loads it again.
  auto terminated = [&]() -> v8::Local<v8::Function> {
    classes_.erase(name);
    *error = "terminated";
    return {};
  };
  v8::Local<v8::Object> ns;
  std::string message;
  if (deployed->module_name.empty()) {
    if (!EvaluateModule(name + ".js", deployed->module_js, &loaded.module, &message).ToLocal(&ns)) {
      return message.empty() ? terminated() : fail(message);
    }
  } else {
    LoadedModule& shared = shared_modules_[deployed->module_name];
    if (!shared.error.empty()) return fail(shared.error);
    if (shared.module.IsEmpty()) {
      if (!EvaluateModule(deployed->module_name, deployed->module_js, &shared.module, &message)
               .ToLocal(&ns)) {
        if (message.empty()) {
          shared_modules_.erase(deployed->module_name);
          return terminated();
        }
        shared.error = message;
        return fail(message);
      }
    } else {
      ns = shared.module.Get(isolate_)->GetModuleNamespace().As<v8::Object>();
    }
  }
  v8::Local<v8::Value> ctor;
  const std::string worker_prefix = std::string(kWorkerClassName) + ":";
  if (name == kWorkerClassName || name.rfind(worker_prefix, 0) == 0) {
    // The Worker's default export (a handler object or a WorkerEntrypoint class), or a named
    // entrypoint ("_worker:<Export>"), behind a class that the runtime constructs like an
    // object's.
    const std::string export_name =
        name == kWorkerClassName ? std::string("default") : name.substr(worker_prefix.size());
    v8::Local<v8::Value> entry;
    v8::Local<v8::Function> host_class = RuntimeFunction("workerHostClass");
    if (host_class.IsEmpty() ||
        !ns->Get(context, js::FromUtf8(isolate_, export_name)).ToLocal(&entry) ||
        !host_class->Call(context, v8::Undefined(isolate_), 1, &entry).ToLocal(&ctor) ||
        !ctor->IsFunction()) {
      if (try_catch.HasTerminated()) return terminated();
      return fail(export_name == "default"
                      ? "The project's main module has no default export to serve requests."
                      : "The project's main module does not export the entrypoint '" + export_name +
                            "'.");
    }
  } else if (!ns->Get(context, js::FromUtf8(isolate_, deployed->class_name)).ToLocal(&ctor) ||
             !ctor->IsFunction()) {
    if (!deployed->module_name.empty()) {
      return fail("The project's main module does not export a class named '" +
                  deployed->class_name + "'.");
    }
    if (!ns->Get(context, js::FromUtf8(isolate_, "default")).ToLocal(&ctor) ||
        !ctor->IsFunction()) {
      return fail("Source must export exactly one class");
    }
  }
  loaded.constructor.Reset(isolate_, ctor.As<v8::Function>());
  return ctor.As<v8::Function>();
}

}  // namespace dorm::runtime
