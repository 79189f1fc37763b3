// Reading a parsed command line's flags (the last value of each, by name without dashes).
#pragma once

#include <map>
#include <string>

namespace dorm::cli {

// The value of `--key`, or "" when the flag was not given.
inline std::string FlagValue(const std::map<std::string, std::string>& flags,
                             const std::string& key) {
  auto it = flags.find(key);
  return it == flags.end() ? std::string() : it->second;
}

}  // namespace dorm::cli
