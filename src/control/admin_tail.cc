// GET /v1/apps/<app>/tail: an app's live log (runtime/app_log.h) as Server-Sent Events, as
// WebSocket messages (a request with Upgrade: websocket; net/event_web_socket.h turns the same
// event stream into messages), or its kept lines as JSON (follow=false).
#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/registry.h"
#include "runtime/runtime_shared.h"
#include "util/names.h"
#include "util/wall_clock.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

// Whether the request asks for a WebSocket (its Upgrade header names websocket). The network
// front checks the rest of the handshake.
bool AsksForTailSocket(const HttpRequestData& request) {
  for (const auto& [name, value] : request.headers) {
    if (name.size() != 7) continue;
    std::string lower_name = name;
    std::string lower_value = value;
    for (char& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : lower_value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower_name == "upgrade" && lower_value.find("websocket") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

HttpResponseData AdminService::ServeTail(const std::vector<std::string>& parts,
                                         const HttpRequestData& request) {
  if (parts.size() != 4) return ErrorResponse(404, "Unknown admin endpoint.");
  const std::string& app = parts[2];
  if (!IsValidKebabName(app)) return ErrorResponse(400, "Invalid app name '" + app + "'.");
  if (request.method != "GET") return ErrorResponse(405, "Method not allowed.");
  // Logs are kept only for apps that exist (an admin cannot make the server keep one per name).
  if (registry_.List(app).empty()) return ErrorResponse(404, "No app named '" + app + "'.");
  std::string error;
  auto params = QueryParameters(request.url, &error);
  if (!params) return ErrorResponse(400, error);
  runtime::TailFilter filter;
  long long since_ms = 0;
  bool follow = true;
  size_t limit = 1000;
  for (const auto& [key, value] : *params) {
    if (key == "class") {
      filter.class_name = value;
    } else if (key == "object") {
      filter.object = value;
    } else if (key == "level") {
      if (auto problem = runtime::ParseTailLevels(value, &filter.levels)) {
        return ErrorResponse(400, *problem);
      }
    } else if (key == "status") {
      if (auto problem = runtime::ParseTailStatuses(value, &filter.statuses)) {
        return ErrorResponse(400, *problem);
      }
    } else if (key == "sampling") {
      char* end = nullptr;
      double rate = std::strtod(value.c_str(), &end);
      if (value.empty() || end != value.c_str() + value.size() || !(rate >= 0 && rate <= 1)) {
        return ErrorResponse(400, "Invalid sampling '" + value + "': use a number from 0 to 1.");
      }
      filter.sampling = rate;
    } else if (key == "since") {
      std::optional<long long> duration = runtime::ParseTailDuration(value);
      if (!duration) {
        return ErrorResponse(
            400, "Invalid since '" + value + "': use a duration such as 30s, 5m, 2h or 1d.");
      }
      since_ms = WallClockMs() - *duration;
      if (since_ms <= 0) since_ms = 1;
    } else if (key == "follow") {
      if (value != "true" && value != "false") {
        return ErrorResponse(400, "Invalid follow '" + value + "': use true or false.");
      }
      follow = value == "true";
    } else if (key == "limit") {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || end != value.c_str() + value.size() || n < 1 || n > 1000) {
        return ErrorResponse(400, "Invalid limit '" + value + "': use 1 to 1000.");
      }
      limit = static_cast<size_t>(n);
    } else {
      return ErrorResponse(400, "Unknown parameter '" + key +
                                    "': use class, object, level, status, sampling, since, "
                                    "follow and limit.");
    }
  }
  // Each client draws its own sample.
  filter.random_state ^= static_cast<uint64_t>(WallClockMs()) * 0x9E3779B97F4A7C15ull ^
                         reinterpret_cast<uintptr_t>(&filter);
  const bool web_socket = AsksForTailSocket(request);
  if (web_socket && !follow) {
    return ErrorResponse(400, "Invalid follow 'false' for a WebSocket: it always follows.");
  }
  std::shared_ptr<runtime::AppLog> log = runtime_.app_logs.For(app);
  if (!follow) {
    json::array lines;
    for (const std::string& line : log->Recent(filter, since_ms > 0 ? since_ms : 1, limit)) {
      lines.push_back(json::parse(line));
    }
    return JsonResponse(200, json::object{{"lines", std::move(lines)}});
  }
  auto stream = std::make_shared<runtime::ResponseStream>();
  if (!log->Subscribe(std::move(filter), since_ms, stream)) {
    return ErrorResponse(429, "Too many tail clients for app '" + app + "'.");
  }
  HttpResponseData response;
  if (web_socket) {
    response.status = 101;
    response.body_stream = std::move(stream);
    return response;
  }
  response.status = 200;
  response.headers.emplace_back("content-type", "text/event-stream");
  response.headers.emplace_back("cache-control", "no-store");
  response.body_stream = std::move(stream);
  return response;
}

}  // namespace dorm::control
