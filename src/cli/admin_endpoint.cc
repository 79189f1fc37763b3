#include "cli/admin_endpoint.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace dorm::cli {
namespace {

std::string FirstLineOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

std::optional<AdminEndpoint> ResolveAdminEndpoint(const std::string& server_flag,
                                                  const std::string& token_flag,
                                                  const std::string& data_flag,
                                                  std::string* error) {
  AdminEndpoint endpoint;
  endpoint.server = server_flag.empty() ? Environment("DORM_SERVER") : server_flag;
  endpoint.token = token_flag.empty() ? Environment("DORM_TOKEN") : token_flag;
  if (!data_flag.empty() || (endpoint.server.empty() && endpoint.token.empty())) {
    std::string data = data_flag.empty() ? ".dorm" : data_flag;
    if (endpoint.server.empty()) endpoint.server = FirstLineOf(data + "/server-address");
    if (endpoint.token.empty()) endpoint.token = FirstLineOf(data + "/admin-token");
  }
  if (endpoint.server.empty()) {
    *error = "no server: pass --server, set DORM_SERVER, or pass --data DIR of a running server";
    return std::nullopt;
  }
  if (endpoint.token.empty()) {
    *error = "no admin token: pass --token, set DORM_TOKEN, or pass --data DIR";
    return std::nullopt;
  }
  return endpoint;
}

}  // namespace dorm::cli
