// A call between objects (a stub's RPC call or fetch(), a Worker's call to an object) whose
// callee another node of the cluster owns: sent to that node's `--advertise` address as an HTTP
// request to one of its internal endpoints (net/peer_call_codec.h), signed like a forwarded
// request (cluster/forward_auth.h), and its answer handed to the caller as a local callee's would
// be: the RPC outcome or thrown value's bytes, or the fetch() response with its body streaming as
// it arrives (backpressure through runtime::ResponseStream).
//
// - A request body the caller streams goes out chunked as the caller produces it.
// - An owner that answers "not owner" (421 naming the owner) is asked once more, at the owner it
//   names, if the call has no streamed body (hops bounded by cluster::kMaxForwardHops; a named
//   owner this node has not seen live yet is looked up first, ClusterDirectory::Resolve);
//   otherwise the call fails with the retryable "moved" error.
// - An owner that cannot be reached, or that sends no response head within head_timeout
//   (counted from the last interim "102 Processing" it sent: the owner sends one every
//   third of its own timeout while the callee works, so a slow callee is not mistaken for a node
//   that hangs), fails the call with a retryable error (the directory forgets the object, so that
//   the next call looks it up again), as does a node with kMaxOutstanding such calls already under
//   way.
// - Connections are kept alive and reused (net/peer_connections.h): a call takes an idle one to
//   its callee's node, or opens one, and gives it back once the answer was read whole.
// - Calls made on one loop to one callee start on the callee in the order they were made: the
//   owner sends a first "102 Processing" as soon as it has queued a call for its object (behind
//   the calls queued before it, which the object admits in order), and the next call to the same
//   callee leaves only then (or once the call before it failed). Calls to other callees do not
//   wait. A call that a "not owner" answer sends on to another node may start there after the
//   calls made after it (the object was moving).
//
// - The streams of an RPC call's arguments and of its result cross beside it, each on a connection
//   of its own (net/peer_streams.h): a call with streams is never sent a second time.
//
// Threading: StartPeerCall runs on `io`'s thread (an engine's loop) and so do `done` and every
// handler; nothing blocks. `done` runs exactly once unless the loop stops first.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>

#include "cluster/cluster_node.h"
#include "net/peer_call_codec.h"
#include "runtime/http_message.h"
#include "runtime/outgoing_call.h"
#include "runtime/rpc_streams.h"

namespace dorm::net {

inline constexpr int kMaxOutstandingPeerCalls = 4096;

struct PeerCallOptions {
  // How long a call waits for a sign of life (an interim 102 or the answer's head) from the
  // callee's node before it fails with a retryable 504 (`dorm serve --peer-timeout-seconds`).
  std::chrono::milliseconds head_timeout{30000};
  // How long an idle kept-alive connection to a peer is kept (below the peers'
  // --keep-alive-timeout-seconds).
  std::chrono::milliseconds idle_timeout{15000};
};

// `node`/`addr`: the owner to ask first. `call.address` must be complete (object_id set).
void StartPeerCall(boost::asio::io_context& io, cluster::ClusterNode& cluster,
                   runtime::OutgoingCall call, std::string node, std::string addr,
                   const PeerCallOptions& options, runtime::ResponseCallback done);

// The streams of an RPC message that leaves this node for node `node` at `addr` (the callee's, or
// the caller's for a result): each ReadableStream is pushed there at once, each WritableStream's
// channel waits here for the push of its other end. Returns the references the message's
// description carries, in `channels`' order; nullopt (and every channel ended, as a dropped
// message's) past kMaxPeerMessageStreams or when this node has too many streams waiting. On
// `io`'s thread.
std::optional<std::vector<PeerStreamRef>> SendPeerStreams(
    boost::asio::io_context& io, cluster::ClusterNode& cluster, const std::string& node,
    const std::string& addr, const PeerCallOptions& options,
    std::vector<runtime::RpcChannel> channels);

// The streams of an RPC message that node `node` at `addr` sent here: each ReadableStream's
// channel meets its push, each WritableStream's is pushed back there as this node's code writes
// it. Null when `refs` is empty. On `io`'s thread.
runtime::RpcStreams ReceivePeerStreams(boost::asio::io_context& io, cluster::ClusterNode& cluster,
                                       const std::string& node, const std::string& addr,
                                       const PeerCallOptions& options,
                                       const std::vector<PeerStreamRef>& refs);

}  // namespace dorm::net
