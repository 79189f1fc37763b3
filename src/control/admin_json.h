// The JSON answer every admin endpoint gives.
#pragma once

#include <boost/json.hpp>

#include "runtime/http_message.h"

namespace dorm::control {

// `body` serialized, with `content-type: application/json` and `status`. Does not throw except
// std::bad_alloc.
runtime::HttpResponseData JsonResponse(int status, const boost::json::value& body);

}  // namespace dorm::control
