#include "net/own_url.h"

namespace dorm::net {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// 127.0.0.0/8 written as four decimal numbers.
bool IsLoopbackV4(std::string_view host) {
  int parts = 0;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    std::string_view part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || part.size() > 3) return false;
    int value = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    if (value > 255 || (parts == 0 && value != 127)) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

}  // namespace

std::optional<OwnUrl> ParseOwnUrl(std::string_view url, std::string_view listen_host,
                                  unsigned short listen_port) {
  constexpr std::string_view kScheme = "http://";
  if (listen_port == 0 || url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  std::string_view rest = url.substr(kScheme.size());
  size_t path = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority;
  unsigned port = 80;
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view digits = authority.substr(colon + 1);
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    port = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
  }
  if (port != listen_port) return std::nullopt;
  const bool own = host == "localhost" || EndsWith(host, ".localhost") || IsLoopbackV4(host) ||
                   host == "[::1]" || (!listen_host.empty() && host == listen_host);
  if (!own) return std::nullopt;
  OwnUrl result{std::string(authority), "/"};
  if (path != std::string_view::npos) {
    std::string_view target = rest.substr(path);
    target = target.substr(0, target.find('#'));  // a fragment is never sent
    if (!target.empty()) {
      result.target = target.front() == '/' ? std::string(target) : "/" + std::string(target);
    }
  }
  return result;
}

}  // namespace dorm::net
