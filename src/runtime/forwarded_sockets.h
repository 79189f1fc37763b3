// WebSockets that came back through a stub's fetch(): a callee answered a request with a 101 and
// a socket of its own (on its thread), and the caller (a Worker, or an object passing a request
// on) holds that answer as a Response. If the caller returns that Response from its own fetch(),
// the client's connection is attached to the callee's socket; if it does not within
// kUnclaimedLifetime, the callee's socket is told that nobody will connect.
//
// Pure: the caller passes the time. Threading: owned by one ThreadEngine, used on its thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "runtime/http_message.h"

namespace dorm::runtime {

// A socket of the object on loop `loop`, by its id there (HttpResponseData::web_socket_id), or
// (`remote` set) one that another node of the cluster holds.
struct ForwardedSocket {
  size_t loop = 0;
  uint64_t socket_id = 0;
  std::shared_ptr<const RemoteWebSocket> remote;
};

class ForwardedSockets {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kUnclaimedLifetime{30};

  // Records `socket`, received at `now`; returns the token (never 0) the caller's Response keeps.
  uint64_t Add(ForwardedSocket socket, Clock::time_point now);
  // The socket recorded under `token`, which is forgotten; nullopt if unknown or already taken.
  std::optional<ForwardedSocket> Take(uint64_t token);
  // Forgets and returns the sockets received before now - kUnclaimedLifetime.
  std::vector<ForwardedSocket> TakeExpired(Clock::time_point now);
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    ForwardedSocket socket;
    Clock::time_point received;
  };
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, Entry> entries_;
};

}  // namespace dorm::runtime
