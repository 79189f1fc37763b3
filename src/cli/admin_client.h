// A blocking HTTP client for the admin API, used by the CLI.
#pragma once

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

// Sends one request to `server` ("http://host:port"). Throws std::runtime_error if the server
// cannot be reached.
AdminResponse AdminRequest(const std::string& server, const std::string& token,
                           const std::string& method, const std::string& target,
                           const std::string& body);

}  // namespace dorm::cli
