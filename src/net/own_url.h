// Whether an absolute URL that an object fetch()es names this server itself, so that the request
// can be served by the runtime without a socket (see HttpServer::ServeLocalFetch).
//
// A URL is the server's own when it is http:, its port is the one the server listens on, and its
// host is a loopback name or address (`localhost`, `<app>.localhost`, 127.0.0.0/8, [::1]) or the
// host the server was told to listen on. Names the server may be reached by from outside (behind
// a proxy) are not known to it, so requests to them go out as any other.
//
// Pure; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dorm::net {

struct OwnUrl {
  std::string host;    // as the Host header would carry it: host[:port]
  std::string target;  // path and query, starting with '/'
};

// `url` is serialized by the URL parser (lowercase scheme and host, no userinfo for http:
// fetches). Returns nullopt when it is not one of the server's own.
std::optional<OwnUrl> ParseOwnUrl(std::string_view url, std::string_view listen_host,
                                  unsigned short listen_port);

}  // namespace dorm::net
