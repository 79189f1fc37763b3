// WebSockets that an object of this node answered through a stub's fetch() called from another
// node of the cluster (net/peer_call.h): the socket stays here, on its object's loop, and the
// caller's node gets a token for it. If the caller returns the 101 to its client, that node passes
// the client's upgrade request to `GET kInternalSocketTarget?TOKEN` here through a forward tunnel
// (net/forward_tunnel.h, signed like every internal call), and this node attaches that
// connection to the socket as it attaches a client's: the tunnel relays the handshake and the
// frames both ways. A socket not claimed within kUnclaimedPeerSocketLifetime is told that nobody
// will connect (the same 30 s as runtime/forwarded_sockets.h).
//
// Bounds: at most kMaxPendingPeerSockets sockets wait per process; past that the fetch() answers
// the refusal it gave before sockets could cross.
//
// Threading: every function may be called on any thread (one mutex); `io` runs the expiry timer,
// and `abandon` runs on it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "runtime/http_message.h"

namespace dorm::net {

inline constexpr char kInternalSocketTarget[] = "/_dorm/internal/socket";
inline constexpr std::chrono::seconds kUnclaimedPeerSocketLifetime{30};
inline constexpr size_t kMaxPendingPeerSockets = 4096;

struct PendingPeerSocket {
  size_t loop = 0;              // the loop whose engine owns the socket
  uint64_t socket_id = 0;       // its id there
  runtime::HeaderList headers;  // the object's 101 answer's headers
};

// Keeps `socket` for its claim; returns its token (net/peer_streams.h's form), or nullopt when
// kMaxPendingPeerSockets already wait. `abandon` runs (on `io`) if nobody claims it in time.
std::optional<std::string> OfferPeerSocket(PendingPeerSocket socket, boost::asio::io_context& io,
                                           std::function<void(const PendingPeerSocket&)> abandon);

// The socket kept under `token`, now the caller's to attach; nullopt if unknown, taken or expired.
std::optional<PendingPeerSocket> TakePeerSocket(const std::string& token);

}  // namespace dorm::net
