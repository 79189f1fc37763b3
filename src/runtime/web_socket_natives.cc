// The native functions behind WebSocket, WebSocketPair and the hibernation API of `ctx`. The JS
// callers (js/prelude/web_socket.js, js/runtime/web_sockets.js) validate arguments and produce
// Cloudflare's error messages; these functions keep the per-socket state that must outlive an
// object's instance and pass outputs through the output gate. Contracts: docs/contracts.md.

#include "js/array_buffers.h"
#include "js/serializer.h"
#include "js/strings.h"
#include "runtime/native_module.h"
#include "runtime/web_socket_limits.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

// Past kMaxHibernationBytesPerApp (the same text as js/runtime/web_sockets.js's).
constexpr char kHibernationMemoryError[] =
    "The app's hibernatable WebSockets hold too much memory (their tags and attachments, at most "
    "64 MiB): close some, or keep smaller attachments.";

class WebSocketCallbacks {
 public:
  static ObjectHost* Engine(const FunctionCallbackInfo<Value>& info) { return HostOf(info); }
  static uint64_t Id(const FunctionCallbackInfo<Value>& info, int index) {
    double n = info[index]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0);
    return static_cast<uint64_t>(n);
  }
  // The live instance of slot `info[0]` if the caller may act for it (see
  // ThreadEngine::ResolveObjectHandle), or nullptr with an Error thrown.
  static ObjectInstance* Instance(const FunctionCallbackInfo<Value>& info) {
    return Engine(info)->ResolveObjectHandle(AppOf(info), info[0]);
  }
  // The socket `info[index]` names, if it belongs to the caller's app; nullptr otherwise.
  static WebSocketRecord* Socket(const FunctionCallbackInfo<Value>& info, int index) {
    return Engine(info)->ResolveSocketHandle(AppOf(info), info[index]);
  }
  static Local<Value> StateCode(v8::Isolate* isolate, const WebSocketRecord& record) {
    // WebSocket.readyState: a socket still connecting already counts as OPEN for the object.
    int code = record.state == WebSocketRecord::State::kClosing  ? 2
               : record.state == WebSocketRecord::State::kClosed ? 3
                                                                 : 1;
    return v8::Integer::New(isolate, code);
  }

  // wsCreate(slot) → id: a socket of the object, not yet accepted or connected.
  static void Create(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    ObjectHost* engine = Engine(info);
    const ObjectAddress& a = instance->address;
    WebSocketRecord* record = engine->web_sockets().Create(ObjectKey(a), a);
    engine->NoteObjectBusy(instance);
    info.GetReturnValue().Set(static_cast<double>(record->id));
  }

  // wsAccept(id, hibernatable, tags: string[], fresh) → 0 accepted, 1 past the per-object socket
  // limit, 2 past the app's bound on hibernation memory (kMaxHibernationBytesPerApp). A refused
  // `fresh` record (made by wsCreate for this call) is forgotten: a loop of refused accepts must
  // not leave records behind.
  static void Accept(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    WebSocketRecord* record = Socket(info, 0);
    if (!record) {
      info.GetReturnValue().Set(1);
      return;
    }
    bool hibernatable = info[1]->BooleanValue(isolate);
    std::vector<std::string> tags;
    if (info[2]->IsArray()) {
      Local<v8::Array> array = info[2].As<v8::Array>();
      for (uint32_t i = 0; i < array->Length(); ++i) {
        Local<Value> tag;
        if (!array->Get(context, i).ToLocal(&tag)) return;
        tags.push_back(js::ToUtf8(isolate, tag));
      }
    }
    WebSocketRegistry::AcceptResult result = Engine(info)->web_sockets().Accept(
        record,
        hibernatable ? WebSocketRecord::Mode::kHibernatable : WebSocketRecord::Mode::kStandard,
        std::move(tags));
    if (result != WebSocketRegistry::AcceptResult::kAccepted && info[3]->IsTrue() &&
        record->mode == WebSocketRecord::Mode::kUnaccepted && !record->transport) {
      Engine(info)->web_sockets().Remove(record->id);
    }
    info.GetReturnValue().Set(result == WebSocketRegistry::AcceptResult::kAccepted         ? 0
                              : result == WebSocketRegistry::AcceptResult::kTooManySockets ? 1
                                                                                           : 2);
  }

  // wsSend(id, data: string | ArrayBuffer | ArrayBufferView): queued behind the output gate.
  static void Send(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectHost* engine = Engine(info);
    WebSocketRecord* record = Socket(info, 0);
    if (!record || record->state == WebSocketRecord::State::kClosed) return;
    OutputGate::SocketOutput output{0, record->id, false, false, nullptr, 0, nullptr};
    Local<Value> data = info[1];
    if (data->IsString()) {
      output.text = true;
      Local<v8::String> text = data.As<v8::String>();
      output.payload = engine->PayloadOf(isolate, text);
    } else if (data->IsArrayBuffer()) {
      auto store = data.As<v8::ArrayBuffer>()->GetBackingStore();
      output.payload = std::make_shared<const std::string>(static_cast<const char*>(store->Data()),
                                                           store->ByteLength());
    } else if (data->IsArrayBufferView()) {
      Local<v8::ArrayBufferView> view = data.As<v8::ArrayBufferView>();
      std::string bytes(view->ByteLength(), '\0');
      view->CopyContents(bytes.data(), bytes.size());
      output.payload = std::make_shared<const std::string>(std::move(bytes));
    } else {
      js::ThrowTypeError(isolate, "wsSend(id, string | ArrayBuffer | ArrayBufferView)");
      return;
    }
    engine->SendOnSocket(record, std::move(output));
  }

  // wsClose(id, code, reason): starts the close handshake, behind the output gate.
  static void Close(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectHost* engine = Engine(info);
    WebSocketRecord* record = Socket(info, 0);
    if (!record || record->state == WebSocketRecord::State::kClosed) return;
    if (record->state != WebSocketRecord::State::kClosing) {
      record->state = WebSocketRecord::State::kClosing;
    }
    int code = info[1]->IsInt32() ? info[1].As<v8::Int32>()->Value() : 1000;
    OutputGate::SocketOutput output{
        0,
        record->id,
        true,
        false,
        std::make_shared<const std::string>(js::ToUtf8(isolate, info[2])),
        code,
        nullptr};
    engine->SendOnSocket(record, std::move(output));
  }

  // wsList(slot, tag | undefined) → [id, readyState, protocol, ...] of the hibernatable sockets.
  static void List(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    const ObjectAddress& a = instance->address;
    std::string tag;
    bool filtered = info[1]->IsString();
    if (filtered) tag = js::ToUtf8(isolate, info[1]);
    auto records =
        Engine(info)->web_sockets().Hibernatable(ObjectKey(a), filtered ? &tag : nullptr);
    // A broadcast lists the room once per message: the array is built in one go, as a Set per
    // element (through V8's generic property path) cost more than the rest of the listing.
    std::vector<Local<Value>> elements;
    elements.reserve(records.size() * 3);
    for (WebSocketRecord* record : records) {
      elements.push_back(v8::Number::New(isolate, static_cast<double>(record->id)));
      elements.push_back(StateCode(isolate, *record));
      elements.push_back(js::FromUtf8(isolate, record->protocol));
    }
    info.GetReturnValue().Set(v8::Array::New(isolate, elements.data(), elements.size()));
  }

  // wsInfo(id) → [readyState, protocol] or null once forgotten.
  static void InfoOf(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    WebSocketRecord* record = Socket(info, 0);
    if (!record) {
      info.GetReturnValue().SetNull();
      return;
    }
    // Built with its elements (never Set(), which would call setters user code may have put on
    // Array.prototype).
    Local<Value> pair[] = {StateCode(isolate, *record), js::FromUtf8(isolate, record->protocol)};
    info.GetReturnValue().Set(v8::Array::New(isolate, pair, 2));
  }

  // wsTags(id) → string[] (empty once forgotten).
  static void Tags(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    WebSocketRecord* record = Socket(info, 0);
    size_t n = record ? record->tags.size() : 0;
    std::vector<Local<Value>> tags;
    tags.reserve(n);
    for (size_t i = 0; i < n; ++i) tags.push_back(js::FromUtf8(isolate, record->tags[i]));
    info.GetReturnValue().Set(v8::Array::New(isolate, tags.data(), tags.size()));
  }

  // wsSetAttachment(id, ArrayBuffer | null): the serialized attachment (size checked by JS).
  // Throws an Error, keeping the attachment it had, past the app's hibernation bound.
  static void SetAttachment(const FunctionCallbackInfo<Value>& info) {
    WebSocketRecord* record = Socket(info, 0);
    if (!record) return;
    std::string attachment;
    if (info[1]->IsArrayBuffer()) {
      auto store = info[1].As<v8::ArrayBuffer>()->GetBackingStore();
      attachment.assign(static_cast<const char*>(store->Data()), store->ByteLength());
    }
    if (!Engine(info)->web_sockets().SetAttachment(record, std::move(attachment))) {
      js::ThrowError(info.GetIsolate(), kHibernationMemoryError);
    }
  }

  // wsGetAttachment(id) → ArrayBuffer | null.
  static void GetAttachment(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    WebSocketRecord* record = Socket(info, 0);
    if (!record || record->attachment.empty()) {
      info.GetReturnValue().SetNull();
      return;
    }
    Local<v8::ArrayBuffer> buffer;
    if (js::NewArrayBufferCopy(isolate, record->attachment).ToLocal(&buffer)) {
      info.GetReturnValue().Set(buffer);
    }
  }

  // wsSetAutoResponse(slot, request | null, response): the object's auto-response (lengths
  // checked by JS); null unsets it.
  static void SetAutoResponse(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    const ObjectAddress& a = instance->address;
    std::string key = ObjectKey(a);
    ObjectHost* engine = Engine(info);
    if (info[1]->IsString()) {
      engine->web_sockets().EnsureObject(key, a).auto_response = std::make_unique<AutoResponse>(
          AutoResponse{js::ToUtf8(isolate, info[1]), js::ToUtf8(isolate, info[2])});
    } else if (ObjectSockets* sockets = engine->web_sockets().FindObject(key)) {
      sockets->auto_response.reset();
    }
  }

  // wsGetAutoResponse(slot) → [request, response] | null.
  static void GetAutoResponse(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    const ObjectAddress& a = instance->address;
    ObjectSockets* sockets = Engine(info)->web_sockets().FindObject(ObjectKey(a));
    if (!sockets || !sockets->auto_response) {
      info.GetReturnValue().SetNull();
      return;
    }
    Local<Value> pair[] = {js::FromUtf8(isolate, sockets->auto_response->request),
                           js::FromUtf8(isolate, sockets->auto_response->response)};
    info.GetReturnValue().Set(v8::Array::New(isolate, pair, 2));
  }

  // wsAutoResponseTime(id) → milliseconds since the epoch | null.
  static void AutoResponseTime(const FunctionCallbackInfo<Value>& info) {
    WebSocketRecord* record = Socket(info, 0);
    if (!record || record->auto_response_ms == 0) {
      info.GetReturnValue().SetNull();
      return;
    }
    info.GetReturnValue().Set(static_cast<double>(record->auto_response_ms));
  }

  // wsSetEventTimeout(slot, ms) (0: none) and wsGetEventTimeout(slot) → ms | null.
  static void SetEventTimeout(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    const ObjectAddress& a = instance->address;
    double ms = info[1]->IsNumber() ? info[1].As<v8::Number>()->Value() : 0;
    // Clamped before the cast: a double outside long long's range is undefined behaviour.
    ms = ms >= 0 && ms <= 8.64e15 ? ms : 0;
    Engine(info)->web_sockets().EnsureObject(ObjectKey(a), a).event_timeout_ms =
        static_cast<long long>(ms);
  }

  static void GetEventTimeout(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    const ObjectAddress& a = instance->address;
    ObjectSockets* sockets = Engine(info)->web_sockets().FindObject(ObjectKey(a));
    if (!sockets || sockets->event_timeout_ms == 0) {
      info.GetReturnValue().SetNull();
      return;
    }
    info.GetReturnValue().Set(static_cast<double>(sockets->event_timeout_ms));
  }

  // wsLimits() → {maxTags, maxTagLength, maxAttachmentBytes, maxAutoResponseBytes,
  // maxEventTimeoutMs, maxHibernatableSockets} (see web_socket_limits.h).
  static void Limits(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    Local<v8::Object> limits = v8::Object::New(isolate);
    const std::pair<const char*, double> values[] = {
        {"maxTags", static_cast<double>(kMaxTagsPerSocket)},
        {"maxTagLength", static_cast<double>(kMaxTagLength)},
        {"maxAttachmentBytes", static_cast<double>(kMaxAttachmentBytes)},
        {"maxAutoResponseBytes", static_cast<double>(kMaxAutoResponseBytes)},
        {"maxEventTimeoutMs", static_cast<double>(kMaxEventTimeoutMs)},
        {"maxHibernatableSockets", static_cast<double>(kMaxHibernatableSocketsPerObject)},
    };
    for (const auto& [name, value] : values) {
      if (limits
              ->CreateDataProperty(context, js::FromUtf8(isolate, name),
                                   v8::Number::New(isolate, value))
              .IsNothing()) {
        return;
      }
    }
    info.GetReturnValue().Set(limits);
  }
};

std::span<const NativeFunction> WebSocketNatives() {
  static const NativeFunction kFunctions[] = {
      {"wsLimits", &WebSocketCallbacks::Limits},
      {"wsCreate", &WebSocketCallbacks::Create},
      {"wsAccept", &WebSocketCallbacks::Accept},
      {"wsSend", &WebSocketCallbacks::Send},
      {"wsClose", &WebSocketCallbacks::Close},
      {"wsList", &WebSocketCallbacks::List},
      {"wsInfo", &WebSocketCallbacks::InfoOf},
      {"wsTags", &WebSocketCallbacks::Tags},
      {"wsSetAttachment", &WebSocketCallbacks::SetAttachment},
      {"wsGetAttachment", &WebSocketCallbacks::GetAttachment},
      {"wsSetAutoResponse", &WebSocketCallbacks::SetAutoResponse},
      {"wsGetAutoResponse", &WebSocketCallbacks::GetAutoResponse},
      {"wsAutoResponseTime", &WebSocketCallbacks::AutoResponseTime},
      {"wsSetEventTimeout", &WebSocketCallbacks::SetEventTimeout},
      {"wsGetEventTimeout", &WebSocketCallbacks::GetEventTimeout},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
