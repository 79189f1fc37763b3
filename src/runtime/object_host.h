// What the JavaScript-facing natives (natives.cc, sql_natives.cc, web_socket_natives.cc) may ask
// of the runtime that hosts an app's objects. ThreadEngine implements it; the natives reach
// nothing else of the engine.
//
// Threading: every method is called on the host's thread, from inside a turn of `caller`'s
// isolate (a native call), unless noted. None throws a C++ exception except Database().
#pragma once

#include <v8.h>

#include <cstdint>
#include <optional>
#include <string>

#include "outbound/exchange.h"
#include "outbound/web_socket_client.h"
#include "runtime/object_instance.h"
#include "runtime/outgoing_call.h"
#include "runtime/output_gate.h"
#include "runtime/reset_reason.h"
#include "runtime/response_stream.h"
#include "runtime/web_socket_registry.h"

namespace dorm::runtime {

class AppIsolate;
class ResponseCache;

class ObjectHost {
 public:
  virtual ~ObjectHost() = default;

  // --- Handles (numbers JavaScript passes back) ---
  // The live instance that `handle` (an object's slot number) names, if it is an object of
  // `caller`'s app and the object whose turn is running now. Otherwise throws an Error in the
  // caller's isolate and returns nullptr. A slot number is guessable, so what makes it harmless is
  // that it can name nothing but the caller's own object (as workerd refuses I/O on behalf of
  // another object's request).
  virtual ObjectInstance* ResolveObjectHandle(AppIsolate* caller, v8::Local<v8::Value> handle) = 0;
  // The socket that `handle` (a socket id) names, if it belongs to an object of `caller`'s app;
  // nullptr otherwise (nothing thrown: callers treat it as a socket that is gone).
  virtual WebSocketRecord* ResolveSocketHandle(AppIsolate* caller, v8::Local<v8::Value> handle) = 0;
  // The instance in `slot` if it is an object of `caller`'s app, whatever turn runs (the runtime's
  // own event-settled callbacks run in other objects' turns); nullptr otherwise.
  virtual ObjectInstance* FindObjectOfApp(AppIsolate* caller, uint64_t slot) = 0;
  // The object whose turn runs now; nullptr outside an object's turn.
  virtual ObjectInstance* CurrentObject() = 0;

  // --- Storage ---
  // The object's database, opened if needed; nullptr if none exists and !create. Throws
  // storage::StorageError.
  virtual storage::ObjectDatabase* Database(ObjectInstance* instance, bool create) = 0;
  // The object wrote in its open transaction: it commits at the end of the turn.
  virtual void MarkWritten(ObjectInstance* instance) = 0;
  // setAlarm(), deleteAlarm() or deleteAll() changed the alarm in the open transaction.
  virtual void NoteAlarmChanged(ObjectInstance* instance) = 0;

  // --- Events and gates ---
  // The handler's promise for event `event_id` settled with `value`.
  virtual void OnEventSettled(ObjectInstance* instance, uint64_t event_id, bool fulfilled,
                              v8::Local<v8::Value> value) = 0;
  // blockConcurrencyWhile() released the object's input gate: its waiting events may run.
  virtual void InputGateOpened(ObjectInstance* instance) = 0;
  // Resets the object now: its pending writes are discarded and its callers get `message` (the
  // reason's own message when empty).
  virtual void Reset(ObjectInstance* instance, ResetReason reason, const std::string& message) = 0;

  // --- Streamed response bodies (response_stream_natives.cc) ---
  // Opens a body stream for the response with which `instance`'s event `event_id` is about to
  // settle; `length` is the body's length when known in advance (sent as its Content-Length),
  // else -1. Returns its id, or 0 if the event does not take a streamed body (a stub's fetch())
  // or is not in flight: the caller then buffers the body.
  virtual uint64_t OpenResponseStream(ObjectInstance* instance, uint64_t event_id,
                                      int64_t length) = 0;
  // A chunk of body stream `id` of one of `caller`'s objects. Returns 0 when the stream is gone
  // (cancelled, ended, its object reset): stop reading; 1: read on; 2: wait for the host's
  // responseStreamSignal(id) before reading on (backpressure).
  virtual int ResponseStreamChunk(AppIsolate* caller, uint64_t id, std::string bytes) = 0;
  // Body stream `id` ended (`ok`) or failed (`failure` says with what error, for a stub's caller).
  // Unknown ids are ignored.
  virtual void EndResponseStream(AppIsolate* caller, uint64_t id, bool ok,
                                 ResponseStream::Failure failure) = 0;

