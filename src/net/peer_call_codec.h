// The wire form of a call between objects that crosses nodes of the cluster (net/peer_call.h):
// what the calling node tells the owner in the request's kCallHeader, and what the owner answers
// in the response's kAnswerHeader. Both are base64 of a small JSON document, so that any header
// names, values and status texts the objects use travel as one plain header field; the call's
// arguments (RPC) or the request's body (fetch) is the HTTP body, and so is the answer's.
//
// The request's target and kCallHeader are covered by the forwarding signature (SignedTarget), so
// a node acts only on calls another node of the cluster made.
//
// Pure; thread-safe. Decoders validate every field's type and never throw.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/http_message.h"
#include "runtime/object_address.h"

namespace dorm::net {

// The owner's endpoints. Only requests with a valid forwarding signature reach them; anything
// else under kInternalPrefix is refused with 403 on a node of a cluster.
inline constexpr char kInternalPrefix[] = "/_dorm/internal/";
inline constexpr char kInternalRpcTarget[] = "/_dorm/internal/rpc";
inline constexpr char kInternalFetchTarget[] = "/_dorm/internal/fetch";
// The bytes of one stream of an RPC message, pushed by the node that produces them to the node that
// consumes them (net/peer_streams.h).
inline constexpr char kInternalStreamTarget[] = "/_dorm/internal/stream";
inline constexpr char kCallHeader[] = "x-dorm-call";
inline constexpr char kAnswerHeader[] = "x-dorm-answer";
// Beside kAnswerHeader for a fetch() answered with a WebSocket: the token under which the owner
// keeps the socket (net/peer_sockets.h).
inline constexpr char kSocketHeader[] = "x-dorm-socket";
// Beside kSocketHeader when another node keeps the socket (a callee passed on, through its own
// fetch(), a socket that came from a third node): that node's name.
inline constexpr char kSocketNodeHeader[] = "x-dorm-socket-node";
// A stream of an RPC message that crosses nodes: the token its two ends meet by, and whether it is
// a WritableStream (the receiver produces) rather than a ReadableStream (the sender produces).
struct PeerStreamRef {
  std::string token;
  bool writable = false;
};

struct PeerCallMeta {
  runtime::ObjectAddress address;      // the callee (app, class, instance name, object id)
  std::string method;                  // RPC: the method's name
  std::vector<PeerStreamRef> streams;  // RPC: the arguments' streams, in marker order
  std::string stream;                  // kInternalStreamTarget: the token of the stream pushed
  // fetch: the request the callee's fetch() gets (its body is the HTTP body).
  std::string http_method;
  std::string url;
  runtime::HeaderList headers;
};

std::string EncodeCallMeta(const PeerCallMeta& meta);
std::optional<PeerCallMeta> DecodeCallMeta(std::string_view text);

// What the forwarding signature covers for an internal call in place of the target alone: the
// target and the call's description together.
std::string SignedTarget(std::string_view target, std::string_view call_header);

// Everything of an answer but its body: status, status text, headers, the RPC outcome, the reset
// and runtime-error flags, the thrown class's name, "owned elsewhere", and the tokens of the
// result's streams (`streams`).
std::string EncodeAnswerMeta(const runtime::HttpResponseData& answer,
                             const std::vector<PeerStreamRef>& streams = {});
// Fills those fields of `answer` and `streams`; false if `text` is not what EncodeAnswerMeta
// makes.
bool DecodeAnswerMeta(std::string_view text, runtime::HttpResponseData* answer,
                      std::vector<PeerStreamRef>* streams = nullptr);

}  // namespace dorm::net
