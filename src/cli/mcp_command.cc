#include "cli/mcp_command.h"

#include <iostream>
#include <stdexcept>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/durable_objects_tool.h"
#include "cli/mcp_server.h"

namespace dorm::cli {

int RunMcpCommand(const std::string& server_flag, const std::string& token_flag,
                  const std::string& data_flag) {
  AdminCall admin = [=](const std::string& method, const std::string& target,
                        const std::string& body) {
    std::string error;
    std::optional<AdminEndpoint> endpoint =
        ResolveAdminEndpoint(server_flag, token_flag, data_flag, &error);
    if (!endpoint) throw std::runtime_error(error);
    return AdminRequest(endpoint->server, endpoint->token, method, target, body);
  };
  McpServer server(
      "dorm", "0.1.0",
      "Dorm is a self-hosted Durable Objects server. Use manage_durable_objects to deploy a class "
      "(one TypeScript file exporting one class), list, inspect and delete classes, read usage, "
      "and manage the app's env vars (readable in code as env.KEY). Each instance of a class "
      "named NAME is served over HTTP and WebSocket at /_do/NAME/<instance-id>.",
      {ManageDurableObjectsTool(std::move(admin))});
  return server.Run(std::cin, std::cout);
}

}  // namespace dorm::cli
