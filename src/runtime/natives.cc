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
  for (auto functions :
       {TextNatives(), CryptoNatives(), CloneNatives(), TimerNatives(), StorageNatives(),
        ObjectEventNatives(), WebSocketNatives(), NamespaceNatives(), FetchNatives(),
        CacheNatives(), AsyncContextNatives(), ResponseStreamNatives(), OutboundWebSocketNatives(),
        StubBodyNatives(), WasmMemoryNatives(), BundleNatives(), CompressionNatives(),
        DigestStreamNatives(), InterfaceNatives()}) {
    AddNatives(isolate, context, natives, data, functions);
  }
  // The SQL natives' data also carries the constructor of their cursor handles.
  AddNatives(isolate, context, natives, SqlNativesData(host, isolate, context), SqlNatives());
  return natives;
}

uint64_t IdArg(v8::Local<v8::Value> value) {
  if (!value->IsNumber()) return 0;
  const double number = value.As<v8::Number>()->Value();
  return number >= 1 && number < 9.0e15 ? static_cast<uint64_t>(number) : 0;
}

bool StreamChunkBytes(v8::Isolate* isolate, v8::Local<v8::Value> chunk, std::string* bytes) {
  if (chunk->IsArrayBufferView()) {
    auto view = chunk.As<v8::ArrayBufferView>();
    bytes->resize(view->ByteLength());
    view->CopyContents(bytes->data(), bytes->size());
    return true;
  }
  if (chunk->IsString()) {
    *bytes = js::ToUtf8(isolate, chunk);
    return true;
  }
  js::ThrowTypeError(isolate, "This ReadableStream did not return bytes.");
  return false;
}

std::string CurrentObjectTag(ObjectHost* host) {
  ObjectInstance* instance = host ? host->CurrentObject() : nullptr;
  return instance ? LogTag(instance->address) + " " : std::string();
}

}  // namespace dorm::runtime
