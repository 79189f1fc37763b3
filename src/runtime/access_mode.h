// Who may call a deployed class's objects, checked by the network layer before a request reaches
// the object. Pure.
#pragma once

#include <optional>
#include <string_view>

namespace dorm::runtime {

enum class AccessMode {
  kPublic,         // anyone
  kAuthenticated,  // a valid end-user JWT of the app (or one of the app's service keys)
  kServiceKey,     // one of the app's service keys
};

// "public", "authenticated" or "service_key"; nullopt for anything else.
std::optional<AccessMode> ParseAccessMode(std::string_view name);
const char* AccessModeName(AccessMode mode);

}  // namespace dorm::runtime
