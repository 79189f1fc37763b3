#include "runtime/module_validator.h"

#include <v8.h>

#include <memory>
#include <vector>

#include "js/strings.h"
#include "runtime/app_isolate.h"
#include "runtime/class_catalog.h"
#include "runtime/object_host.h"
#include "util/log.h"

namespace dorm::runtime {

const char ModuleValidator::kCpuLimitMessage[] =
    "The module's top-level code exceeded the CPU time limit.";
const char ModuleValidator::kMemoryLimitMessage[] =
    "The module's top-level code exceeded the memory limit.";

namespace {

// The host of a scratch isolate: there are no objects, storage or sockets for the module's code
// to reach (the natives that act on one throw as for an object that is gone), and timers are
// accepted but never scheduled, since the isolate is disposed as soon as the module is checked.
// It collects the promises the module rejects with no handler, to report them as a turn would.
class ScratchHost final : public ObjectHost {
 public:
  ObjectInstance* ResolveObjectHandle(AppIsolate* caller, v8::Local<v8::Value>) override {
    js::ThrowError(caller->isolate(), "Durable Object storage is no longer accessible.");
    return nullptr;
  }
  WebSocketRecord* ResolveSocketHandle(AppIsolate*, v8::Local<v8::Value>) override {
    return nullptr;
  }
  ObjectInstance* FindObjectOfApp(AppIsolate*, uint64_t) override { return nullptr; }
  ObjectInstance* CurrentObject() override { return nullptr; }
  // Unreachable: they take an instance, and no handle resolves to one.
  storage::ObjectDatabase* Database(ObjectInstance*, bool) override { return nullptr; }
  void MarkWritten(ObjectInstance*) override {}
  void NoteAlarmChanged(ObjectInstance*) override {}
  void OnEventSettled(ObjectInstance*, uint64_t, bool, v8::Local<v8::Value>) override {}
  void InputGateOpened(ObjectInstance*) override {}
  void Reset(ObjectInstance*, ResetReason, const std::string&) override {}
  // No events run here, so no response streams.
  uint64_t OpenResponseStream(ObjectInstance*, uint64_t, int64_t) override { return 0; }
  int ResponseStreamChunk(AppIsolate*, uint64_t, std::string) override { return 0; }
  void EndResponseStream(AppIsolate*, uint64_t, bool, ResponseStream::Failure) override {}
  std::optional<ResponseStream::Taken> TakeStubBody(AppIsolate*, uint64_t) override {
    return std::nullopt;
  }
  void CancelStubBody(AppIsolate*, uint64_t) override {}
  uint64_t OpenRequestBody(AppIsolate*) override { return 0; }
  std::shared_ptr<ResponseStream> TakeRequestBody(AppIsolate*, uint64_t) override {
    return nullptr;
  }
  int RequestBodyChunk(AppIsolate*, uint64_t, std::string) override { return 0; }
  void EndRequestBody(AppIsolate*, uint64_t, bool, bool) override {}
  uint64_t OpenRpcSink(AppIsolate*) override { return 0; }
  std::shared_ptr<ResponseStream> TakeRpcSink(AppIsolate*, uint64_t) override { return nullptr; }
  uint64_t AddTimer(AppIsolate*, v8::Local<v8::Function>, double, bool) override {
    return ++next_timer_id_;
  }
  void ClearTimer(AppIsolate*, uint64_t) override {}
  // A module being checked has no objects to call (its top level gets no env).
  void CallObject(AppIsolate* caller, OutgoingCall, v8::Local<v8::Promise::Resolver>) override {
    js::ThrowError(caller->isolate(), "Durable Object calls are not available here.");
  }
  // As workerd: no I/O at a module's top level.
  uint64_t FetchOutbound(AppIsolate* caller, outbound::ExchangeRequest,
                         v8::Local<v8::Promise::Resolver>) override {
    js::ThrowError(caller->isolate(),
                   "Disallowed operation called within global scope. Asynchronous I/O (ex: "
                   "fetch() or connect()), setting a timeout, and generating random values are "
                   "not allowed within global scope. To fix this error, perform this operation "
                   "within a handler. https://developers.cloudflare.com/workers/runtime-apis/"
                   "handlers/");
    return 0;
  }
  void CancelFetch(AppIsolate*, uint64_t) override {}
  void ReadFetchBody(AppIsolate*, uint64_t, v8::Local<v8::Promise::Resolver>) override {}
  v8::Local<v8::Value> WriteFetchBody(AppIsolate* caller, uint64_t, std::string_view) override {
    return v8::False(caller->isolate());
  }
  void EndFetchBody(AppIsolate*, uint64_t, bool) override {}
  uint64_t ConnectWebSocket(AppIsolate* caller, outbound::WebSocketRequest,
                            v8::Local<v8::Promise::Resolver> resolver) override {
    // The same refusal as fetch()'s: no I/O at a module's top level.
    return FetchOutbound(caller, outbound::ExchangeRequest{}, resolver);
  }
  void ReadWebSocket(AppIsolate*, uint64_t) override {}
  ResponseCache* response_cache() override { return nullptr; }
  WebSocketRegistry& web_sockets() override { return no_sockets_; }
  void SendOnSocket(WebSocketRecord*, OutputGate::SocketOutput) override {}
  SharedPayload PayloadOf(v8::Isolate* isolate, v8::Local<v8::String> text) override {
    return std::make_shared<const std::string>(js::ToUtf8(isolate, text));
  }
  void OnPromiseReject(AppIsolate* app, v8::PromiseRejectMessage& message) override {
    v8::Local<v8::Promise> promise = message.GetPromise();
    v8::Isolate* isolate = app->isolate();
    if (message.GetEvent() == v8::kPromiseRejectWithNoHandler) {
      unhandled_.emplace_back(isolate, promise);
    } else if (message.GetEvent() == v8::kPromiseHandlerAddedAfterReject) {
      for (auto it = unhandled_.begin(); it != unhandled_.end(); ++it) {
        if (it->Get(isolate) == promise) {
          unhandled_.erase(it);
          break;
        }
      }
    }
  }

