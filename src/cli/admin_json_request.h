// One admin API call from a CLI command, answered with a JSON object.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>

namespace dorm::cli {

// Finds the server from the command's flags (--server/--token, the environment, or --data, as
// ResolveAdminEndpoint does), sends `method target` with `body`, and parses the JSON object it
// answers. On any failure (no server found, connection refused, a 4xx or 5xx answer, a body that
// is not a JSON object) prints "dorm: <message>" to stderr (the server's "error" text when it gave
// one) and returns nullopt. Never throws.
std::optional<boost::json::object> AdminJsonRequest(const std::map<std::string, std::string>& flags,
                                                    const std::string& method,
                                                    const std::string& target,
                                                    const std::string& body = "");

}  // namespace dorm::cli
