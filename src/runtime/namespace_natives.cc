// The natives behind js/runtime/namespace.js: Durable Object ids of the caller's app's classes
// (idFromName, newUniqueId, idFromString's checks) and the calls stubs and service bindings make
// (RPC and fetch).
// Contracts: docs/contracts.md.
//
// The class a native is asked about must be a class of the calling app (taken from the isolate,
// never from JavaScript), and ids must be well-formed ids of that class: an id names a database
// file, and a class a folder, so nothing JavaScript passes may reach outside the app's own.
#include <cstring>

#include "js/strings.h"
#include "runtime/app_isolate.h"
#include "runtime/native_module.h"
#include "runtime/object_id.h"
#include "runtime/rpc_limits.h"
#include "runtime/rpc_message.h"
#include "runtime/rpc_streams.h"
#include "util/names.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class NamespaceCallbacks {
 public:
  // idFromName(className, name) → 64 hex digits.
  static void IdFromName(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string class_name, name;
    if (!ClassArg(info, 0, &class_name)) return;
    if (!js::StringToUtf8(isolate, info[1], &name)) {
      js::ThrowTypeError(isolate, "idFromName(className, name)");
      return;
    }
    info.GetReturnValue().Set(
        js::FromUtf8(isolate, ObjectIdForName(AppOf(info)->app(), class_name, name)));
  }

  // newUniqueId(className) → 64 hex digits, random.
  static void NewUniqueId(const FunctionCallbackInfo<Value>& info) {
    std::string class_name;
    if (!ClassArg(info, 0, &class_name)) return;
    info.GetReturnValue().Set(js::FromUtf8(
        info.GetIsolate(), NewUniqueObjectId(NamespaceKey(AppOf(info)->app(), class_name))));
  }

  // checkObjectId(className, hex) → 0: an id of the class; 1: not 64 hex digits; 2: an id of
  // another namespace.
  static void CheckObjectId(const FunctionCallbackInfo<Value>& info) {
    std::string class_name, hex;
    if (!ClassArg(info, 0, &class_name)) return;
    if (!js::StringToUtf8(info.GetIsolate(), info[1], &hex) || !IsObjectIdSyntax(hex)) {
      info.GetReturnValue().Set(1);
      return;
    }
    info.GetReturnValue().Set(
        ObjectIdBelongsTo(NamespaceKey(AppOf(info)->app(), class_name), hex) ? 0 : 2);
  }

  // callObject(className, idHex, name, method, args) → a promise of the answer (see
  // ObjectHost::CallObject). `name` is the id's name or undefined; `args` an ArrayBuffer of the
  // serialized argument array.
  static void CallObject(const FunctionCallbackInfo<Value>& info) { Call(info, &AddressArgs); }

  // callService(index, _, _, method, args): as callObject, to the entrypoint of the app's service
  // binding `index` (AppCode::Services()).
  static void CallService(const FunctionCallbackInfo<Value>& info) { Call(info, &ServiceArgs); }

  // fetchObject(className, idHex, name, method, url, headers, body) → a promise of the answer.
  // `headers` is an array of [name, value] string pairs; `body` an ArrayBuffer or null.
  static void FetchObject(const FunctionCallbackInfo<Value>& info) { Fetch(info, &AddressArgs); }

  // fetchService(index, _, _, method, url, headers, body): as fetchObject, to service `index`.
  static void FetchService(const FunctionCallbackInfo<Value>& info) { Fetch(info, &ServiceArgs); }

  // callEntrypoint(exportName, _, _, method, args) and fetchEntrypoint(exportName, _, _, method,
  // url, headers, body): as callService and fetchService, to the entrypoint that the project's
  // module exports as `exportName` ("default": its default export), for `ctx.exports`.
  static void CallEntrypoint(const FunctionCallbackInfo<Value>& info) {
    Call(info, &EntrypointArgs);
  }
  static void FetchEntrypoint(const FunctionCallbackInfo<Value>& info) {
    Fetch(info, &EntrypointArgs);
  }

  // currentObject() → [instance, className, idHex, name] of the object whose turn runs (its JS
  // instance and the address a stub reaches it by; name undefined when the object has none), or
  // undefined outside an object's turn. What a function or RpcTarget passed over RPC is exported
  // from: calls on it come back to this object as events.
  static void CurrentObject(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectInstance* instance = HostOf(info)->CurrentObject();
    if (!instance || instance->app != AppOf(info) || instance->js_object.IsEmpty()) return;
    const ObjectAddress& address = instance->address;
    v8::Local<v8::Value> parts[] = {
        instance->js_object.Get(isolate), js::FromUtf8(isolate, address.class_name),
        js::FromUtf8(isolate, address.object_id),
        address.instance_name.empty()
            ? v8::Undefined(isolate).As<v8::Value>()
            : js::FromUtf8(isolate, address.instance_name).As<v8::Value>()};
    info.GetReturnValue().Set(v8::Array::New(isolate, parts, 4));
  }

  // encodeRpc(message, firstIsArguments, references, streams) → token: the bytes of an RPC
  // message (`references`: it carries functions, RpcTargets or stubs), kept for the
  // callObject/callService or eventSettled that follows in the same turn (see
  // AppIsolate::StageMessage). Throws the DataCloneError of what cannot be cloned.
  //
  // `streams` (optional): the channels of the streams in the message, in the order of its stream
  // markers: a ReadableStream's openRequestBody id, a WritableStream's openRpcSink id negated;
  // each is taken once, as a stub's fetch() takes a request body. An id that is not an open,
  // untaken channel of this app throws a TypeError.
  static void EncodeRpc(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    AppIsolate* app = AppOf(info);
    std::vector<RpcChannel> streams;
    if (info[3]->IsArray()) {
      v8::Local<v8::Array> ids = info[3].As<v8::Array>();
      // Taken channels are ended by the list below if anything fails on the way.
      auto list = [&streams] { return std::make_shared<RpcStreamList>(std::move(streams)); };
      for (uint32_t i = 0; i < ids->Length(); ++i) {
        v8::Local<v8::Value> id;
        if (!ids->Get(isolate->GetCurrentContext(), i).ToLocal(&id)) {
          list();
          return;
        }
        // A ReadableStream's openRequestBody id, or a WritableStream's openRpcSink id negated.
        const double number = id->IsNumber() ? id.As<v8::Number>()->Value() : 0;
        const bool writable = number < 0;
        const double magnitude = writable ? -number : number;
        std::shared_ptr<ResponseStream> stream;
        if (magnitude >= 1 && magnitude < 9.0e15) {
          const uint64_t key = static_cast<uint64_t>(magnitude);
          stream = writable ? HostOf(info)->TakeRpcSink(app, key)
                            : HostOf(info)->TakeRequestBody(app, key);
        }
        if (!stream) {
          list();
          js::ThrowTypeError(isolate, "encodeRpc(message, ..., streams): not an open stream");
          return;
        }
        streams.push_back({std::move(stream), writable});
      }
    }
    RpcStreams carried =
        streams.empty() ? nullptr : std::make_shared<RpcStreamList>(std::move(streams));
    std::optional<std::string> bytes = EncodeRpcMessage(app, info[0], info[1]->IsTrue());
    if (!bytes) return;
    const bool references = info[2]->IsTrue();
    const uint64_t token = app->StageMessage({std::move(*bytes), references, std::move(carried)});
    info.GetReturnValue().Set(v8::Number::New(info.GetIsolate(), static_cast<double>(token)));
  }

 private:
  using AddressReader = bool (*)(const FunctionCallbackInfo<Value>&, ObjectAddress*);

  static void Call(const FunctionCallbackInfo<Value>& info, AddressReader read_address) {
    v8::Isolate* isolate = info.GetIsolate();
    OutgoingCall call;
    if (!read_address(info, &call.address)) return;
    std::optional<AppIsolate::StagedMessage> args;
    if (!js::StringToUtf8(isolate, info[3], &call.method) || !info[4]->IsNumber() ||
        !(args = AppOf(info)->TakeStagedMessage(info[4].As<v8::Number>()->Value()))) {
      js::ThrowTypeError(isolate, "callObject(className, id, name, method, args)");
      return;
    }
    if (args->bytes.size() > kMaxRpcMessageBytes) {
      js::ThrowError(isolate, RpcTooLargeMessage(args->bytes.size()));
      return;
    }
    if (args->references && call.address.app != AppOf(info)->app()) {
      js::ThrowError(isolate, kForeignReferencesMessage);
      return;
    }
    call.args = std::move(args->bytes);
    call.references = args->references;
    call.streams = std::move(args->streams);
    Send(info, std::move(call));
  }

  static void Fetch(const FunctionCallbackInfo<Value>& info, AddressReader read_address) {
    v8::Isolate* isolate = info.GetIsolate();
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    OutgoingCall call;
    call.fetch = true;
    if (!read_address(info, &call.address)) return;
    auto usage = [&] {
      js::ThrowTypeError(isolate, "fetchObject(className, id, name, method, url, headers, body)");
    };
    if (!js::StringToUtf8(isolate, info[3], &call.request.method) ||
        !js::StringToUtf8(isolate, info[4], &call.request.url) || !info[5]->IsArray()) {
      usage();
      return;
    }
    v8::Local<v8::Array> headers = info[5].As<v8::Array>();
    for (uint32_t i = 0; i < headers->Length(); ++i) {
      v8::Local<v8::Value> pair, name, value;
      std::string name_text, value_text;
      if (!headers->Get(context, i).ToLocal(&pair) || !pair->IsArray() ||
          !pair.As<v8::Array>()->Get(context, 0).ToLocal(&name) ||
          !pair.As<v8::Array>()->Get(context, 1).ToLocal(&value) ||
          !js::StringToUtf8(isolate, name, &name_text) ||
          !js::StringToUtf8(isolate, value, &value_text)) {
        if (!isolate->IsExecutionTerminating()) usage();
        return;
      }
      call.request.headers.emplace_back(std::move(name_text), std::move(value_text));
    }
    if (info[6]->IsArrayBuffer()) {
      auto store = info[6].As<v8::ArrayBuffer>()->GetBackingStore();
      call.request.body.assign(static_cast<const char*>(store->Data()), store->ByteLength());
    } else if (info[6]->IsNumber()) {
      // A body the caller streams (openRequestBody's id), taken once.
      const double id = info[6].As<v8::Number>()->Value();
      if (id >= 1 && id < 9.0e15) {
        call.request.body_stream =
            HostOf(info)->TakeRequestBody(AppOf(info), static_cast<uint64_t>(id));
      }
      if (!call.request.body_stream) {
        usage();
        return;
      }
    } else if (!info[6]->IsNull()) {
      usage();
      return;
    }
    Send(info, std::move(call));
  }

  // Argument 0: the index of one of the calling app's service bindings, which names an entrypoint
  // of its own Worker or of another app's (never JavaScript's choice of app or class; another app
  // must have allowed this one: ThreadEngine::CallObject). The entrypoint runs as the object
  // "service" of class "_worker[:<Entrypoint>]" of that app.
  static bool ServiceArgs(const FunctionCallbackInfo<Value>& info, ObjectAddress* address) {
    v8::Isolate* isolate = info.GetIsolate();
    const std::vector<ServiceBinding>& services = AppOf(info)->code()->Services();
    if (!info[0]->IsUint32() || info[0].As<v8::Uint32>()->Value() >= services.size()) {
      js::ThrowTypeError(isolate, "Not a service binding of this app.");
      return false;
    }
    const ServiceBinding& service = services[info[0].As<v8::Uint32>()->Value()];
    address->app = service.app.empty() ? AppOf(info)->app() : service.app;
    address->class_name = kWorkerClassName;
    if (!service.entrypoint.empty()) address->class_name += ":" + service.entrypoint;
    address->instance_name = "service";
    CompleteAddress(*address);
    return true;
  }

  // Argument 0: an export of the calling app's project module (an identifier; the entrypoint's
  // class is looked up in the module when the call arrives, and a name it does not export fails
  // the call then). The app must have a project module.
  static bool EntrypointArgs(const FunctionCallbackInfo<Value>& info, ObjectAddress* address) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string name;
    if (!js::StringToUtf8(isolate, info[0], &name) || !IsIdentifier(name) ||
        !AppOf(info)->code()->Find(kWorkerClassName)) {
      js::ThrowTypeError(isolate, "Not an entrypoint of this app.");
      return false;
    }
    address->app = AppOf(info)->app();
    address->class_name = kWorkerClassName;
    if (name != "default") address->class_name += ":" + name;
    address->instance_name = "service";
    CompleteAddress(*address);
    return true;
  }

  // Reads argument `index` as the name of one of the calling app's classes; throws otherwise.
  static bool ClassArg(const FunctionCallbackInfo<Value>& info, int index, std::string* out) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!js::StringToUtf8(isolate, info[index], out) || !AppOf(info)->code()->Find(*out)) {
      js::ThrowTypeError(isolate, "Not a Durable Object class of this app.");
      return false;
    }
    return true;
  }

  // Arguments 0-2: the class, the id (64 hex digits; as workerd, possibly made by another
  // namespace of the app) and the name the id was made from, if any (kept only if the id is that
  // name's in this namespace).
  static bool AddressArgs(const FunctionCallbackInfo<Value>& info, ObjectAddress* address) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!ClassArg(info, 0, &address->class_name)) return false;
    address->app = AppOf(info)->app();
    std::string hex;
    if (!js::StringToUtf8(isolate, info[1], &hex) || !IsObjectIdSyntax(hex)) {
      js::ThrowTypeError(isolate, "Invalid Durable Object ID: must be 64 hex digits");
      return false;
    }
    for (char& c : hex) {
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    if (!info[2]->IsUndefined()) {
      if (!js::StringToUtf8(isolate, info[2], &address->instance_name)) {
        js::ThrowTypeError(isolate, "callObject(className, id, name, ...)");
        return false;
      }
      if (ObjectIdForName(address->app, address->class_name, address->instance_name) != hex) {
        address->instance_name.clear();
      }
    }
    address->object_id = std::move(hex);
    return true;
  }

  static void Send(const FunctionCallbackInfo<Value>& info, OutgoingCall call) {
    v8::Isolate* isolate = info.GetIsolate();
    v8::Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(isolate->GetCurrentContext()).ToLocal(&resolver)) return;
    HostOf(info)->CallObject(AppOf(info), std::move(call), resolver);
    info.GetReturnValue().Set(resolver->GetPromise());
  }
};

}  // namespace

std::span<const NativeFunction> NamespaceNatives() {
  static const NativeFunction kFunctions[] = {
      {"idFromName", &NamespaceCallbacks::IdFromName},
      {"newUniqueId", &NamespaceCallbacks::NewUniqueId},
      {"checkObjectId", &NamespaceCallbacks::CheckObjectId},
      {"encodeRpc", &NamespaceCallbacks::EncodeRpc},
      {"callObject", &NamespaceCallbacks::CallObject},
      {"fetchObject", &NamespaceCallbacks::FetchObject},
      {"callService", &NamespaceCallbacks::CallService},
      {"fetchService", &NamespaceCallbacks::FetchService},
      {"currentObject", &NamespaceCallbacks::CurrentObject},
      {"callEntrypoint", &NamespaceCallbacks::CallEntrypoint},
      {"fetchEntrypoint", &NamespaceCallbacks::FetchEntrypoint},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
