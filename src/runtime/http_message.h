// Plain HTTP messages exchanged between the network front and the object runtime.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dorm::runtime {

class ResponseStream;
// The streams of an RPC message (runtime/rpc_streams.h); shared so that the messages that hold it
// stay copyable; null when a message carries none.
class RpcStreamList;
using RpcStreams = std::shared_ptr<RpcStreamList>;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Cluster mode: a WebSocket that another node holds for a 101 answered through a stub's fetch()
// by an object there (net/peer_sockets.h): the client's connection goes to node `node` at `addr`,
// which attaches it to the socket it keeps under `token`.
struct RemoteWebSocket {
  std::string node;
  std::string addr;
  std::string token;
};

struct HttpRequestData {
  std::string method;
  std::string url;  // absolute, as the object's fetch() sees it
  HeaderList headers;
  std::string body;
  // Set (and `body` empty) for a request through a stub's fetch() whose body is a stream the
  // caller still produces: its chunks come through this channel (the callee is the consumer).
  std::shared_ptr<ResponseStream> body_stream;
};

struct HttpResponseData {
  int status = 200;
  std::string status_text;
  HeaderList headers;
  std::string body;
  // Set (and `body` empty) when the body is a stream the object's code still produces: its chunks
  // come through this channel after the response (see ResponseStream). Only ever set for an
  // HttpEvent that asked for it (HttpEvent::stream_body).
  std::shared_ptr<ResponseStream> body_stream;
  // Non-zero for a 101 answer to a WebSocket upgrade: the runtime's id of the socket, which the
  // network front attaches to the connection once its handshake is done.
  uint64_t web_socket_id = 0;
  // The loop whose engine owns web_socket_id; -1: the loop that answered. Set when the socket
  // came back through a stub's fetch() (ForwardedSockets): the connection goes to the callee's
  // loop, not the caller's.
  int web_socket_loop = -1;
  // Instead of web_socket_id (which is then 0): the socket is another node's.
  std::shared_ptr<const RemoteWebSocket> remote_web_socket;
  // For the answer to an RPC event: whether the method returned (the body is the value's
  // structured-clone bytes) or threw (the body is the thrown value's). For an HTTP event, kThrew
  // means the fetch() handler threw (the body is the JSON error with its message). kNone: neither.
  enum class RpcOutcome { kNone, kReturned, kThrew };
  RpcOutcome rpc_outcome = RpcOutcome::kNone;
  // For kReturned: the ReadableStreams in the value (runtime/rpc_streams.h).
  RpcStreams rpc_streams;
  // For kReturned and kThrew: the value holds functions, RpcTargets or stubs (which resolve only
  // within the app).
  bool rpc_references = false;
  // The runtime produced this answer (JsonError) rather than the object's code.
  bool runtime_error = false;
  // The answer reports a reset of the object (its callers' calls failed with it): RPC callers see
  // `durableObjectReset` on the error, and `retryable`/`overloaded` as the reset's rule says
  // (ResetRule), as on Cloudflare. Never sent to a client.
  bool object_reset = false;
  bool reset_retryable = false;
  bool reset_overloaded = false;
  // For kThrew on an HTTP event: the thrown error's `name` (TypeError...), so that a stub's
  // fetch() rethrows the same class. Never sent to a client.
  std::string thrown_name;
  // Cluster mode: the runtime refused the event because another node owns the object (named in
  // `owner_node`, empty when unknown). The network front answers a request forwarded by another
  // node with "not owner" (cluster/forward_auth.h), so that node retries at the owner. Never sent
  // to a client.
  bool owned_elsewhere = false;
  std::string owner_node;

  // A response the server itself produces: {"error": message} as JSON, with runtime_error set.
  static HttpResponseData JsonError(int status, const std::string& message);
  // JsonError marked as a retryable reset (object_reset, reset_retryable): the answer to an event
  // this node could not serve or carry to the object's owner now, which RPC callers see as
  // `retryable`.
  static HttpResponseData RetryableError(int status, const std::string& message);
};

// Called exactly once, on the thread that owns the object, when the response may be sent.
using ResponseCallback = std::function<void(HttpResponseData)>;

}  // namespace dorm::runtime
