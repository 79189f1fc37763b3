// Reading a string or number field of a JSON answer from the server, tolerating its absence.
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

// `object[key]` when it is a number (a double truncated); 0 when it is missing or of another type.
inline long long JsonInteger(const boost::json::object& object, const char* key) {
  const boost::json::value* value = object.if_contains(key);
  if (!value) return 0;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64()) return static_cast<long long>(value->as_uint64());
  if (value->is_double()) return static_cast<long long>(value->as_double());
  return 0;
}

}  // namespace dorm::cli
