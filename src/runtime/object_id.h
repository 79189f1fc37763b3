// Object ids: 32 bytes, shown as 64 lowercase hex digits, derived from an instance name the way
// idFromName() derives them (HMAC-SHA-256 keyed per class). Pure.
#pragma once

#include <string>
#include <string_view>

namespace dorm::runtime {

// The key that makes ids of one class distinct from every other class's: "<app>/<class-name>".
std::string NamespaceKey(std::string_view app, std::string_view class_name);

// bytes[0..16) = HMAC(SHA256(namespace_key), name)[0..16);
// bytes[16..32) = HMAC(SHA256(namespace_key), bytes[0..16))[0..16): the second half lets an id
// be checked as belonging to its namespace.
std::string ObjectIdFromName(std::string_view namespace_key, std::string_view name);

}  // namespace dorm::runtime
