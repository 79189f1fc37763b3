// One app's JavaScript world on one runtime thread: a V8 isolate and context with the prelude
// (Web APIs) and the Durable Object runtime loaded, and the app's class modules compiled on first
// use. All objects of the app placed on the thread share it, as on Cloudflare.
//
// Threading: created, used and destroyed on its runtime thread only. Methods that touch V8 must
// be called with the isolate and context entered (see ThreadEngine::RunTurn).
#pragma once

#include <v8.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "js/byte_budget.h"
#include "js/serializer.h"
#include "runtime/app_log.h"
#include "runtime/class_catalog.h"
#include "runtime/http_message.h"
#include "runtime/wasm_memory_ledger.h"

namespace dorm::runtime {

class ObjectHost;

class AppIsolate {
 public:
  // Creates the isolate and context and runs the prelude, with natives bound to `host` (which must
  // outlive the isolate). Throws std::runtime_error if the prelude fails (a build defect, not a
  // user error).
  AppIsolate(ObjectHost* host, std::shared_ptr<const AppCode> code, size_t heap_limit_bytes);
  ~AppIsolate();
  AppIsolate(const AppIsolate&) = delete;
  AppIsolate& operator=(const AppIsolate&) = delete;

  // The AppIsolate that owns `isolate` (kept in its embedder data slot 0).
  static AppIsolate* Of(v8::Isolate* isolate) {
    return static_cast<AppIsolate*>(isolate->GetData(0));
  }

  v8::Isolate* isolate() const { return isolate_; }
  v8::Local<v8::Context> context() const { return context_.Get(isolate_); }
  const std::shared_ptr<const AppCode>& code() const { return code_; }
  uint64_t generation() const { return code_->generation; }
  const std::string& app() const { return code_->app; }
  // The app's live log (runtime/app_log.h), set by the engine right after construction; null in
  // isolates that serve no app (deploy checks).
  AppLog* log() const { return log_.get(); }
  void set_log(std::shared_ptr<AppLog> log) { log_ = std::move(log); }
  // Writes a line the app's code caused (console output, an uncaught error) to the server log,
  // within the app's share of it (AppLog::WriteServerLog); without a live log, as it is.
  void WriteServerLog(LogLevel level, std::string_view message) const {
    if (log_) {
      log_->WriteServerLog(level, message);
    } else {
      Log(level, message);
    }
  }

  // The constructor of the class deployed under `name`, loading its module on first use. On
  // failure returns an empty handle and sets `error` (the module threw or did not load); a JS
  // exception may be pending.
  v8::Local<v8::Function> ClassConstructor(const std::string& name, std::string* error);

  // The namespace of the shared module `module_name` (DeployedClass::module_name) once a class of
  // it was loaded by ClassConstructor; empty before that or if it failed.
  v8::Local<v8::Object> SharedModuleNamespace(const std::string& module_name);

  // Compiles and evaluates `module_js` as a fresh module and checks the deploy rules: imports only
  // from `cloudflare:workers`, exactly one exported class (a `default` export of the same class
  // is allowed). Returns nullopt and sets `class_name`, or returns the error to show the
  // deployer.
  std::optional<std::string> InspectModule(const std::string& module_js,
                                           const std::string& filename, std::string* class_name);
  // The same for a project's bundled main module: imports only from `cloudflare:workers`, every
  // class of `class_names` exported as a class. Sets `has_worker` to whether it has a default
  // export (the Worker).
  std::optional<std::string> InspectProject(const std::string& module_js,
                                            const std::string& filename,
                                            const std::vector<std::string>& class_names,
                                            bool* has_worker);

  // Whether a deployed module may import `specifier`: one of the modules the runtime provides
  // (the Node.js ones only while the app's code has node_modules_importable).
  bool IsBuiltinModule(const std::string& specifier) const;
  // The bare name of one of the nodejs_compat flag's Node.js modules ("buffer" for "node:buffer"
  // or "buffer", as workerd takes both), or "" for any other specifier.
  static std::string NodeModuleName(const std::string& specifier);
  // The bare names of all of them.
  static const std::vector<std::string>& NodeModuleNames();
  // The module a project deployed with nodejs_compat imports first: evaluating it installs the
  // globals the flag brings (Buffer, process), as workerd does.
  static const char kNodeCompatGlobalsModule[];

