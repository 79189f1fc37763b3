// A call one object makes to another object of its app through a stub (js/runtime/namespace.js):
// a JavaScript RPC call of a method, or a request for the callee's fetch(). V8-free.
#pragma once

#include <string>

#include "runtime/http_message.h"
#include "runtime/object_address.h"
#include "runtime/rpc_charge.h"

namespace dorm::runtime {

struct OutgoingCall {
  // The callee, in the caller's app. object_id is set; instance_name is empty when the stub was
  // made from an id alone.
  ObjectAddress address;
  // A request for the callee's fetch() (`request`), or an RPC call of `method` with `args` (the
  // argument array as structured-clone bytes).
  bool fetch = false;
  std::string method;
  std::string args;
  RpcStreams streams;  // the ReadableStreams among the arguments (rpc_streams.h)
  // The arguments hold functions, RpcTargets or stubs (which resolve only within the app).
  bool references = false;
  HttpRequestData request;
  // An RPC call's bytes, counted against its app's bound until the call is delivered or dropped;
  // a fetch()'s, until the callee's handler settles or the request is dropped (rpc_charge.h).
  std::shared_ptr<const RpcCharge> charge;
};

}  // namespace dorm::runtime