  // --- Streamed bodies of a stub's fetch() answers (stub_body_natives.cc) ---
  // Takes what body `id` of `caller`'s app has queued (see ResponseStream::Take), counting it as
  // consumed; nullopt for an unknown id. When it finds nothing and the body has not ended, the
  // runtime's stubBodySignal(id) is called once more is there.
  virtual std::optional<ResponseStream::Taken> TakeStubBody(AppIsolate* caller, uint64_t id) = 0;
  // The caller no longer reads body `id`: its producer is cancelled. Unknown ids are ignored.
  virtual void CancelStubBody(AppIsolate* caller, uint64_t id) = 0;
  // A request body that `caller` will produce for a stub's fetch() (js/runtime/stub_bodies.js):
  // returns its id. The call takes it with TakeRequestBody; chunks go through RequestBodyChunk
  // (0 stop, 1 read on, 2 wait for requestBodySignal(id, false)) and the end through
  // EndRequestBody (`connection_lost`: the caller's stream was a client's upload whose connection
  // broke, and the callee's body fails with ResponseStream::ConnectionLost() as on workerd).
  // Unknown ids: 0 / ignored / nullptr.
  virtual uint64_t OpenRequestBody(AppIsolate* caller) = 0;
  virtual std::shared_ptr<ResponseStream> TakeRequestBody(AppIsolate* caller, uint64_t id) = 0;
  virtual int RequestBodyChunk(AppIsolate* caller, uint64_t id, std::string bytes) = 0;
  virtual void EndRequestBody(AppIsolate* caller, uint64_t id, bool ok, bool connection_lost) = 0;
  // A WritableStream that `caller` sends over RPC (js/runtime/stub_bodies.js): a channel that
  // `caller` consumes as stub body `id` (TakeStubBody...) and whose producer is the receiver of
  // the message; TakeRpcSink gives its stream once, to go with the message (nullptr for an id
  // unknown, of another app, or already taken).
  virtual uint64_t OpenRpcSink(AppIsolate* caller) = 0;
  virtual std::shared_ptr<ResponseStream> TakeRpcSink(AppIsolate* caller, uint64_t id) = 0;

  // --- Calls to other objects ---
  // Sends `call` to its object (on whichever thread it lives) and returns at once; `resolver` is
  // resolved later, in a turn of `caller` for the object whose turn runs now, with the answer as
  // [status, outcome, body, statusText, headers, reset, thrownName] (see CallAnswer in
  // thread_engine_calls.cc). If `caller` is reset first, it is never settled.
  virtual void CallObject(AppIsolate* caller, OutgoingCall call,
                          v8::Local<v8::Promise::Resolver> resolver) = 0;

