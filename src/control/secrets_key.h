// The server's secrets key: 32 random bytes in DATA/secrets.key (mode 0600), which seal the
// secrets the server keeps in its databases (env var values) so that those databases alone do not
// disclose them.
#pragma once

#include <string>

namespace dorm::control {

// Path of the key file inside `data_dir`.
std::string SecretsKeyPath(const std::string& data_dir);

// True if the key file exists (whatever its content).
bool SecretsKeyExists(const std::string& data_dir);

// Reads the key, creating it first (durably, mode 0600) if the file does not exist. Throws
// std::runtime_error if the file cannot be read or created, or does not hold exactly 32 bytes.
std::string LoadOrCreateSecretsKey(const std::string& data_dir);

}  // namespace dorm::control
