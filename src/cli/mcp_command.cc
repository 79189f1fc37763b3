#include "cli/mcp_command.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/archive_commands.h"
#include "cli/durable_objects_tool.h"
#include "cli/mcp_server.h"

namespace dorm::cli {

int RunMcpCommand(const std::string& server_flag, const std::string& token_flag,
                  const std::string& data_flag, const std::string& archive_root) {
  ArchiveDestination archives;
  if (!archive_root.empty()) {
    std::error_code ec;
    // Absolute and free of symbolic links, so the paths the tool reports are where files are.
    archives.root = std::filesystem::canonical(archive_root, ec).string();
    if (ec || !std::filesystem::is_directory(archives.root, ec)) {
      std::cerr << "dorm: --archive-root " << archive_root << " is not a folder\n";
      return 1;
    }
    archives.save = [=](const std::string& target, const std::string& path, size_t* files) {
      std::string error;
      std::optional<AdminEndpoint> endpoint =
          ResolveAdminEndpoint(server_flag, token_flag, data_flag, &error);
      if (!endpoint) return error;
      return SaveArchive(*endpoint, target, path, "archiving", files);
    };
    archives.save_backup = [=](const std::string& folder, const std::string& prev,
                               BackupSummary* summary) {
      std::string error;
      std::optional<AdminEndpoint> endpoint =
          ResolveAdminEndpoint(server_flag, token_flag, data_flag, &error);
      if (!endpoint) return error;
      return SaveBackup(*endpoint, folder, prev, summary);
    };
  }
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
      {ManageDurableObjectsTool(std::move(admin), std::move(archives))});
  return server.Run(std::cin, std::cout);
}

}  // namespace dorm::cli
