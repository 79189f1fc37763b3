// A blocking HTTP client for the admin API, used by the CLI.
#pragma once

#include <string>

namespace dorm::cli {

struct AdminResponse {
  int status = 0;
  std::string body;
};

// Sends one request to `server` ("http://host:port"). Throws std::runtime_error if the server
// cannot be reached.
AdminResponse AdminRequest(const std::string& server, const std::string& token,
                           const std::string& method, const std::string& target,
                           const std::string& body);

}  // namespace dorm::cli
