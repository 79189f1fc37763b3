// The events an object's input gate queues: an HTTP request, an alarm, an RPC call, an operator's
// storage command, or something that happened on one of its WebSockets. V8-free, so that the gates
// can be tested on their own.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "runtime/http_message.h"
#include "runtime/rpc_charge.h"
#include "runtime/storage_command.h"

namespace dorm::runtime {

// A request for the object's fetch() handler; `done` gets the response.
struct HttpEvent {
  HttpRequestData request;
  ResponseCallback done;
  // `done` accepts a response whose body streams (HttpResponseData::body_stream): the network
  // front and a stub's fetch() do.
  bool stream_body = false;
  // Cluster mode: not a request but a question (EnginePool::ProbeOwnership): answered with status
  // 200 once this node holds the object (taking it first if it must), else with the refusal a
  // request would get (owned_elsewhere set when another node owns it). Never reaches the object.
  bool ownership_probe = false;
  // For a stub's fetch(): the caller's count of the request's bytes (OutgoingCall::charge), held
  // until the handler settles (ObjectInstance::InFlightEvent::charge) or the event is dropped.
  std::shared_ptr<const RpcCharge> charge = nullptr;
  // For a stub's fetch() delivered on the thread that made it: the caller's call id there
  // (ThreadEngine::outgoing_calls_), so that a Worker calling itself is known (0 otherwise).
  uint64_t local_call = 0;
};

// A call of the object's alarm({retryCount, isRetry}) handler. `done` gets the outcome: a status
// below 400 when the handler succeeded, else the error in the body.
struct AlarmEvent {
  int retry_count = 0;
  ResponseCallback done;
};

// A JavaScript RPC call of one of the object's methods (stub.method(...args)) from another object
// of the app. `done` gets the outcome: HttpResponseData::rpc_outcome says whether the method
// returned or threw, and the body holds the value or error as structured-clone bytes; anything
// else (a reset, a class gone) is a JSON error as for HTTP.
struct RpcEvent {
  std::string method;
  std::string args;  // the argument list as an RPC message (rpc_message.h)
  ResponseCallback done;
  bool foreign_caller = false;  // made by another app (through a service binding)
  RpcStreams streams;           // the ReadableStreams among the arguments (rpc_streams.h)
  // The caller's count of these bytes (OutgoingCall::charge): released once the event is
  // delivered or dropped. Null for calls from another node.
  std::shared_ptr<const RpcCharge> charge;
};

// Something that happened on one of the object's WebSockets: the socket's listeners or the
// class's webSocketMessage/Close/Error handler hear of it. Nobody waits for its outcome.
struct SocketEvent {
  enum class Kind { kMessage, kClose, kError };
  Kind kind = Kind::kMessage;
  uint64_t socket_id = 0;
  bool text = false;
  std::string data;  // the message, the close reason, or the error's message
  int code = 0;      // kClose: the close code (1005 when the peer gave none, 1006 when no Close)
  bool was_clean = false;
};

// An operator's storage browser command (runtime/storage_command.h), run between the object's
// turns like any other event, so that it sees and leaves the storage whole. `done` gets the JSON
// answer once the command's writes are durable.
struct StorageCommandEvent {
  StorageCommand command;
  ResponseCallback done;
};

using ObjectEvent = std::variant<HttpEvent, AlarmEvent, SocketEvent, RpcEvent, StorageCommandEvent>;

// Answers the event's waiter, if it has one (HTTP, alarm and RPC events), with `response`; socket
// events have nobody waiting, and are dropped. The callback is consumed.
void FailEvent(ObjectEvent& event, HttpResponseData response);

// The socket an event is for, or 0 when it is not a socket event.
uint64_t SocketIdOf(const ObjectEvent& event);

}  // namespace dorm::runtime
