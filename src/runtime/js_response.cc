#include "runtime/js_response.h"

#include <strings.h>

#include <optional>

#include "js/strings.h"
#include "util/log.h"

namespace dorm::runtime {

namespace {

// The sink's callback (see NewResponseSink): info.Data() is the External of the target's slot.
void TakeResponseParts(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto** slot = static_cast<HttpResponseData**>(info.Data().As<v8::External>()->Value());
  HttpResponseData* response = *slot;
  const int count = info.Length();
  if (response == nullptr || count < 4) return;
  *slot = nullptr;  // filled once: the slot's owner sees that it was
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  // The values are the prelude's own (a Response's state), not user code's: the status is a
  // number, the status text a string, the body a string, a Uint8Array or null.
  response->status = static_cast<int>(info[0]->Int32Value(context).FromMaybe(500));
  response->status_text = js::ToUtf8(isolate, info[1]);
  v8::Local<v8::Value> body = info[2];
  if (body->IsString()) {
    response->body = js::ToUtf8(isolate, body);
  } else if (body->IsArrayBufferView()) {
    auto view = body.As<v8::ArrayBufferView>();
    response->body.resize(view->ByteLength());
    view->CopyContents(response->body.data(), response->body.size());
  }
  auto add_header = [&](v8::Local<v8::Value> name, v8::Local<v8::Value> value) {
    if (!name->IsString() || !value->IsString()) return;
    response->headers.emplace_back(js::ToLatin1(isolate, name), js::ToLatin1(isolate, value));
  };
  if (count == 5 && info[4]->IsArray()) {
    // Many headers, as one array. Getters user code put on Array.prototype may run (and throw)
    // for a missing element: a failed read skips the header.
    auto array = info[4].As<v8::Array>();
    for (uint32_t i = 0; i + 1 < array->Length(); i += 2) {
      v8::Local<v8::Value> name, value;
      if (array->Get(context, i).ToLocal(&name) && array->Get(context, i + 1).ToLocal(&value)) {
        add_header(name, value);
      }
    }
  } else {
    for (int i = 4; i + 1 < count; i += 2) add_header(info[i], info[i + 1]);
  }
  info.GetReturnValue().Set(info[3]);
}

}  // namespace

v8::MaybeLocal<v8::Function> NewResponseSink(v8::Local<v8::Context> context,
                                             HttpResponseData** slot) {
  v8::Isolate* isolate = context->GetIsolate();
  return v8::Function::New(context, TakeResponseParts, v8::External::New(isolate, slot), 0,
                           v8::ConstructorBehavior::kThrow);
}

bool ResponseFromJs(AppIsolate* app, v8::Local<v8::Object> state, v8::Local<v8::Value> value,
                    WebSocketRegistry* sockets, ForwardedSockets* forwarded,
                    const ObjectAddress& address, HttpResponseData& response) {
  v8::Isolate* isolate = app->isolate();
  v8::Local<v8::Context> context = app->context();
  v8::TryCatch try_catch(isolate);
  // The prelude's responseParts hands the parts to the app's sink, which fills `response` and
  // returns the WebSocket (null for most responses).
  HttpResponseData** slot = app->response_sink_slot();
  *slot = &response;
  v8::Local<v8::Value> args[] = {value, app->response_sink()};
  v8::Local<v8::Value> web_socket;
  const bool called =
      app->response_parts()->Call(context, v8::Undefined(isolate), 2, args).ToLocal(&web_socket);
  const bool filled = *slot == nullptr;
  *slot = nullptr;
  if (!called || !filled) {
    if (try_catch.HasTerminated()) return false;
    std::string message = called ? "The value returned is not a Response."
                                 : js::ExceptionMessage(isolate, try_catch.Exception());
    Log(LogLevel::kError, LogTag(address) + " " + message);
    response = HttpResponseData::JsonError(500, message);
    return true;
  }
  if (web_socket->IsObject()) {
    // The client end of a WebSocketPair: its server end becomes this connection's socket.
    v8::Local<v8::Value> bind_args[] = {web_socket, state};
    v8::Local<v8::Value> id;
    v8::TryCatch bind_catch(isolate);
    if (app->RuntimeFunction("bindResponseWebSocket")
            ->Call(context, v8::Undefined(isolate), 2, bind_args)
            .ToLocal(&id)) {
      const double number = id->NumberValue(context).FromMaybe(0);
      if (number >= 0) {
        response.web_socket_id = static_cast<uint64_t>(number);
      } else if (std::optional<ForwardedSocket> socket =
                     forwarded ? forwarded->Take(static_cast<uint64_t>(-number)) : std::nullopt) {
        // A callee's socket, passed on: the connection will be attached on the callee's loop, or
        // passed to the callee's node.
        if (socket->remote) {
          response.remote_web_socket = std::move(socket->remote);
        } else {
          response.web_socket_id = socket->socket_id;
          response.web_socket_loop = static_cast<int>(socket->loop);
        }
      } else {
        response.status = 500;
        response.body =
            "This WebSocket came through a stub's fetch() too long ago (30 s) or was already "
            "returned in a Response.";
      }
    } else if (bind_catch.HasTerminated()) {
      return false;
    } else {
      response.status = 500;
      response.body = js::ExceptionMessage(isolate, bind_catch.Exception());
    }
  }
  if (response.web_socket_id != 0 && response.web_socket_loop < 0) {
    if (WebSocketRecord* record = sockets->Find(response.web_socket_id)) {
      for (const auto& [name, header_value] : response.headers) {
        if (name.size() == 22 && strcasecmp(name.c_str(), "sec-websocket-protocol") == 0) {
          record->protocol = header_value;
        }
      }
    }
  }
  if (response.status == 500 && response.web_socket_id == 0 && web_socket->IsObject()) {
    std::string message = response.body;
    Log(LogLevel::kError, LogTag(address) + " " + message);
    response = HttpResponseData::JsonError(500, message);
    return true;
  }
  if (response.status < 100 || response.status > 999) {
    // Response.error() (status 0) is a network error: the client gets a 500.
    response = HttpResponseData::JsonError(
        500, "The Durable Object returned a network error (Response.error()).");
  }
  return true;
}

}  // namespace dorm::runtime
