#include "runtime/wasm_memory_ledger.h"

namespace dorm::runtime {
namespace {

// Where a memory keeps its Entry: a private property, invisible to JavaScript.
v8::Local<v8::Private> EntryKey(v8::Isolate* isolate) {
  return v8::Private::ForApi(isolate,
                             v8::String::NewFromUtf8Literal(isolate, "dorm:wasmMemoryCharge"));
}

}  // namespace

WasmMemoryLedger::~WasmMemoryLedger() {
  for (auto& [raw, entry] : entries_) {
    budget_->Release(entry->bytes);
    entry->handle.Reset();
  }
}

bool WasmMemoryLedger::Charge(v8::Local<v8::Context> context,
                              v8::Local<v8::WasmMemoryObject> memory) {
  v8::Isolate* isolate = context->GetIsolate();
  const size_t bytes = memory->Buffer()->ByteLength();
  Entry* entry = nullptr;
  v8::Local<v8::Value> stored;
  if (memory->GetPrivate(context, EntryKey(isolate)).ToLocal(&stored) && stored->IsExternal()) {
    entry = static_cast<Entry*>(stored.As<v8::External>()->Value());
  }
  if (!entry) {
    auto owned = std::make_unique<Entry>();
    owned->ledger = this;
    owned->handle.Reset(isolate, memory);
    entry = owned.get();
    if (memory->SetPrivate(context, EntryKey(isolate), v8::External::New(isolate, entry))
            .IsNothing()) {
      return true;  // an exception is pending; nothing was charged
    }
    entry->handle.SetWeak(entry, &WasmMemoryLedger::OnCollected, v8::WeakCallbackType::kParameter);
    entries_.emplace(entry, std::move(owned));
  }
  // Memories only grow.
  if (bytes <= entry->bytes) return true;
  const size_t growth = bytes - entry->bytes;
  if (!budget_->TryReserve(growth)) {
    // Memories that are garbage still hold their charge until a collection finds them; a full
    // one gives those back before the app is judged over its limit.
    isolate->LowMemoryNotification();
    if (!budget_->Reserve(growth)) return false;
  }
  entry->bytes = bytes;
  charged_ += growth;
  return true;
}

void WasmMemoryLedger::OnCollected(const v8::WeakCallbackInfo<Entry>& info) {
  Entry* entry = info.GetParameter();
  WasmMemoryLedger* ledger = entry->ledger;
  ledger->budget_->Release(entry->bytes);
  ledger->charged_ -= entry->bytes;
  entry->handle.Reset();
  ledger->entries_.erase(entry);
}

}  // namespace dorm::runtime