  // A member of the prelude's `internals` or of the runtime's exports (e.g. "newRequest").
  v8::Local<v8::Function> Internal(const char* name);
  v8::Local<v8::Function> RuntimeFunction(const char* name);

  // The rejected promises reported to `unhandledrejection` listeners, held weakly, so that a
  // handler added to one later dispatches `rejectionhandled` (ThreadEngine). At most
  // kReportedRejectionLimit are kept, the oldest forgotten first.
  static constexpr size_t kReportedRejectionLimit = 1024;
  void RememberReportedRejection(v8::Local<v8::Promise> promise);
  // Whether `promise` was reported and is still remembered; it is then forgotten.
  bool TakeReportedRejection(v8::Local<v8::Promise> promise);
  // Whether a module's top level is running (EvaluateModule): workerd evaluates modules outside
  // any request, where rejections reach no listener.
  bool evaluating_module() const { return evaluating_module_ > 0; }

  // Functions used on every request, looked up once.
  v8::Local<v8::Function> new_request() const { return new_request_.Get(isolate_); }
  v8::Local<v8::Function> response_parts() const { return response_parts_.Get(isolate_); }
  // The native function responseParts hands a response's parts to, and the slot of the response
  // it fills (runtime/js_response.h).
  v8::Local<v8::Function> response_sink() const { return response_sink_.Get(isolate_); }
  HttpResponseData** response_sink_slot() { return &response_sink_slot_; }
  v8::Local<v8::Function> create_state() const { return create_state_.Get(isolate_); }
  v8::Local<v8::Function> deliver_fetch() const { return deliver_fetch_.Get(isolate_); }
  v8::Local<v8::Function> deliver_rpc() const { return deliver_rpc_.Get(isolate_); }

  // RPC messages encoded by the native encodeRpc for the call or answer that follows in the same
  // turn: JavaScript holds only the token, so the bytes never become an ArrayBuffer. A token is
  // taken once; what is left at the end of a turn is dropped (DropStagedMessages).
  // `references`: the message carries functions, RpcTargets or stubs (which only resolve within
  // the app).
  struct StagedMessage {
    std::string bytes;
    bool references = false;
    RpcStreams streams;  // the ReadableStreams in it (rpc_streams.h), cancelled if dropped
  };
  uint64_t StageMessage(StagedMessage message);
  // The message staged under `token`, removed; nullopt if there is none (taken, dropped, or a
  // number JavaScript made up).
  std::optional<StagedMessage> TakeStagedMessage(double token);
  void DropStagedMessages() {
    if (!staged_.empty()) staged_.clear();
  }

  // What structured clone in this isolate adds to V8's (js/serializer.h).
  const js::CloneHooks& clone_hooks() const { return clone_hooks_; }
  // The template of this isolate's host objects (js/host_objects.h).
  v8::Local<v8::ObjectTemplate> host_object_template() const {
    return host_object_template_.Get(isolate_);
  }

  // Set by the near-heap-limit callback or a final refusal of the memory budget; the owner must
  // then reset the app's objects and destroy this isolate. Call SettleMemoryRefusal first.
  bool out_of_memory() const { return out_of_memory_; }
  // Makes a refusal of an ArrayBuffer that no later grant cleared (js::ByteBudget::ReserveOrDefer)
  // final: sets out_of_memory() and terminates execution. Call on the isolate's thread, where a
  // turn or an event's outcome is decided; V8 also calls it at its first interrupt check after the
  // refusal.
  void SettleMemoryRefusal();

  size_t heap_limit_bytes() const { return heap_limit_bytes_; }
  // The isolate's memory outside the V8 heap (ArrayBuffer contents and WebAssembly memories),
  // held against the same limit as the heap.
  const js::ByteBudget& memory_budget() const { return *memory_budget_; }
  // The same budget, for native memory held on behalf of the app's code (zlib streams' state).
  js::ByteBudget& memory_budget() { return *memory_budget_; }
  // The same budget, shared, for memory whose release may come after the isolate is gone (a
  // backing store V8 frees late, possibly on another thread).
  std::shared_ptr<js::ByteBudget> shared_memory_budget() const { return memory_budget_; }
  WasmMemoryLedger& wasm_memories() { return *wasm_memories_; }
  // For native memory held for this isolate's code past its heap limit (a storage batch being
  // serialized, a list of keys being copied): ends the turn as if the heap had run out, so that
  // the owner resets the app's objects with the memory-limit error. Call on the isolate's thread,
  // then return to JavaScript without calling into it again.
  void ExceedMemoryLimit() {
    out_of_memory_ = true;
    isolate_->TerminateExecution();
  }

