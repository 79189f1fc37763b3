// The segments of an admin request's path, for the admin API's routers (admin_service.cc and the
// files it dispatches to).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dorm::control {

// The non-empty '/'-separated segments of `target`'s path, before any '?': "/v1/apps/a/?x=1" gives
// {"v1", "apps", "a"}. Segments are returned as they are (not percent-decoded).
std::vector<std::string> AdminPathParts(std::string_view target);

}  // namespace dorm::control
