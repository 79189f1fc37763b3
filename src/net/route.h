// Routing of request targets and Host headers. Pure; no I/O.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace dorm::net {

// kWorker is never RouteTarget()'s answer: the server gives it to a request outside `/_do/` (see
// Route::outside_objects) whose app has a Worker.
enum class RouteKind { kObject, kAdmin, kNotFound, kBadRequest, kWorker };

struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string class_name;   // kObject: the class's URL name
  std::string instance_id;  // kObject: percent-decoded, 1 to 1024 bytes
  std::string forwarded;    // kObject: "/<rest>?<query>" as the object sees it ("/" if no rest)
  std::string admin_path;   // kAdmin: the path after "/_admin", e.g. "/v1/apps/x/classes"
  std::string error;        // kBadRequest / kNotFound: what is wrong
  // kNotFound: the path is neither under `/_do/` nor the admin API's: an app's Worker serves it.
  bool outside_objects = false;
};

constexpr size_t kMaxInstanceIdBytes = 1024;

// Parses an origin-form request target ("/_do/counter/a/increment?x=1").
Route RouteTarget(std::string_view target);

// The app a Host header names: "<app>.localhost" or "<app>.<domain>" when `app_exists(app)`,
// otherwise "default". Ports and IP addresses are handled.
std::string AppFromHost(std::string_view host,
                        const std::function<bool(const std::string&)>& app_exists);

}  // namespace dorm::net
