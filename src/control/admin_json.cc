#include "control/admin_json.h"

#include <chrono>
#include <ctime>

#include "control/registry.h"
#include "util/crypto.h"

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

std::string NowIso8601() {
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

}  // namespace dorm::control
