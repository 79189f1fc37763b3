#include "runtime/js_response.h"

#include <strings.h>

#include "js/strings.h"
#include "util/log.h"

namespace dorm::runtime {

std::optional<HttpResponseData> ResponseFromJs(AppIsolate* app, v8::Local<v8::Object> state,
                                               v8::Local<v8::Value> value,
                                               WebSocketRegistry* sockets,
                                               ForwardedSockets* forwarded,
                                               const ObjectAddress& address) {
  v8::Isolate* isolate = app->isolate();
  v8::Local<v8::Context> context = app->context();
  v8::TryCatch try_catch(isolate);
  HttpResponseData response;
  v8::Local<v8::Value> parts_value;
  if (!app->response_parts()
           ->Call(context, v8::Undefined(isolate), 1, &value)
           .ToLocal(&parts_value) ||
      !parts_value->IsArray()) {
    if (try_catch.HasTerminated()) return std::nullopt;
    std::string message = js::ExceptionMessage(isolate, try_catch.Exception());
    Log(LogLevel::kError, LogTag(address) + " " + message);
    return HttpResponseData::JsonError(500, message);
  }
  // [status, statusText, headers, body, webSocket] (the prelude's responseParts). Getters user code
  // put on Array.prototype may run (and throw) here for a missing element: a failed read gives
  // undefined, which the checks below turn into a 500.
  v8::Local<v8::Array> parts = parts_value.As<v8::Array>();
  enum Part : uint32_t { kStatus, kStatusText, kHeaders, kBody, kWebSocket };
  auto get = [&](Part part) -> v8::Local<v8::Value> {
    v8::Local<v8::Value> field;
    if (!parts->Get(context, part).ToLocal(&field)) return v8::Undefined(isolate);
    return field;
  };
  response.status = static_cast<int>(get(kStatus)->Int32Value(context).FromMaybe(500));
  response.status_text = js::ToUtf8(isolate, get(kStatusText));
  v8::Local<v8::Value> headers = get(kHeaders);
  if (headers->IsArray()) {
    auto array = headers.As<v8::Array>();
    for (uint32_t i = 0; i + 1 < array->Length(); i += 2) {
      v8::Local<v8::Value> name, header_value;
      if (!array->Get(context, i).ToLocal(&name) ||
          !array->Get(context, i + 1).ToLocal(&header_value) || !name->IsString() ||
          !header_value->IsString()) {
        continue;
      }
      response.headers.emplace_back(js::ToLatin1(isolate, name),
                                    js::ToLatin1(isolate, header_value));
    }
  }
  v8::Local<v8::Value> web_socket = get(kWebSocket);
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
      return std::nullopt;
    } else {
      response.status = 500;
      response.body = js::ExceptionMessage(isolate, bind_catch.Exception());
    }
  }
  v8::Local<v8::Value> body = get(kBody);
  if (body->IsString()) {
    response.body = js::ToUtf8(isolate, body);
  } else if (body->IsArrayBufferView()) {
    auto view = body.As<v8::ArrayBufferView>();
    response.body.resize(view->ByteLength());
    view->CopyContents(response.body.data(), response.body.size());
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
    return HttpResponseData::JsonError(500, message);
  }
  if (response.status < 100 || response.status > 999) {
    // Response.error() (status 0) is a network error: the client gets a 500.
    return HttpResponseData::JsonError(
        500, "The Durable Object returned a network error (Response.error()).");
  }
  return response;
}

}  // namespace dorm::runtime
