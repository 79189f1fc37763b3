#include "cli/admin_json_request.h"

#include <exception>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/flag_value.h"
#include "cli/json_text.h"

namespace dorm::cli {

namespace json = boost::json;

std::optional<json::object> AdminJsonRequest(const std::map<std::string, std::string>& flags,
                                             const std::string& method, const std::string& target,
                                             const std::string& body) {
  std::string error;
  auto endpoint = ResolveAdminEndpoint(FlagValue(flags, "server"), FlagValue(flags, "token"),
                                       FlagValue(flags, "data"), &error);
  if (!endpoint) {
    std::cerr << "dorm: " << error << "\n";
    return std::nullopt;
  }
  AdminResponse r;
  try {
    r = AdminRequest(endpoint->server, endpoint->token, method, target, body);
  } catch (const std::exception& e) {
    std::cerr << "dorm: " << e.what() << "\n";
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (r.status >= 400 || ec || !v.is_object()) {
    std::string message = !ec && v.is_object() ? JsonText(v.as_object(), "error") : "";
    if (message.empty()) message = "server answered " + std::to_string(r.status) + ": " + r.body;
    std::cerr << "dorm: " << message << "\n";
    return std::nullopt;
  }
  return std::move(v.as_object());
}

}  // namespace dorm::cli
