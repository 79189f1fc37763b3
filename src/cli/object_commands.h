// `dorm objects list` and `dorm storage list|get|put|delete|sql`: the objects list and the storage
// browser of the admin API (/_admin/v1/apps/<app>/classes/<class>/objects...), as tables and
// JSON on stdout.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dorm::cli {

// `dorm objects list NAME [--prefix P] [--limit N] [--cursor C] [--app APP]`. Returns the exit
// status (1 with the server's message on stderr on failure, 2 for a bad command line).
int ObjectsCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags);

// `dorm storage list NAME ID [--prefix P] [--limit N] [--cursor C]`, `get NAME ID KEY`,
// `put NAME ID KEY VALUE-JSON`, `delete NAME ID KEY`, `sql NAME ID "SQL" [--write]
// [--limit N]`, each with [--app APP]. `flags` holds "write" = "true" for --write.
int StorageCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags);

}  // namespace dorm::cli