  // --- fetch() to the outside world ---
  // Starts `request` for `caller`'s app and returns its id. For an object, it leaves once the
  // writes the object made before it are durable, like its other output. `resolver` is settled
  // later, in a turn of `caller` for the object whose turn runs now: resolved with [status,
  // statusText, headers (name, value, ...), body] once the head has arrived (body: the fetch's
  // id, the body then read with ReadFetchBody; an ArrayBuffer for the server's own URLs), or
  // rejected with [kind, message]. If `caller` is reset first, or CancelFetch is called, it is
  // never settled. Returns 0 with a
  // TypeError thrown when this server does not allow outbound requests or the app has too many
  // in flight.
  virtual uint64_t FetchOutbound(AppIsolate* caller, outbound::ExchangeRequest request,
                                 v8::Local<v8::Promise::Resolver> resolver) = 0;
  // Abandons fetch `id` if it belongs to `caller`'s app (ids are guessable): the request stops,
  // its body (either way) too, and its connection is closed.
  virtual void CancelFetch(AppIsolate* caller, uint64_t id) = 0;
  // After fetch `id` resolved with a streamed body: `resolver` is resolved with the body's next
  // bytes (a Uint8Array) or null at its end, or rejected with [kind, message]; in a turn of
  // `caller`, maybe at once. Rejected with a TypeError for an unknown id or a read already waiting.
  virtual void ReadFetchBody(AppIsolate* caller, uint64_t id,
                             v8::Local<v8::Promise::Resolver> resolver) = 0;
  // For fetch `id` started with a streamed request body: queues `bytes` to send. Returns true
  // (write on), false (the body is no longer wanted: stop) or a promise of one of the two once the
  // bytes queued have gone out enough.
  virtual v8::Local<v8::Value> WriteFetchBody(AppIsolate* caller, uint64_t id,
                                              std::string_view bytes) = 0;
  // The streamed request body of fetch `id` is complete (`ok`) or failed (the exchange fails).
  virtual void EndFetchBody(AppIsolate* caller, uint64_t id, bool ok) = 0;
  // --- WebSockets to the outside world (thread_engine_outbound_sockets.cc) ---
  // Opens `request` for the object whose turn runs (after the writes it made before are durable)
  // and returns the socket's id, a socket of the object (it pins it in memory) not yet accepted.
  // `resolver` is settled later in a turn of `caller`: resolved with [status, statusText, headers
  // (name, value, ...), body ArrayBuffer, protocol, extensions] (status 101: the socket is open;
  // otherwise it is gone) or rejected with [kind, message] (outbound::ExchangeError::Kind). Returns
  // 0 with a TypeError thrown when this server does not allow outbound connections, outside an
  // object's turn, or when the app has too many sockets.
  virtual uint64_t ConnectWebSocket(AppIsolate* caller, outbound::WebSocketRequest request,
                                    v8::Local<v8::Promise::Resolver> resolver) = 0;
  // The object is ready for socket `id`'s messages (its open event ran, or it called accept()).
  // Ignored unless `id` is an open outbound socket of `caller`'s app.
  virtual void ReadWebSocket(AppIsolate* caller, uint64_t id) = 0;
  // The server's Cache API store, or nullptr where there is none (deploy checks).
  virtual ResponseCache* response_cache() = 0;

  // --- Timers ---
  // Starts a timer of `caller`'s app for the object whose turn runs (if any); returns its id.
  virtual uint64_t AddTimer(AppIsolate* caller, v8::Local<v8::Function> callback, double delay_ms,
                            bool repeat) = 0;
  // Cancels timer `id` if it belongs to `caller`'s app (ids are guessable).
  virtual void ClearTimer(AppIsolate* caller, uint64_t id) = 0;

  // --- WebSockets ---
  virtual WebSocketRegistry& web_sockets() = 0;
  // Says that `instance` now holds something that may run its app's code later (a socket made
  // outside an event of its own, say): the hung-request check must look at it again.
  virtual void NoteObjectBusy(const ObjectInstance* instance) { (void)instance; }
  // Sends now or, while commits made before it are not durable, after them (see OutputGate).
  virtual void SendOnSocket(WebSocketRecord* record, OutputGate::SocketOutput output) = 0;
  // `text` as UTF-8, shared with the previous call in the same turn if it was the same string (a
  // broadcast converts and copies its message once, not once per recipient).
  virtual SharedPayload PayloadOf(v8::Isolate* isolate, v8::Local<v8::String> text) = 0;

  // --- Isolates ---
  // A promise of `app` was rejected with no handler, or got one later (see
  // v8::PromiseRejectCallback). Called from V8, inside a turn.
  virtual void OnPromiseReject(AppIsolate* app, v8::PromiseRejectMessage& message) = 0;
};

}  // namespace dorm::runtime
