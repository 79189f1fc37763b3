#include "runtime/forwarded_sockets.h"

namespace dorm::runtime {

uint64_t ForwardedSockets::Add(ForwardedSocket socket, Clock::time_point now) {
  const uint64_t token = next_token_++;
  entries_.emplace(token, Entry{socket, now});
  return token;
}

std::optional<ForwardedSocket> ForwardedSockets::Take(uint64_t token) {
  auto it = entries_.find(token);
  if (it == entries_.end()) return std::nullopt;
  ForwardedSocket socket = it->second.socket;
  entries_.erase(it);
  return socket;
}

std::vector<ForwardedSocket> ForwardedSockets::TakeExpired(Clock::time_point now) {
  std::vector<ForwardedSocket> expired;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.received >= kUnclaimedLifetime) {
      expired.push_back(it->second.socket);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

}  // namespace dorm::runtime
