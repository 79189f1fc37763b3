// The value an object's fetch() handler fulfilled with, as the HTTP response to send: status,
// status text, headers, body, and the WebSocket of a 101 (the client end of a WebSocketPair,
// whose server end becomes the connection's socket).
//
// Threading: on the app's runtime thread, inside a turn of `app` (isolate and context entered).
#pragma once

#include <v8.h>

#include <string>

#include "runtime/app_isolate.h"
#include "runtime/forwarded_sockets.h"
#include "runtime/http_message.h"
#include "runtime/object_address.h"
#include "runtime/web_socket_registry.h"

namespace dorm::runtime {

// The native function the prelude's responseParts hands a response's parts to: status, status
// text, body, WebSocket, then each header's name and value (or one array of them). While `*slot`
// points at a response, the first call fills it, sets `*slot` to null and returns the WebSocket
// argument; otherwise a call does nothing and returns undefined. `slot` must outlive the
// function (AppIsolate keeps both). Made once per app context.
v8::MaybeLocal<v8::Function> NewResponseSink(v8::Local<v8::Context> context,
                                             HttpResponseData** slot);

// Converts `value` (what the handler's promise fulfilled with) into `response` (default-constructed
// by the caller, filled in place: the answer is not moved out of a return value). Anything that is
// not a usable Response becomes a 500 with the reason (logged with the object's `address`);
// Response.error() becomes a 500 too (a network error). A WebSocket response binds the pair's
// server end to `state`'s object and records its chosen subprotocol in `sockets`; a WebSocket that
// came back through a stub's fetch() is taken from `forwarded` (the answer then names the callee's
// loop). Returns false if the isolate is terminating (the caller leaves the event to the reset that
// follows). Never throws.
bool ResponseFromJs(AppIsolate* app, v8::Local<v8::Object> state, v8::Local<v8::Value> value,
                    WebSocketRegistry* sockets, ForwardedSockets* forwarded,
                    const ObjectAddress& address, HttpResponseData& response);

}  // namespace dorm::runtime
