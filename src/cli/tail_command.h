// `dorm tail [APP] [--class C] [--object ID] [--level L] [--status S] [--sampling R] [--since 5m]
// [--format pretty|json]`: an app's live log, from the admin API's GET /_admin/v1/apps/<app>/tail
// (Server-Sent Events), printed as it comes until the server ends the stream or the command is
// interrupted.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dorm::cli {

// Returns the exit status: 0 when the server ended the stream, 1 on failure (the message goes to
// stderr). `flags` are the --name value options.
int TailCommand(const std::vector<std::string>& positional,
                const std::map<std::string, std::string>& flags);

}  // namespace dorm::cli
