// `dorm auth ...` (how an app's end-user JWTs are verified) and `dorm keys ...` (an app's service
// keys), clients of the admin API's /apps/<app>/auth and /apps/<app>/keys endpoints.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dorm::cli {

// Runs `dorm auth|keys SUBCOMMAND ...`. `positional` starts with the subcommand; `flags` are the
// --name value options. Prints the outcome and returns the exit status (0 on success; on failure
// the message goes to stderr and the status is 1).
int CredentialsCommand(const std::string& command, const std::vector<std::string>& positional,
                       const std::map<std::string, std::string>& flags);

}  // namespace dorm::cli
