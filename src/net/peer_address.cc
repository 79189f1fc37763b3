#include "net/peer_address.h"

namespace dorm::net {

bool SplitPeerAddress(const std::string& addr, std::string& host, std::string& port) {
  static constexpr char kScheme[] = "http://";
  if (addr.compare(0, sizeof kScheme - 1, kScheme) != 0) return false;
  std::string rest = addr.substr(sizeof kScheme - 1);
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  if (rest.empty()) return false;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) return false;
    host = rest.substr(1, close - 1);
    port = close + 1 < rest.size() && rest[close + 1] == ':' ? rest.substr(close + 2) : "80";
  } else if (colon == std::string::npos) {
    host = rest;
    port = "80";
  } else {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  return !host.empty() && !port.empty();
}

}  // namespace dorm::net
