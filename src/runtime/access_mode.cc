#include "runtime/access_mode.h"

namespace dorm::runtime {

std::optional<AccessMode> ParseAccessMode(std::string_view name) {
  if (name == "public") return AccessMode::kPublic;
  if (name == "authenticated") return AccessMode::kAuthenticated;
  if (name == "service_key") return AccessMode::kServiceKey;
  return std::nullopt;
}

const char* AccessModeName(AccessMode mode) {
  switch (mode) {
    case AccessMode::kPublic:
      return "public";
    case AccessMode::kAuthenticated:
      return "authenticated";
    case AccessMode::kServiceKey:
      return "service_key";
  }
  return "authenticated";
}

}  // namespace dorm::runtime
