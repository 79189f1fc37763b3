// The ReadableStreams and WritableStreams of an RPC message that crosses nodes of the cluster
// (js/runtime/rpc_values.js, runtime/rpc_streams.h). Each stream's channel (a ResponseStream) is
// carried by a connection of its own between the two nodes: the node whose code produces the
// stream's bytes (the sender of a ReadableStream, the receiver of a WritableStream) sends them as
// the chunked body of `POST kInternalStreamTarget` (net/peer_call.h, StartPeerStreamPush), signed
// like every internal call, to the node whose code consumes them, which pushes them into its end of
// the channel with the same backpressure as a client's upload (net/http_server.cc).
//
// The two ends meet by a token the message's sender draws (128 random bits, hex): the message
// names each stream's token (and whether it is writable) in its description, and the push names
// its own. Whichever of the message and the push reaches the consuming node first leaves the
// channel here (JoinPeerStream); the other takes it. An end that the other does not meet within
// kPeerStreamJoinTimeout (the message failed on its way, the producing node died) is ended as a
// dropped message's streams are: cancelled, so that a producer stops, and failed with "Network
// connection lost.", so that a reader stops waiting.
//
// The end of a stream is its body's end. A producer whose stream fails ends the body with the
// last chunk carrying the failure (kPeerStreamFailureExtension: its class and message, hex of
// JSON), so that the consumer's stream errors as a local one would; a connection that breaks
// fails it as a lost connection does. A consumer that cancels answers the push at once and
// closes it, which cancels the producer's stream.
//
// Bounds: at most kMaxPendingPeerStreams ends wait for their other end per process (past that a
// stream fails at once), and a message crosses with at most kMaxPeerMessageStreams streams.
//
// Threading: every function may be called on any thread (one mutex); `io` is the caller's, where
// the deadline's timer runs.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/response_stream.h"

namespace dorm::net {

inline constexpr std::chrono::seconds kPeerStreamJoinTimeout{30};
inline constexpr size_t kMaxPendingPeerStreams = 4096;
inline constexpr size_t kMaxPeerMessageStreams = 256;
// The chunk extension of a failed stream's last chunk: `0;dorm-failed=<hex of JSON>`.
inline constexpr char kPeerStreamFailureExtension[] = "dorm-failed";
// A failure's message is cut to this many bytes on the wire (the chunk header must fit in the
// receiving server's buffer).
inline constexpr size_t kMaxPeerStreamFailureMessage = 1024;

// A new token: 32 hex digits from the system's random source.
std::string NewPeerStreamToken();

// Whether `token` has the form NewPeerStreamToken gives. Pure.
bool IsPeerStreamToken(std::string_view token);

// Meets the other end of stream `token`: returns the channel the other end left, or leaves
// `offered` (a new channel if null) for it and returns that, arming the join deadline on `io`.
// Null when kMaxPendingPeerStreams ends already wait.
std::shared_ptr<runtime::ResponseStream> JoinPeerStream(
    const std::string& token, std::shared_ptr<runtime::ResponseStream> offered,
    boost::asio::io_context& io);

// The last chunk's extension for `failure` (";dorm-failed=..."), and its reading back from the
// extensions of a chunk header (nullopt if they do not carry one). Pure.
std::string EncodePeerStreamFailure(const runtime::ResponseStream::Failure& failure);
std::optional<runtime::ResponseStream::Failure> DecodePeerStreamFailure(
    std::string_view extensions);

}  // namespace dorm::net
