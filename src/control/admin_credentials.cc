// The credential endpoints of the admin API:
//   GET    /_admin/v1/apps/<app>/auth  → the JWT configuration's summary (never secrets or keys)
//   PUT    /_admin/v1/apps/<app>/auth  {"hs256_secret_base64"?, "public_keys_pem"?, "jwks"?,
//                                       "issuer"?, "audience"?} → the new summary; replaces the
//                                       whole configuration
//   DELETE /_admin/v1/apps/<app>/auth  → {"cleared": true}; 404 if nothing was configured
//   POST   /_admin/v1/apps/<app>/keys  {"name"?} → 201 {"id", ..., "key"}: the only time the key
//                                       is shown
//   GET    /_admin/v1/apps/<app>/keys  → {"app", "keys": [{"id", "name", "prefix",
//                                       "created_at"}]}
//   DELETE /_admin/v1/apps/<app>/keys/<id> → {"revoked": true, ...}; 404 if unknown
// Changes take effect for the next request, before the response is sent.
#include <boost/json.hpp>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/credentials_store.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/names.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

constexpr size_t kMaxKeyMaterialBytes = 1u << 20;
constexpr size_t kMaxKeyNameBytes = 64;

json::value OrNull(const std::string& text) {
  return text.empty() ? json::value(nullptr) : json::value(text);
}

json::object AuthJson(const std::string& app, const std::optional<AuthSummary>& summary) {
  json::object o{{"app", app}, {"configured", summary.has_value()}};
  o["hs256"] = summary && summary->hs256;
  o["public_keys"] = summary ? summary->pem_keys : 0;
  o["jwks_keys"] = summary ? summary->jwks_keys : 0;
  o["issuer"] = summary ? OrNull(summary->issuer) : json::value(nullptr);
  o["audience"] = summary ? OrNull(summary->audience) : json::value(nullptr);
  o["updated_at"] = summary ? OrNull(summary->updated_at) : json::value(nullptr);
  o["clock_skew_seconds"] = net::JwtVerifier::kClockSkew.count();
  return o;
}

json::object KeyJson(const ServiceKeyInfo& key) {
  return json::object{{"id", key.id},
                      {"app", key.app},
                      {"name", key.name},
                      {"prefix", key.prefix},
                      {"created_at", key.created_at}};
}

// Reads an optional string member; sets `error` when it is present but not a string.
std::string OptionalString(const json::object& o, const char* key, std::string* error) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return "";
  if (!v->is_string()) {
    *error = std::string("\"") + key + "\" must be a string.";
    return "";
  }
  return std::string(v->as_string());
}

}  // namespace

HttpResponseData AdminService::ServeCredentials(const std::vector<std::string>& parts,
                                                const HttpRequestData& request) {
  const std::string& app = parts[2];
  if (!IsValidKebabName(app))
    return HttpResponseData::JsonError(400, "Invalid app name '" + app + "'.");
  if (!credentials_) {
    return HttpResponseData::JsonError(503, "Credentials are not available on this server.");
  }
  const std::string& method = request.method;
  if (parts[3] == "auth") {
    if (parts.size() != 4) return HttpResponseData::JsonError(404, "Unknown admin endpoint.");
    if (method == "GET") return JsonResponse(200, AuthJson(app, credentials_->GetAuth(app)));
    if (method == "DELETE") {
      if (!credentials_->ClearAuth(app)) {
        return HttpResponseData::JsonError(404, "App '" + app + "' has no JWT configuration.");
      }
      Log(LogLevel::kInfo, "cleared the JWT configuration of app " + app);
      return JsonResponse(200, json::object{{"cleared", true}, {"app", app}});
    }
    if (method != "PUT") return HttpResponseData::JsonError(405, "Method not allowed.");
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body, ec);
    if (ec || !parsed.is_object()) {
      return HttpResponseData::JsonError(400, "The request body must be a JSON object.");
    }
    const json::object& o = parsed.as_object();
    std::string error;
    net::JwtKeySet keys;
    std::string secret_base64 = OptionalString(o, "hs256_secret_base64", &error);
    keys.public_keys_pem = OptionalString(o, "public_keys_pem", &error);
    keys.issuer = OptionalString(o, "issuer", &error);
    keys.audience = OptionalString(o, "audience", &error);
    if (const json::value* jwks = o.if_contains("jwks"); jwks && !jwks->is_null()) {
      // A JWKS document as JSON, or as the text of one.
      keys.jwks_json = jwks->is_string() ? std::string(jwks->as_string()) : json::serialize(*jwks);
    }
    if (!error.empty()) return HttpResponseData::JsonError(400, error);
    if (!secret_base64.empty()) {
      auto secret = Base64Decode(secret_base64);
      if (!secret) {
        return HttpResponseData::JsonError(400, "\"hs256_secret_base64\" is not valid base64.");
      }
      keys.hs256_secret = std::move(*secret);
    }
    if (keys.public_keys_pem.size() > kMaxKeyMaterialBytes ||
        keys.jwks_json.size() > kMaxKeyMaterialBytes) {
      return HttpResponseData::JsonError(413, "Key material is limited to 1 MiB.");
    }
    AuthSummary summary;
    try {
      summary = credentials_->SetAuth(app, keys);
    } catch (const std::invalid_argument& e) {
      return HttpResponseData::JsonError(400, e.what());
    }
    Log(LogLevel::kInfo, "set the JWT configuration of app " + app);
    return JsonResponse(200, AuthJson(app, summary));
  }
  // keys
  if (parts.size() == 4) {
    if (method == "GET") {
      json::array list;
      for (const auto& key : credentials_->ListKeys(app)) list.push_back(KeyJson(key));
      return JsonResponse(200, json::object{{"app", app}, {"keys", std::move(list)}});
    }
    if (method != "POST") return HttpResponseData::JsonError(405, "Method not allowed.");
    std::string name;
    if (!request.body.empty()) {
      boost::system::error_code ec;
      json::value parsed = json::parse(request.body, ec);
      if (ec || !parsed.is_object()) {
        return HttpResponseData::JsonError(400, "The request body must be a JSON object.");
      }
      std::string error;
      name = OptionalString(parsed.as_object(), "name", &error);
      if (!error.empty()) return HttpResponseData::JsonError(400, error);
    }
    if (name.size() > kMaxKeyNameBytes) {
      return HttpResponseData::JsonError(400, "A key name has at most 64 characters.");
    }
    for (char c : name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return HttpResponseData::JsonError(400, "A key name cannot hold control characters.");
      }
    }
    auto [info, key] = credentials_->CreateKey(app, name, replay_entropy_);
    Log(LogLevel::kInfo, "created service key " + info.id + " of app " + app);
    json::object o = KeyJson(info);
    o["key"] = key;
    return JsonResponse(201, o);
  }
  if (parts.size() != 5) return HttpResponseData::JsonError(404, "Unknown admin endpoint.");
  if (method != "DELETE") return HttpResponseData::JsonError(405, "Method not allowed.");
  const std::string& id = parts[4];
  if (!credentials_->RevokeKey(app, id)) {
    return HttpResponseData::JsonError(404, "App '" + app + "' has no service key '" + id + "'.");
  }
  Log(LogLevel::kInfo, "revoked service key " + id + " of app " + app);
  return JsonResponse(200, json::object{{"revoked", true}, {"id", id}, {"app", app}});
}

}  // namespace dorm::control