  // The rejections collected so far; the list is left empty.
  std::vector<v8::Global<v8::Promise>> TakeUnhandled() {
    std::vector<v8::Global<v8::Promise>> taken = std::move(unhandled_);
    unhandled_.clear();
    return taken;
  }
  // Releases the handles into the isolate (before it is disposed).
  void Clear() { unhandled_.clear(); }

 private:
  uint64_t next_timer_id_ = 0;
  WebSocketRegistry no_sockets_;
  std::vector<v8::Global<v8::Promise>> unhandled_;
};

}  // namespace

ModuleValidator::ModuleValidator(js::Watchdog& watchdog, size_t heap_limit_bytes)
    : watchdog_slot_(watchdog.RegisterCurrentThread()), heap_limit_bytes_(heap_limit_bytes) {}

std::optional<std::string> ModuleValidator::Validate(const std::string& module_js,
                                                     const std::string& filename,
                                                     std::string* class_name) {
  // A single-file class has no compatibility flags: the Node.js modules are always importable.
  return Check(
      [&](AppIsolate& scratch) { return scratch.InspectModule(module_js, filename, class_name); },
      true);
}

std::optional<std::string> ModuleValidator::ValidateProject(
    const std::string& module_js, const std::string& filename,
    const std::vector<std::string>& class_names, bool* has_worker, bool nodejs_compat) {
  return Check(
      [&](AppIsolate& scratch) {
        return scratch.InspectProject(module_js, filename, class_names, has_worker);
      },
      nodejs_compat);
}

std::optional<std::string> ModuleValidator::Check(
    const std::function<std::optional<std::string>(AppIsolate&)>& inspect,
    bool node_modules_importable) {
  auto code = std::make_shared<AppCode>();
  code->app = "(deploy check)";
  code->node_modules_importable = node_modules_importable;
  ScratchHost host;
  AppIsolate scratch(&host, code, heap_limit_bytes_);
  v8::Isolate* isolate = scratch.isolate();
  // The host's handles into the isolate go before the isolate does.
  struct ClearHandles {
    ScratchHost& host;
    ~ClearHandles() { host.Clear(); }
  } clear_handles{host};

  std::optional<std::string> verdict;
  bool cpu_exceeded = false;
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Context::Scope context_scope(scratch.context());
    watchdog_slot_->Enter(isolate);
    verdict = inspect(scratch);
    if (!isolate->IsExecutionTerminating()) isolate->PerformMicrotaskCheckpoint();
    // Reported as a serving isolate reports them at the end of a turn. Reading a rejection's
    // stack may run the module's code (a getter), so this stays under the CPU limit; what that
    // code rejects in turn is not reported.
    std::vector<v8::Global<v8::Promise>> to_report = host.TakeUnhandled();
    for (auto& promise : to_report) {
      if (isolate->IsExecutionTerminating()) break;
      Log(LogLevel::kError,
          "Uncaught (in promise) " + js::ExceptionStack(isolate, promise.Get(isolate)->Result()));
    }
    cpu_exceeded = watchdog_slot_->Exit();
  }
  scratch.SettleMemoryRefusal();
  if (cpu_exceeded || scratch.out_of_memory() || isolate->IsExecutionTerminating()) {
    isolate->CancelTerminateExecution();
    const char* message = scratch.out_of_memory() ? kMemoryLimitMessage : kCpuLimitMessage;
    Log(LogLevel::kWarn, std::string("deploy check: ") + message);
    return message;
  }
  return verdict;
}

}  // namespace dorm::runtime
