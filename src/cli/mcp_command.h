// `dorm mcp`: the MCP server on stdin/stdout, managing the Durable Objects of the server found
// from the given flags (see ResolveAdminEndpoint; resolved again for every tool call, so the MCP
// server may start before the Dorm server does).
#pragma once

#include <string>

namespace dorm::cli {

// Serves until stdin ends; returns the exit status. `archive_root` (may be empty: no archives)
// is the folder the export and backup actions write into; it must exist.
int RunMcpCommand(const std::string& server_flag, const std::string& token_flag,
                  const std::string& data_flag, const std::string& archive_root);

}  // namespace dorm::cli
