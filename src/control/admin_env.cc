// The env var endpoints of the admin API:
//   GET    /_admin/v1/apps/<app>/env        → {"app", "keys": [...]} (never the values)
//   PUT    /_admin/v1/apps/<app>/env/<KEY>  {"value": "..."} → 201 new / 200 replaced
//   DELETE /_admin/v1/apps/<app>/env/<KEY>  → {"deleted": true, ...}; 404 if not set
// A change republishes the app, which resets its live instances as a redeploy does, so the next
// request sees the new values.
#include <boost/json.hpp>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/env_store.h"
#include "control/registry.h"
#include "util/log.h"
#include "util/names.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

HttpResponseData AdminService::ServeEnv(const std::vector<std::string>& parts,
                                        const HttpRequestData& request) {
  std::string app;
  if (auto refusal = DecodeAppName(parts[2], &app)) return std::move(*refusal);
  if (!env_store_)
    return HttpResponseData::JsonError(503, "Env vars are not available on this server.");
  const std::string& method = request.method;
  if (parts.size() == 4) {
    if (method != "GET") return HttpResponseData::JsonError(405, "Method not allowed.");
    json::array keys;
    for (const auto& key : env_store_->Keys(app)) keys.emplace_back(key);
    return JsonResponse(200, json::object{{"app", app}, {"keys", std::move(keys)}});
  }
  if (parts.size() != 5) return HttpResponseData::JsonError(404, "Unknown admin endpoint.");
  std::string key = PercentDecode(parts[4]).value_or(parts[4]);
  if (!IsValidEnvKey(key)) {
    return HttpResponseData::JsonError(
        400, "Invalid env var key '" + key +
                 "': keys must match ^[A-Z_][A-Z0-9_]*$ (UPPER_SNAKE, at most 256 characters).");
  }
  if (method == "PUT") {
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body, ec);
    const json::value* value = nullptr;
    if (!ec && parsed.is_object()) value = parsed.as_object().if_contains("value");
    if (!value || !value->is_string()) {
      return HttpResponseData::JsonError(
          400, "The request body must be a JSON object {\"value\": \"...\"} with a string value.");
    }
    const json::string& text = value->as_string();
    if (text.size() > kMaxEnvValueBytes) {
      return HttpResponseData::JsonError(
          413, "Env var value is too large: " + std::to_string(text.size()) +
                   " bytes (the limit is 5 KiB).");
    }
    for (const auto& record : registry_.List(app)) {
      if (BindingNameFromKebab(record.name) == key) {
        return HttpResponseData::JsonError(
            409, "Env var " + key + " collides with the binding name of Durable Object class '" +
                     record.name + "' in app '" + app + "': choose another key.");
      }
    }
    if (!env_store_->Has(app, key) && env_store_->Keys(app).size() >= kMaxEnvVarsPerApp) {
      return HttpResponseData::JsonError(400, "Too many env vars for app '" + app +
                                                  "' (the limit is " +
                                                  std::to_string(kMaxEnvVarsPerApp) + ").");
    }
    bool created = env_store_->Set(app, key, std::string(text));
    PublishApp(app);
    Log(LogLevel::kInfo, "set env var " + key + " of app " + app);
    return JsonResponse(created ? 201 : 200,
                        json::object{{"app", app}, {"key", key}, {"created", created}});
  }
  if (method == "DELETE") {
    if (!env_store_->Remove(app, key)) {
      return HttpResponseData::JsonError(404, "No env var " + key + " in app '" + app + "'.");
    }
    PublishApp(app);
    Log(LogLevel::kInfo, "unset env var " + key + " of app " + app);
    return JsonResponse(200, json::object{{"deleted", true}, {"app", app}, {"key", key}});
  }
  if (method == "GET") {
    return HttpResponseData::JsonError(
        405, "Env var values are write-only: GET /_admin/v1/apps/" + app + "/env lists the keys.");
  }
  return HttpResponseData::JsonError(405, "Method not allowed.");
}

}  // namespace dorm::control
