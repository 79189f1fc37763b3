#include "runtime/module_validator.h"

#include <v8.h>

#include <memory>
#include <vector>

#include "js/strings.h"
#include "runtime/app_isolate.h"
#include "runtime/class_catalog.h"
#include "util/log.h"

namespace dorm::runtime {

const char ModuleValidator::kCpuLimitMessage[] =
    "The module's top-level code exceeded the CPU time limit.";
const char ModuleValidator::kMemoryLimitMessage[] =
    "The module's top-level code exceeded the memory limit.";

namespace {

// The promises that the module being checked on this thread rejected with no handler (a handler
// added later takes its promise out again); null while no check runs here.
thread_local std::vector<v8::Global<v8::Promise>>* t_unhandled_rejections = nullptr;

void OnPromiseReject(v8::PromiseRejectMessage message) {
  std::vector<v8::Global<v8::Promise>>* unhandled = t_unhandled_rejections;
  if (!unhandled) return;
  v8::Local<v8::Promise> promise = message.GetPromise();
  v8::Isolate* isolate = promise->GetIsolate();
  if (message.GetEvent() == v8::kPromiseRejectWithNoHandler) {
    unhandled->emplace_back(isolate, promise);
  } else if (message.GetEvent() == v8::kPromiseHandlerAddedAfterReject) {
    for (auto it = unhandled->begin(); it != unhandled->end(); ++it) {
      if (it->Get(isolate) == promise) {
        unhandled->erase(it);
        break;
      }
    }
  }
}

// Points t_unhandled_rejections at a check's list for the check's duration.
class CollectRejections {
 public:
  explicit CollectRejections(std::vector<v8::Global<v8::Promise>>* list) {
    t_unhandled_rejections = list;
  }
  ~CollectRejections() { t_unhandled_rejections = nullptr; }
  CollectRejections(const CollectRejections&) = delete;
  CollectRejections& operator=(const CollectRejections&) = delete;
};

}  // namespace

ModuleValidator::ModuleValidator(js::Watchdog& watchdog, size_t heap_limit_bytes)
    : watchdog_slot_(watchdog.RegisterCurrentThread()), heap_limit_bytes_(heap_limit_bytes) {}

std::string ModuleValidator::Validate(const std::string& module_js, const std::string& filename,
                                      std::string* class_name) {
  auto code = std::make_shared<AppCode>();
  code->app = "(deploy check)";
  AppIsolate scratch(/*engine=*/nullptr, code, heap_limit_bytes_);
  v8::Isolate* isolate = scratch.isolate();
  // Declared after `scratch`, so that the handles are released before the isolate is disposed.
  std::vector<v8::Global<v8::Promise>> unhandled;
  CollectRejections collecting(&unhandled);
  isolate->SetPromiseRejectCallback(&OnPromiseReject);

  std::string verdict;
  bool cpu_exceeded = false;
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Context::Scope context_scope(scratch.context());
    watchdog_slot_->Enter(isolate);
    verdict = scratch.InspectModule(module_js, filename, class_name);
    if (!isolate->IsExecutionTerminating()) isolate->PerformMicrotaskCheckpoint();
    // Reported as a serving isolate reports them at the end of a turn. Reading a rejection's
    // stack may run the module's code (a getter), so this stays under the CPU limit; what that
    // code rejects in turn is not reported.
    std::vector<v8::Global<v8::Promise>> to_report = std::move(unhandled);
    unhandled.clear();
    for (auto& promise : to_report) {
      if (isolate->IsExecutionTerminating()) break;
      Log(LogLevel::kError,
          "Uncaught (in promise) " + js::ExceptionStack(isolate, promise.Get(isolate)->Result()));
    }
    cpu_exceeded = watchdog_slot_->Exit();
  }
  if (cpu_exceeded || scratch.out_of_memory() || isolate->IsExecutionTerminating()) {
    isolate->CancelTerminateExecution();
    const char* message = scratch.out_of_memory() ? kMemoryLimitMessage : kCpuLimitMessage;
    Log(LogLevel::kWarn, std::string("deploy check: ") + message);
    return message;
  }
  return verdict;
}

}  // namespace dorm::runtime
