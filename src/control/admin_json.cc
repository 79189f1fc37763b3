#include "control/admin_json.h"

namespace dorm::control {

runtime::HttpResponseData JsonResponse(int status, const boost::json::value& body) {
  runtime::HttpResponseData r;
  r.status = status;
  r.headers.emplace_back("content-type", "application/json");
  r.body = boost::json::serialize(body);
  return r;
}

}  // namespace dorm::control
