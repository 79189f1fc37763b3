// A blocking HTTP client for the admin API, used by the CLI.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <string>

namespace dorm::cli {

struct AdminResponse {
  int status = 0;
  std::string body;
};

// `server` ("http://host:port", "host:port" or "host") taken apart: the Host header's value
// ("host:port" as given), the host, and the port (80 when it has none).
struct ServerAddress {
  std::string authority;
  std::string host;
  std::string port;
};
ServerAddress SplitServerAddress(const std::string& server);

// Connects `stream` to `server` and sends a GET of `target` with the token and the CLI's headers
// (and `accept`, when not empty), for a caller that reads the answer as it streams. Throws
// std::exception (boost::system::system_error) if the server cannot be reached.
void SendAdminGet(boost::beast::tcp_stream& stream, const std::string& server,
                  const std::string& token, const std::string& target,
                  const std::string& accept = "");

// Sends a request to `server` ("http://host:port"). A change of the control plane (a deploy, a
// class deleted, env vars, JWT configuration, service keys, service callers, transfers) carries
// an Idempotency-Key of its own and is sent again under it, up to kAdminRetries times, while the
// answer is a 503 asking to retry within 2 s (a cluster node that could not settle the change's
// outcome). Throws std::runtime_error if the server cannot be reached.
inline constexpr int kAdminRetries = 3;
AdminResponse AdminRequest(const std::string& server, const std::string& token,
                           const std::string& method, const std::string& target,
                           const std::string& body);

}  // namespace dorm::cli
