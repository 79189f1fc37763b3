// The natives: the C++ functions behind the JavaScript runtime, given to the prelude and the
// Durable Object runtime as one object (`__dormNative`, read and deleted by their bundles before
// any user code runs). One file per JavaScript module they serve, each listing its functions;
// docs/contracts.md lists every native with its contract.
//
// Every native receives its ObjectHost as the callback data. Natives validate every argument:
// the JS callers are the runtime's own, but user code can influence what reaches them (replaced
// built-ins), so a wrong type throws a TypeError and never crashes.
//
// Threading: the natives run on the isolate's runtime thread, inside a turn.
#pragma once

#include <v8.h>

#include <span>

#include "runtime/app_isolate.h"
#include "runtime/object_host.h"

namespace dorm::runtime {

// One native: its name on the natives object and its callback.
struct NativeFunction {
  const char* name;
  v8::FunctionCallback callback;
};

// The natives of each module (see each file for the JavaScript it serves).
std::span<const NativeFunction> TextNatives();          // text_natives.cc
std::span<const NativeFunction> CryptoNatives();        // crypto_natives.cc
std::span<const NativeFunction> CloneNatives();         // clone_natives.cc
std::span<const NativeFunction> TimerNatives();         // timer_natives.cc (timers, console)
std::span<const NativeFunction> StorageNatives();       // storage_natives.cc (KV, txn, alarms)
std::span<const NativeFunction> ObjectEventNatives();   // object_event_natives.cc (events, gates)
std::span<const NativeFunction> SqlNatives();           // sql_natives.cc
std::span<const NativeFunction> WebSocketNatives();     // web_socket_natives.cc
std::span<const NativeFunction> NamespaceNatives();     // namespace_natives.cc (ids, stub calls)
std::span<const NativeFunction> FetchNatives();         // fetch_natives.cc (fetch() to other hosts)
std::span<const NativeFunction> CacheNatives();         // cache_natives.cc (the Cache API)
std::span<const NativeFunction> AsyncContextNatives();  // async_context_natives.cc
std::span<const NativeFunction> ResponseStreamNatives();     // response_stream_natives.cc
std::span<const NativeFunction> OutboundWebSocketNatives();  // outbound_web_socket_natives.cc
std::span<const NativeFunction> StubBodyNatives();           // stub_body_natives.cc
std::span<const NativeFunction> WasmMemoryNatives();         // wasm_memory_natives.cc
std::span<const NativeFunction> BundleNatives();  // bundle_natives.cc (bundles built on first use)
std::span<const NativeFunction> CompressionNatives();   // compression_natives.cc
std::span<const NativeFunction> DigestStreamNatives();  // digest_stream_natives.cc
std::span<const NativeFunction> InterfaceNatives();     // interface_natives.cc

// A new natives object for `app`'s context (entered), every module's functions bound to `host`.
v8::Local<v8::Object> MakeNatives(ObjectHost* host, AppIsolate* app);

// The host a native was bound to.
inline ObjectHost* HostOf(const v8::FunctionCallbackInfo<v8::Value>& info) {
  return static_cast<ObjectHost*>(info.Data().As<v8::External>()->Value());
}
// The app whose code called the native.
inline AppIsolate* AppOf(const v8::FunctionCallbackInfo<v8::Value>& info) {
  return AppIsolate::Of(info.GetIsolate());
}
// The live instance that argument `index` names, if the caller may act for it (see
// ObjectHost::ResolveObjectHandle); nullptr with an Error thrown otherwise.
inline ObjectInstance* InstanceArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index = 0) {
  return HostOf(info)->ResolveObjectHandle(AppOf(info), info[index]);
}
// "[app/class/instance] " for the object whose turn runs, for log lines; "" outside one.
std::string CurrentObjectTag(ObjectHost* host);

// An id the runtime handed out, as JavaScript passes it back: a positive integer below 2^53; 0
// for anything else.
uint64_t IdArg(v8::Local<v8::Value> value);
// The bytes of a body stream's chunk: an ArrayBufferView's contents, or a string as UTF-8. False,
// with workerd's TypeError ("This ReadableStream did not return bytes.") thrown, for anything
// else.
bool StreamChunkBytes(v8::Isolate* isolate, v8::Local<v8::Value> chunk, std::string* bytes);

}  // namespace dorm::runtime
