// The JSON answers of the admin endpoints, and the parts of them several endpoints share.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/http_message.h"

namespace dorm::control {

// `body` serialized, with `content-type: application/json` and `status`. Does not throw except
// std::bad_alloc.
runtime::HttpResponseData JsonResponse(int status, const boost::json::value& body);

// `{"error": message}` with `status`, the shape of every refusal of the admin API. Does not throw
// except std::bad_alloc.
runtime::HttpResponseData ErrorResponse(int status, const std::string& message);

// Reads the app name in `segment`, a segment of a request's path, into `*app`: percent-decoded,
// or as it came when it has a malformed %-escape. Returns nullopt when `*app` is a valid app name
// (IsValidKebabName), else the 400 answer that names it, for the endpoint to send instead. Every
// endpoint under /_admin/v1/apps/<app>/ that decodes its path reads <app> (and any other app it
// names) through this, so that all refuse the same names with the same message. Does not throw
// except std::bad_alloc.
std::optional<runtime::HttpResponseData> DecodeAppName(std::string_view segment, std::string* app);

struct ClassRecord;

// How a deployed class is described ({"id", "name", "class_name", "app", "status", ...}).
boost::json::object ClassSummary(const ClassRecord& record);

// The query parameters of `url`, percent-decoded, or nullopt with `error` set for a malformed
// query or a name given more than once ("Query parameter 'app' is given more than once.": every
// endpoint takes one value per name, and keeping either silently answered another question than
// the one asked). '+' stays a '+' (the usage endpoints take ISO 8601 times, whose zone sign it is) unless
// `plus_is_space`, as HTML forms and URLSearchParams encode a space (names and key prefixes).
std::optional<std::map<std::string, std::string>> QueryParameters(const std::string& url,
                                                                  std::string* error,
                                                                  bool plus_is_space = false);

// The current time as ISO 8601 in UTC, to the second ("2026-12-03T18:00:00Z").
std::string NowIso8601();

// While alive, NowIso8601() on the constructing thread returns `now` instead of the clock: a
// change of the cluster's control plane is applied on every node with the time its first node
// gave it, so that every node records the same deployment times.
class FixedNow {
 public:
  explicit FixedNow(std::string now);
  ~FixedNow();
  FixedNow(const FixedNow&) = delete;
  FixedNow& operator=(const FixedNow&) = delete;

 private:
  std::string previous_;
};

}  // namespace dorm::control
