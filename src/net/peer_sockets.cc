#include "net/peer_sockets.h"

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "net/peer_streams.h"

namespace dorm::net {
namespace {

struct WaitingSockets {
  std::mutex mutex;
  std::unordered_map<std::string, PendingPeerSocket> sockets;
};

WaitingSockets& waiting_sockets() {
  static WaitingSockets* instance =
      new WaitingSockets();  // never destroyed: timers may fire at exit
  return *instance;
}

}  // namespace

std::optional<std::string> OfferPeerSocket(PendingPeerSocket socket, boost::asio::io_context& io,
                                           std::function<void(const PendingPeerSocket&)> abandon) {
  const std::string token = NewPeerStreamToken();
  {
    WaitingSockets& table = waiting_sockets();
    std::lock_guard<std::mutex> lock(table.mutex);
    if (table.sockets.size() >= kMaxPendingPeerSockets) return std::nullopt;
    table.sockets.emplace(token, std::move(socket));
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(io, kUnclaimedPeerSocketLifetime);
  timer->async_wait([timer, token, abandon = std::move(abandon)](boost::system::error_code) {
    if (std::optional<PendingPeerSocket> left = TakePeerSocket(token)) abandon(*left);
  });
  return token;
}

std::optional<PendingPeerSocket> TakePeerSocket(const std::string& token) {
  WaitingSockets& table = waiting_sockets();
  std::lock_guard<std::mutex> lock(table.mutex);
  auto it = table.sockets.find(token);
  if (it == table.sockets.end()) return std::nullopt;
  PendingPeerSocket socket = std::move(it->second);
  table.sockets.erase(it);
  return socket;
}

}  // namespace dorm::net
