// The MCP tool `manage_durable_objects`, with the actions and argument names of the Butterbase
// tool of the same name (deploy, list, get, delete, usage, list_env, set_env, delete_env),
// carried out through a Dorm server's admin API.
#pragma once

#include <functional>
#include <string>

#include "cli/admin_client.h"
#include "cli/mcp_server.h"

namespace dorm::cli {

// Sends one admin API request (method, target such as "/_admin/v1/apps/default/classes", JSON
// body or ""). Throws std::runtime_error when no server can be reached; the message is shown to
// the model.
using AdminCall = std::function<AdminResponse(const std::string& method, const std::string& target,
                                              const std::string& body)>;

McpTool ManageDurableObjectsTool(AdminCall admin);

}  // namespace dorm::cli
