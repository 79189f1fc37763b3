// `dorm usage [NAME] [--since ISO|30m|1h|24h|7d] [--app APP]`: the usage meters of an app (or of
// one class) as tables, from the admin API's GET /_admin/v1/usage.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dorm::cli {

// Prints the tables and returns the exit status (0; on failure the message goes to stderr and
// the status is 1). `flags` are the --name value options.
int UsageCommand(const std::vector<std::string>& positional,
                 const std::map<std::string, std::string>& flags);

}  // namespace dorm::cli
