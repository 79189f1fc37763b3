// The native behind js/prelude/wasm_memory.js: WebAssembly memories count against the app's
// memory limit (runtime/wasm_memory_ledger.h). Contracts: docs/contracts.md.
#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {
namespace {

// chargeWasmMemory(memory) → undefined: charges `memory`'s current size (after construction or a
// grow()) to the app. Over the limit the turn ends as if the heap had run out, and the app's
// objects are reset with the memory-limit error, as for ArrayBuffers.
void ChargeWasmMemory(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsWasmMemoryObject()) {
    js::ThrowTypeError(isolate, "chargeWasmMemory(memory): not a WebAssembly.Memory");
    return;
  }
  AppIsolate* app = AppOf(info);
  if (!app->wasm_memories().Charge(isolate->GetCurrentContext(),
                                   info[0].As<v8::WasmMemoryObject>())) {
    app->ExceedMemoryLimit();
  }
}

constexpr NativeFunction kWasmMemoryNatives[] = {
    {"chargeWasmMemory", &ChargeWasmMemory},
};

}  // namespace

std::span<const NativeFunction> WasmMemoryNatives() { return kWasmMemoryNatives; }

}  // namespace dorm::runtime
