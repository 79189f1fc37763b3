// Kept-alive connections from one event loop to the other nodes of a cluster, for calls between
// objects (net/peer_call.h): a call takes an idle connection to its callee's node if there is one
// and gives it back once its answer has been read whole, so that a call costs no TCP handshake.
//
// - At most kMaxIdlePerPeer idle connections per peer address and loop are kept; one more is
//   closed. Connections in use are bounded by the calls under way (kMaxOutstandingPeerCalls).
// - An idle connection is closed once it has waited the idle timeout (checked every half of it):
//   the smallest `idle_timeout` given to ForThisThread on this thread, which must stay well below
//   the peers' --keep-alive-timeout-seconds, so that a peer never closes a connection this side
//   may be about to use (a request written to a connection the peer closes meanwhile may or may
//   not have reached it).
// - Take() never hands out a connection the peer has closed or written to meanwhile (both are
//   seen without blocking); a connection that failed, timed out, or whose exchange did not end
//   cleanly is never given back (the caller closes it instead), so that a call, which cannot be
//   sent twice, never goes out on a connection known to be broken.
//
// Threading: one pool per loop thread (ForThisThread), used only on that thread; sockets belong
// to that loop's io_context. Nothing blocks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace dorm::net {

class PeerConnections {
 public:
  static constexpr size_t kMaxIdlePerPeer = 16;

  // The pool of the calling thread, which runs `io`. From then on its idle timeout is at most
  // `idle_timeout` (callers with different needs share the pool: the shortest wins).
  static PeerConnections& ForThisThread(boost::asio::io_context& io,
                                        std::chrono::milliseconds idle_timeout);

  // An idle connection to `addr` (the peer's --advertise address), or nullopt.
  std::optional<boost::asio::ip::tcp::socket> Take(const std::string& addr);
  // Keeps `socket`, whose last exchange with `addr` ended cleanly (answer read whole, no byte
  // more, the peer kept the connection), for the next call; closes it if the pool is full.
  void Give(const std::string& addr, boost::asio::ip::tcp::socket socket);

  // Idle connections kept now (all peers).
  size_t idle() const { return idle_; }

 private:
  explicit PeerConnections(boost::asio::io_context& io) : sweep_(io) {}
  struct Idle {
    boost::asio::ip::tcp::socket socket;
    std::chrono::steady_clock::time_point since;
  };
  void ArmSweep();
  void Sweep();

  boost::asio::steady_timer sweep_;
  bool sweep_armed_ = false;
  std::chrono::milliseconds idle_timeout_{15000};  // callers ask for 15 s at most
  size_t idle_ = 0;
  // Per peer address, oldest first: Take uses the newest (the least likely to have timed out).
  std::unordered_map<std::string, std::deque<Idle>> idle_by_peer_;
};

}  // namespace dorm::net
