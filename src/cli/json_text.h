// Reading a string field of a JSON answer from the server, tolerating its absence.
#pragma once

#include <boost/json.hpp>
#include <string>

namespace dorm::cli {

// `object[key]` when it is a string; `absent` when it is missing or of another type.
inline std::string JsonText(const boost::json::object& object, const char* key,
                            const char* absent = "") {
  const boost::json::value* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string(absent);
}

}  // namespace dorm::cli
