// Which other apps may call an app's Worker through their service bindings:
//   GET    /_admin/v1/apps/<app>/service-callers           → {"app", "callers": [...]}
//   PUT    /_admin/v1/apps/<app>/service-callers/<caller>  → 201 allowed / 200 already allowed
//   DELETE /_admin/v1/apps/<app>/service-callers/<caller>  → {"revoked": true, ...}; 404 if not
// Apps on one server belong to different tenants, so a binding to another app's Worker works
// only once that app has allowed the caller (its entrypoints' RPC methods are not reachable over
// HTTP). A change republishes the app, as an env var change does.
#include <boost/json.hpp>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/registry.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

HttpResponseData AdminService::ServeServiceCallers(const std::vector<std::string>& parts,
                                                   const HttpRequestData& request) {
  std::string app;
  if (auto refusal = DecodeAppName(parts[2], &app)) return std::move(*refusal);
  const std::string& method = request.method;
  if (parts.size() == 4) {
    if (method != "GET") return HttpResponseData::JsonError(405, "Method not allowed.");
    json::array callers;
    for (const auto& caller : registry_.ServiceCallers(app)) callers.emplace_back(caller);
    return JsonResponse(200, json::object{{"app", app}, {"callers", std::move(callers)}});
  }
  if (parts.size() != 5) return HttpResponseData::JsonError(404, "Unknown admin endpoint.");
  std::string caller;
  if (auto refusal = DecodeAppName(parts[4], &caller)) return std::move(*refusal);
  if (caller == app) {
    return HttpResponseData::JsonError(
        400, "An app's service bindings reach its own Worker without being allowed.");
  }
  if (method == "PUT") {
    const bool added = registry_.SetServiceCaller(app, caller, true);
    if (added) PublishApp(app);
    return JsonResponse(added ? 201 : 200,
                        json::object{{"app", app}, {"caller", caller}, {"allowed", true}});
  }
  if (method == "DELETE") {
    if (!registry_.SetServiceCaller(app, caller, false)) {
      return HttpResponseData::JsonError(
          404, "App '" + caller + "' is not allowed to call app '" + app + "'.");
    }
    PublishApp(app);
    return JsonResponse(200, json::object{{"app", app}, {"caller", caller}, {"revoked", true}});
  }
  return HttpResponseData::JsonError(405, "Method not allowed.");
}

}  // namespace dorm::control
