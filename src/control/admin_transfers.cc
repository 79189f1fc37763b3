// Which of an app's classes another app may take with a `transferred_classes` migration:
//   GET    /_admin/v1/apps/<app>/transfers          → {"app", "transfers": [{"class", "to"}]}
//   PUT    /_admin/v1/apps/<app>/transfers/<Class>  {"to": "<app>"} → 201 allowed / 200 unchanged
//   DELETE /_admin/v1/apps/<app>/transfers/<Class>  → {"revoked": true, ...}; 404 if none
// Apps on one server may belong to different tenants, so a project's migrations alone cannot take
// another app's objects: the app that has them allows it first. The permission is used up by the
// deploy that applies the transfer.
#include <boost/json.hpp>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/registry.h"
#include "util/names.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

HttpResponseData AdminService::ServeTransfers(const std::vector<std::string>& parts,
                                              const HttpRequestData& request) {
  std::string app;
  if (auto refusal = DecodeAppName(parts[2], &app)) return std::move(*refusal);
  const std::string& method = request.method;
  if (parts.size() == 4) {
    if (method != "GET") return HttpResponseData::JsonError(405, "Method not allowed.");
    json::array transfers;
    for (const auto& [class_name, target] : registry_.Transfers(app)) {
      transfers.push_back(json::object{{"class", class_name}, {"to", target}});
    }
    return JsonResponse(200, json::object{{"app", app}, {"transfers", std::move(transfers)}});
  }
  if (parts.size() != 5) return HttpResponseData::JsonError(404, "Unknown admin endpoint.");
  std::string class_name = PercentDecode(parts[4]).value_or(parts[4]);
  if (!IsIdentifier(class_name))
    return HttpResponseData::JsonError(400, "Invalid class name '" + class_name + "'.");
  if (method == "PUT") {
    json::value body;
    boost::system::error_code ec;
    body = json::parse(request.body, ec);
    const json::value* to = !ec && body.is_object() ? body.as_object().if_contains("to") : nullptr;
    if (!to || !to->is_string()) {
      return HttpResponseData::JsonError(
          400, "The body must be {\"to\": \"<app>\"}: the app that may take the class.");
    }
    std::string target(to->as_string());
    if (!IsValidKebabName(target))
      return HttpResponseData::JsonError(400, "Invalid app name '" + target + "'.");
    if (target == app) {
      return HttpResponseData::JsonError(
          400, "A class moves within its own app with a renamed_classes migration.");
    }
    bool has_class = false;
    for (const ClassRecord& r : registry_.List(app)) has_class |= r.class_name == class_name;
    if (!has_class) {
      return HttpResponseData::JsonError(
          404, "No Durable Object class '" + class_name + "' in app '" + app + "'.");
    }
    const bool changed = registry_.AllowTransfer(app, class_name, target);
    return JsonResponse(
        changed ? 201 : 200,
        json::object{{"app", app}, {"class", class_name}, {"to", target}, {"allowed", true}});
  }
  if (method == "DELETE") {
    if (!registry_.AllowTransfer(app, class_name, std::nullopt)) {
      return HttpResponseData::JsonError(
          404, "App '" + app + "' has not allowed class '" + class_name + "' to be transferred.");
    }
    return JsonResponse(200, json::object{{"app", app}, {"class", class_name}, {"revoked", true}});
  }
  return HttpResponseData::JsonError(405, "Method not allowed.");
}

}  // namespace dorm::control
