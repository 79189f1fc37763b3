// Checks of what an application answers before it is written as an HTTP/1.1 response head. The
// status, reason and headers come from tenant code: a field Beast cannot store (a value over
// 65,533 bytes) or that would split the response (CR, LF or NUL; a name that is not a token)
// makes the whole response a 500 instead of an exception or a forged response. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dorm::net {

// The largest header field value Beast's field storage can hold.
inline constexpr size_t kMaxResponseFieldValueBytes = 65533;
// The largest header field name accepted.
inline constexpr size_t kMaxResponseFieldNameBytes = 1024;

// nullopt if the field can be sent; otherwise why not (for the 500's message and the log).
std::optional<std::string> CheckResponseField(std::string_view name, std::string_view value);

// True if `reason` can be sent as a reason phrase (tab, space and visible characters, at most
// 1024 bytes); otherwise the server sends the status's standard phrase.
bool IsValidReasonPhrase(std::string_view reason);

}  // namespace dorm::net
