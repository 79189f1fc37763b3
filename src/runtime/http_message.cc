#include "runtime/http_message.h"

#include "util/json_escape.h"

namespace dorm::runtime {

HttpResponseData HttpResponseData::JsonError(int status, const std::string& message) {
  HttpResponseData r;
  r.status = status;
  r.headers.emplace_back("content-type", "application/json");
  r.body = "{\"error\":" + JsonQuote(message) + "}";
  r.runtime_error = true;
  return r;
}

HttpResponseData HttpResponseData::RetryableError(int status, const std::string& message) {
  HttpResponseData r = JsonError(status, message);
  r.object_reset = true;
  r.reset_retryable = true;
  return r;
}

}  // namespace dorm::runtime
