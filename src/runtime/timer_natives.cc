// The natives behind js/prelude/timers.js (setTimeout, setInterval), js/prelude/console.js,
// js/prelude/microtask.js (queueMicrotask) and js/prelude/report_error.js.
// Contracts: docs/contracts.md.
#include "js/strings.h"
#include "runtime/app_isolate.h"
#include "runtime/native_module.h"
#include "runtime/object_instance.h"
#include "util/log.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class TimerCallbacks {
 public:
  // --- Timers, logging, microtasks ---
  static void SetTimer(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsFunction()) {
      js::ThrowTypeError(isolate, "setTimer(fn, delay, repeat)");
      return;
    }
    double delay = info[1]->IsNumber() ? info[1].As<v8::Number>()->Value() : 0;
    uint64_t id = HostOf(info)->AddTimer(AppOf(info), info[0].As<v8::Function>(), delay,
                                         info[2]->BooleanValue(isolate));
    info.GetReturnValue().Set(v8::Number::New(isolate, static_cast<double>(id)));
  }

  // Timer ids are guessable numbers: only the caller's own app's timers can be cleared.
  static void ClearTimer(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsNumber()) return;
    double id = info[0].As<v8::Number>()->Value();
    if (id >= 1 && id < 9.0e15) HostOf(info)->ClearTimer(AppOf(info), static_cast<uint64_t>(id));
  }

  static void LogMessage(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string level;
    if (!js::StringToUtf8(isolate, info[0], &level)) level = "log";
    LogLevel l = level == "error"   ? LogLevel::kError
                 : level == "warn"  ? LogLevel::kWarn
                 : level == "debug" ? LogLevel::kDebug
                                    : LogLevel::kInfo;
    std::string text = js::ToUtf8(isolate, info[1]);
    ObjectHost* host = HostOf(info);
    if (AppLog* log = AppOf(info)->log()) {
      TailLineView line;
      line.kind = TailKind::kConsole;
      line.level = ParseTailLevel(level).value_or(TailLevel::kLog);
      line.message = text;
      ObjectInstance* instance = host->CurrentObject();
      log->Add(instance ? &instance->address : nullptr, line);
    }
    AppOf(info)->WriteServerLog(l, CurrentObjectTag(host) + "console." + level + ": " + text);
  }

  static void EnqueueMicrotask(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsFunction()) {
      js::ThrowTypeError(info.GetIsolate(), "enqueueMicrotask(fn)");
      return;
    }
    info.GetIsolate()->EnqueueMicrotask(info[0].As<v8::Function>());
  }

  static void ReportError(const FunctionCallbackInfo<Value>& info) {
    ObjectHost* host = HostOf(info);
    std::string text = "Uncaught " + js::ExceptionStack(info.GetIsolate(), info[0]);
    if (AppLog* log = AppOf(info)->log()) {
      TailLineView line;
      line.kind = TailKind::kException;
      line.level = TailLevel::kError;
      line.message = text;
      ObjectInstance* instance = host->CurrentObject();
      log->Add(instance ? &instance->address : nullptr, line);
    }
    AppOf(info)->WriteServerLog(LogLevel::kError, CurrentObjectTag(host) + text);
  }
};

}  // namespace

std::span<const NativeFunction> TimerNatives() {
  static const NativeFunction kFunctions[] = {
      {"setTimer", &TimerCallbacks::SetTimer},
      {"clearTimer", &TimerCallbacks::ClearTimer},
      {"log", &TimerCallbacks::LogMessage},
      {"enqueueMicrotask", &TimerCallbacks::EnqueueMicrotask},
      {"reportError", &TimerCallbacks::ReportError},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
