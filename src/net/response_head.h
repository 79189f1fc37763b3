// The HTTP/1.1 response head the server writes for what an application answers. The status,
// reason and headers come from tenant code: a field that HTTP/1.1 cannot carry (a value over
// 65,533 bytes) or that would split the response (CR, LF or NUL; a name that is not a token) makes
// the whole response a 500 instead of an exception or a forged response. Pure; nothing here
// throws but std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dorm::net {

// The largest header field value accepted (what Beast's field storage, which the server's head
// used to go through, holds; kept so that the responses accepted stay the same).
inline constexpr size_t kMaxResponseFieldValueBytes = 65533;
// The largest header field name accepted.
inline constexpr size_t kMaxResponseFieldNameBytes = 1024;

// nullopt if the field can be sent; otherwise why not (for the 500's message and the log).
std::optional<std::string> CheckResponseField(std::string_view name, std::string_view value);

// True if `reason` can be sent as a reason phrase (tab, space and visible characters, at most
// 1024 bytes); otherwise the server sends the status's standard phrase.
bool IsValidReasonPhrase(std::string_view reason);

// True if a response with `status` carries no body: 204, 304 and the informational statuses
// 100-102 (those Beast 1.81, which framed responses before, knows; no other 1xx reaches the
// writer: a Response's status is 200-599, the server's own are known ones).
bool StatusForbidsBody(int status);

// The framing header the server adds after the application's fields.
enum class BodyFraming {
  kNone,           // none: no body, or one that ends with the connection
  kContentLength,  // Content-Length: the given length
  kChunked,        // Transfer-Encoding: chunked
};

// Appends to `out` the whole response head, ending with its empty line:
//   HTTP/1.1 <status> <reason>\r\n     the standard phrase when `reason` is empty or not valid
//   <name>: <value>\r\n                each of `headers` but Content-Length, Transfer-Encoding
//                                      and Connection (the server's to set), values without
//                                      their leading and trailing spaces and tabs, a name seen
//                                      before (in any case) written right after its last
//                                      occurrence, so that repeated fields stay together
//   Connection: close\r\n              unless `keep_alive`
//   Content-Length: <n>\r\n or Transfer-Encoding: chunked\r\n, as `framing` says
//   \r\n
// (the head Beast's fields and serializer wrote for the same answer, byte for byte). Returns
// nullopt, or why the head cannot be sent (a status above 999, a field CheckResponseField
// refuses); `out` then holds a partial head that must not be sent.
std::optional<std::string> AppendResponseHead(
    int status, std::string_view reason,
    const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive,
    BodyFraming framing, uint64_t content_length, std::string* out);

}  // namespace dorm::net
