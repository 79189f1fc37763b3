// Assembles the natives object from every module's functions (see native_module.h).
#include "js/strings.h"
#include "runtime/native_module.h"
#include "runtime/sql_natives.h"

namespace dorm::runtime {

namespace {
void AddNatives(v8::Isolate* isolate, v8::Local<v8::Context> context, v8::Local<v8::Object> natives,
                v8::Local<v8::Value> data, std::span<const NativeFunction> functions) {
  for (const NativeFunction& native : functions) {
    v8::Local<v8::Function> fn = v8::FunctionTemplate::New(isolate, native.callback, data)
                                     ->GetFunction(context)
                                     .ToLocalChecked();
    natives->Set(context, js::FromUtf8(isolate, native.name), fn).Check();
  }
}
}  // namespace

v8::Local<v8::Object> MakeNatives(ObjectHost* host, AppIsolate* app) {
  v8::Isolate* isolate = app->isolate();
  v8::Local<v8::Context> context = app->context();
  v8::Local<v8::Object> natives = v8::Object::New(isolate);
  v8::Local<v8::External> data = v8::External::New(isolate, host);
  for (auto functions : {TextNatives(), CryptoNatives(), CloneNatives(), TimerNatives(),
                         StorageNatives(), ObjectEventNatives(), WebSocketNatives(),
                         NamespaceNatives(), FetchNatives(), CacheNatives(), AsyncContextNatives(),
                         ResponseStreamNatives(), OutboundWebSocketNatives(), StubBodyNatives()}) {
    AddNatives(isolate, context, natives, data, functions);
  }
  // The SQL natives' data also carries the constructor of their cursor handles.
  AddNatives(isolate, context, natives, SqlNativesData(host, isolate, context), SqlNatives());
  return natives;
}

std::string CurrentObjectTag(ObjectHost* host) {
  ObjectInstance* instance = host ? host->CurrentObject() : nullptr;
  return instance ? LogTag(instance->address) + " " : std::string();
}

}  // namespace dorm::runtime