 private:
  static size_t NearHeapLimit(void* data, size_t current_limit, size_t initial_limit);
  static void OnPromiseReject(v8::PromiseRejectMessage message);
  static v8::MaybeLocal<v8::Module> ResolveModule(v8::Local<v8::Context> context,
                                                  v8::Local<v8::String> specifier,
                                                  v8::Local<v8::FixedArray> assertions,
                                                  v8::Local<v8::Module> referrer);
  static v8::MaybeLocal<v8::Value> EvaluateBuiltinModule(v8::Local<v8::Context> context,
                                                         v8::Local<v8::Module> module);
  void RunBundle(const char* source, size_t size, const char* name, const char* global_name,
                 v8::Global<v8::Object>* exports);
  // The module the runtime provides under `specifier` (`cloudflare:workers`, Cloudwerk's
  // `@cloudwerk/durable-object` and `@cloudwerk/core/bindings`), made on first use; empty if there
  // is none.
  v8::Local<v8::Module> BuiltinModule(const std::string& specifier);
  // Compiles, checks the imports of, links and evaluates a module being inspected; returns the
  // error to show the deployer, or nullopt with `ns` set to its namespace.
  std::optional<std::string> LoadForInspection(const std::string& module_js,
                                               const std::string& filename,
                                               v8::Local<v8::Object>* ns);
  // Compiles, links and evaluates `module_js` (named `filename` in stacks), keeping it in `slot`,
  // and returns its namespace. On failure returns empty with `error` set, or empty with `error`
  // cleared if the isolate is terminating.
  v8::MaybeLocal<v8::Object> EvaluateModule(const std::string& filename,
                                            const std::string& module_js,
                                            v8::Global<v8::Module>* slot, std::string* error);

  ObjectHost* host_;
  std::shared_ptr<const AppCode> code_;
  std::shared_ptr<AppLog> log_;
  std::shared_ptr<js::ByteBudget> memory_budget_;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator_;
  std::unique_ptr<WasmMemoryLedger> wasm_memories_;
  std::deque<v8::Global<v8::Promise>> reported_rejections_;  // weak
  int evaluating_module_ = 0;                                // nesting depth of EvaluateModule
  v8::Isolate* isolate_ = nullptr;
  v8::Global<v8::Context> context_;
  v8::Global<v8::Object> prelude_internals_;
  v8::Global<v8::Object> runtime_exports_;
  std::map<std::string, v8::Global<v8::Module>> builtin_modules_;
  // The exports object of each Node.js module created so far, by specifier (the synthetic
  // module's evaluation copies it).
  std::map<std::string, v8::Global<v8::Object>> node_module_exports_;
  struct LoadedClass {
    v8::Global<v8::Module> module;
    v8::Global<v8::Function> constructor;
    std::string error;
  };
  std::map<std::string, LoadedClass> classes_;
  // Modules shared by several classes (DeployedClass::module_name), by module name.
  struct LoadedModule {
    v8::Global<v8::Module> module;
    std::string error;
  };
  std::map<std::string, LoadedModule> shared_modules_;
  js::CloneHooks clone_hooks_;
  v8::Global<v8::ObjectTemplate> host_object_template_;
  v8::Global<v8::Value> blob_prototype_;  // the prelude's Blob.prototype
  v8::Global<v8::Function> new_request_;
  v8::Global<v8::Function> response_parts_;
  v8::Global<v8::Function> response_sink_;
  HttpResponseData* response_sink_slot_ = nullptr;
  v8::Global<v8::Function> create_state_;
  v8::Global<v8::Function> deliver_fetch_;
  v8::Global<v8::Function> deliver_rpc_;
  std::vector<std::pair<uint64_t, StagedMessage>> staged_;
  uint64_t next_stage_token_ = 1;
  std::atomic<bool> out_of_memory_{false};
  size_t heap_limit_bytes_;
};

}  // namespace dorm::runtime
