// The MCP tool `manage_durable_objects`, with the actions and argument names of the Butterbase
// tool of the same name (deploy, list, get, delete, usage, list_env, set_env, delete_env), and
// Dorm's own (tail, list_objects, get_storage, export, backup), carried out through a Dorm
// server's admin API.
#pragma once

#include <functional>
#include <string>

#include "cli/admin_client.h"
#include "cli/archive_commands.h"
#include "cli/mcp_server.h"

namespace dorm::cli {

// Sends one admin API request (method, target such as "/_admin/v1/apps/default/classes", JSON
// body or ""). Throws std::runtime_error when no server can be reached; the message is shown to
// the model.
using AdminCall = std::function<AdminResponse(const std::string& method, const std::string& target,
                                              const std::string& body)>;

// Where the `export` and `backup` actions may write archives: files and folders directly inside
// `root`, a folder the operator names when starting the MCP server (`dorm mcp --archive-root`);
// empty: the actions are refused. `save(target, path, &files)` streams the archive the admin API
// answers at `target` into `path` (SaveArchive); `save_backup(folder, prev, &summary)` backs the
// server up into `folder`, incrementally from the backup in `prev` unless it is empty
// (SaveBackup). Both return "" or why they failed.
struct ArchiveDestination {
  std::string root;
  std::function<std::string(const std::string& target, const std::string& path, size_t* files)>
      save;
  std::function<std::string(const std::string& folder, const std::string& prev,
                            BackupSummary* summary)>
      save_backup;
};

McpTool ManageDurableObjectsTool(AdminCall admin, ArchiveDestination archives = {});

}  // namespace dorm::cli
