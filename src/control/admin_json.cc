#include "control/admin_json.h"

#include <chrono>
#include <ctime>

#include "control/registry.h"
#include "util/crypto.h"
#include "util/names.h"

namespace dorm::control {

runtime::HttpResponseData JsonResponse(int status, const boost::json::value& body) {
  runtime::HttpResponseData r;
  r.status = status;
  r.headers.emplace_back("content-type", "application/json");
  r.body = boost::json::serialize(body);
  return r;
}

namespace {

std::string ClassId(const ClassRecord& r) {
  return "do_" + ToHex(Sha256(r.app + "/" + r.name)).substr(0, 20);
}

}  // namespace

boost::json::object ClassSummary(const ClassRecord& r) {
  return boost::json::object{{"id", ClassId(r)},
                             {"name", r.name},
                             {"class_name", r.class_name},
                             {"app", r.app},
                             {"status", "READY"},
                             {"access_mode", r.access_mode},
                             {"last_deployed_at", r.deployed_at}};
}

namespace {
thread_local std::string fixed_now;
}  // namespace

FixedNow::FixedNow(std::string now) : previous_(std::move(fixed_now)) {
  fixed_now = std::move(now);
}

FixedNow::~FixedNow() { fixed_now = std::move(previous_); }

std::string NowIso8601() {
  if (!fixed_now.empty()) return fixed_now;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

runtime::HttpResponseData ErrorResponse(int status, const std::string& message) {
  return runtime::HttpResponseData::JsonError(status, message);
}

std::optional<runtime::HttpResponseData> DecodeAppName(std::string_view segment, std::string* app) {
  *app = PercentDecode(segment).value_or(std::string(segment));
  if (IsValidKebabName(*app)) return std::nullopt;
  return ErrorResponse(400, "Invalid app name '" + *app + "'.");
}

std::optional<std::map<std::string, std::string>> QueryParameters(const std::string& url,
                                                                  std::string* error,
                                                                  bool plus_is_space) {
  std::map<std::string, std::string> params;
  size_t q = url.find('?');
  if (q == std::string::npos) return params;
  std::string query = url.substr(q + 1);
  size_t i = 0;
  while (i <= query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(i, amp - i);
    i = amp + 1;
    if (pair.empty()) continue;
    if (plus_is_space) {
      for (char& c : pair) {
        if (c == '+') c = ' ';
      }
    }
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq));
    auto value = PercentDecode(eq == std::string::npos ? "" : pair.substr(eq + 1));
    if (!key || !value) {
      *error = "Malformed query string.";
      return std::nullopt;
    }
    // A second value would otherwise replace the first silently (`usage?app=a&app=b` answering
    // for b only): no endpoint takes a list this way, so a repeated name is the caller's mistake.
    if (!params.emplace(*key, std::move(*value)).second) {
      *error = "Query parameter '" + *key + "' is given more than once.";
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace dorm::control
