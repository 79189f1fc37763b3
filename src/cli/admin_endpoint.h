// Where the command line finds the admin API of a running server.
#pragma once

#include <optional>
#include <string>

namespace dorm::cli {

struct AdminEndpoint {
  std::string server;  // "http://HOST:PORT"
  std::string token;   // the admin token
};

// Resolves the endpoint from, in order: the --server/--token flags (empty when not given), the
// DORM_SERVER/DORM_TOKEN environment variables, and the data folder of a local server
// (`data_flag`, or ./.dorm when neither a server nor a token was given otherwise), whose
// `server-address` and `admin-token` files `dorm serve` writes. Reads the files on every call, so
// a restarted server is found again. Returns nullopt and sets `*error` when no server or no token
// can be found.
std::optional<AdminEndpoint> ResolveAdminEndpoint(const std::string& server_flag,
                                                  const std::string& token_flag,
                                                  const std::string& data_flag, std::string* error);

}  // namespace dorm::cli
