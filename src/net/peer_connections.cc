#include "net/peer_connections.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <vector>

namespace dorm::net {
namespace {

using tcp = boost::asio::ip::tcp;

// Whether an idle connection can carry a call: the peer has neither closed it nor sent anything
// (an idle connection has nothing to read; a byte or an end of stream means it is unusable).
bool StillOpen(tcp::socket& socket) {
  if (!socket.is_open()) return false;
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void CloseQuietly(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
}

}  // namespace

PeerConnections& PeerConnections::ForThisThread(boost::asio::io_context& io,
                                                std::chrono::milliseconds idle_timeout) {
  // Intentionally leaked: the sockets must not be destroyed after their io_context. Every pool
  // stays listed in `all` (itself never freed), so that the pool of a loop whose thread ended
  // before the process is still reachable: LeakSanitizer does not report it.
  thread_local PeerConnections* pool = [&io] {
    static std::mutex mu;
    static auto* all = new std::vector<PeerConnections*>;
    auto* created = new PeerConnections(io);
    std::lock_guard<std::mutex> lock(mu);
    all->push_back(created);
    return created;
  }();
  pool->idle_timeout_ = std::min(pool->idle_timeout_, idle_timeout);
  return *pool;
}

std::optional<tcp::socket> PeerConnections::Take(const std::string& addr) {
  auto it = idle_by_peer_.find(addr);
  if (it == idle_by_peer_.end()) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  std::optional<tcp::socket> found;
  while (!it->second.empty() && !found) {
    Idle idle = std::move(it->second.back());
    it->second.pop_back();
    --idle_;
    if (now - idle.since < idle_timeout_ && StillOpen(idle.socket)) {
      found.emplace(std::move(idle.socket));
    } else {
      CloseQuietly(idle.socket);
    }
  }
  if (it->second.empty()) idle_by_peer_.erase(it);
  return found;
}

void PeerConnections::Give(const std::string& addr, tcp::socket socket) {
  std::deque<Idle>& idle = idle_by_peer_[addr];
  if (idle.size() >= kMaxIdlePerPeer) {
    CloseQuietly(socket);
    return;
  }
  idle.push_back(Idle{std::move(socket), std::chrono::steady_clock::now()});
  ++idle_;
  ArmSweep();
}

void PeerConnections::ArmSweep() {
  if (sweep_armed_) return;
  sweep_armed_ = true;
  sweep_.expires_after(idle_timeout_ / 2);
  sweep_.async_wait([this](boost::system::error_code ec) {
    sweep_armed_ = false;
    if (ec) return;
    Sweep();
  });
}

void PeerConnections::Sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = idle_by_peer_.begin(); it != idle_by_peer_.end();) {
    std::deque<Idle>& idle = it->second;
    // Oldest first: stop at the first one still young enough.
    while (!idle.empty() && now - idle.front().since >= idle_timeout_) {
      CloseQuietly(idle.front().socket);
      idle.pop_front();
      --idle_;
    }
    it = idle.empty() ? idle_by_peer_.erase(it) : std::next(it);
  }
  if (idle_ > 0) ArmSweep();
}

}  // namespace dorm::net
