// The natives behind js/runtime/deliver.js and js/runtime/state.js: the outcome of each event's
// handler, the input gate (blockConcurrencyWhile) and ctx.abort(). Contracts: docs/contracts.md.
#include "js/strings.h"
#include "runtime/native_module.h"
#include "util/log.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class ObjectEventCallbacks {
 public:
  // eventSettled(slot, eventId, fulfilled, value): the handler's promise for an event settled.
  // Only the runtime's own closures call it (it is not reachable from user code), possibly from
  // another object's turn: the slot is checked against the caller's app, not the running turn.
  static void EventSettled(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsNumber() || !info[1]->IsNumber()) return;
    const double slot = info[0].As<v8::Number>()->Value();
    const double id = info[1].As<v8::Number>()->Value();
    if (!(slot >= 1 && slot < 9.0e15) || !(id >= 1 && id < 9.0e15)) return;
    ObjectHost* host = HostOf(info);
    ObjectInstance* instance = host->FindObjectOfApp(AppOf(info), static_cast<uint64_t>(slot));
    if (!instance) return;
    host->OnEventSettled(instance, static_cast<uint64_t>(id),
                         info[2]->BooleanValue(info.GetIsolate()), info[3]);
  }

  // gateLock(slot): blockConcurrencyWhile() begins (see InputGate).
  static void GateLock(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = InstanceArg(info);
    if (!instance) return;
    if (!instance->input.Lock()) js::ThrowError(info.GetIsolate(), InputGate::kTooDeepMessage);
  }

  // gateUnlock(slot): its callback settled successfully.
  static void GateUnlock(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = InstanceArg(info);
    if (instance && instance->input.Unlock()) HostOf(info)->InputGateOpened(instance);
  }

  // gateBreak(slot, error): its callback threw; the object is reset, as on Cloudflare.
  static void GateBreak(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectHost* host = HostOf(info);
    ObjectInstance* instance = InstanceArg(info);
    if (!instance) return;
    std::string message = js::ExceptionMessage(isolate, info[1]);
    Log(LogLevel::kError, CurrentObjectTag(host) +
                              "blockConcurrencyWhile() callback threw; resetting: " +
                              js::ExceptionStack(isolate, info[1]));
    host->Reset(instance, ResetReason::kBlockConcurrencyThrew, message);
  }

  // abort(slot, message): resets the object now; its pending writes are discarded and its
  // callers get `message`.
  static void Abort(const FunctionCallbackInfo<Value>& info) {
    std::string message;
    if (!js::StringToUtf8(info.GetIsolate(), info[1], &message)) message = "abort()";
    ObjectInstance* instance = InstanceArg(info);
    if (instance) HostOf(info)->Reset(instance, ResetReason::kAborted, message);
  }
};

}  // namespace

std::span<const NativeFunction> ObjectEventNatives() {
  static const NativeFunction kFunctions[] = {
      {"eventSettled", &ObjectEventCallbacks::EventSettled},
      {"abort", &ObjectEventCallbacks::Abort},
      {"gateLock", &ObjectEventCallbacks::GateLock},
      {"gateUnlock", &ObjectEventCallbacks::GateUnlock},
      {"gateBreak", &ObjectEventCallbacks::GateBreak},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
