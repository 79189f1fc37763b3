// What the server checks of a request before anything else sees it: the parser's limits, the
// framing headers of its head, and which client headers are forwarded. Pure (no I/O, no globals):
// the HTTP server and the request fuzzer use exactly these functions, so that fuzzing drives the
// parser configured as the server configures it.
//
// Contract, in the order the server applies it:
//   1. ConfigureRequestParser(parser, limits) on a fresh parser.
//   2. Bytes are fed with parser.put(); Beast reports framing errors itself (bad chunk sizes,
//      conflicting Content-Length values, a head over the limit, ...). put() may also THROW
//      (std::length_error from Beast's field storage, std::bad_alloc): callers catch every
//      exception and answer 400, closing the connection.
//   3. Once parser.is_header_done(), CheckRequestHead(parser.get()); a refusal is answered with
//      its status and the connection is closed (the body's framing cannot be trusted).
//   4. ForwardedHeaders(parser.get()) is what the application (object or admin API) receives.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "net/request_body.h"
#include "runtime/http_message.h"

namespace dorm::net {

struct RequestLimits {
  size_t max_header_bytes = 64u << 10;  // request line and header fields; larger answers 431
  size_t max_body_bytes = 100u << 20;   // decoded body, per request; larger answers 413
};

// The parser the server uses; its body is a std::string that grows with the bytes received.
using RequestParser = boost::beast::http::request_parser<RequestBody>;
using RequestHead = boost::beast::http::request_header<>;

// The bytes the server buffers unparsed for one connection: a head, a chunk header or a chunked
// body's trailer must fit in them (Beast does not apply the head limit to trailers), so a larger
// one is refused as a buffer overflow (400) instead of growing memory. The head limit plus room
// for one read.
size_t ConnectionBufferBytes(const RequestLimits& limits);

// Sets the parser's head and body limits and stops it after the head (eager off), so that the
// server routes and authorizes on the head before reading any of the body.
void ConfigureRequestParser(RequestParser& parser, const RequestLimits& limits);

// Why a request head is refused: `status` (400 for framing, which must close the connection)
// and a message for the JSON error.
struct HeadRefusal {
  int status = 400;
  std::string message;
};

// Checks the head as RFC 9112 asks of a server, beyond what Beast checks:
//  - Transfer-Encoding: only exactly `chunked` (one field, one coding, case-insensitive) is
//    accepted, and only on HTTP/1.1; any other value (`xchunked`, `chunked, gzip`, `identity`)
//    is refused, since a server that does not decode it cannot know where the body ends
//    (section 6.3; the basis of request smuggling);
//  - Transfer-Encoding together with Content-Length is refused (section 6.3, item 3);
//  - more than one Content-Length field, or more than one Host field, is refused (section 3.2);
//  - an HTTP/1.1 request without Host is refused.
// Never throws.
std::optional<HeadRefusal> CheckRequestHead(const RequestHead& head);

// The first value of each field the server consults on every request, found in one pass over the
// head's fields (by their enum, not their names): a lookup by name searches Beast's ordered set
// of fields with case-insensitive comparisons, about 250 instructions each, and a GET took four.
struct HeadFields {
  std::optional<std::string_view> connection;  // nullopt: no Connection field
  std::string_view upgrade;                    // empty when absent, as head[field::upgrade]
  std::string_view host;                       // empty when absent, as head[field::host]
};
// The views point into `head`, valid while it is unchanged. Never throws.
HeadFields ScanHeadFields(const RequestHead& head);

// Exactly Beast's head.keep_alive() and websocket::is_upgrade(head), from `fields`
// (ScanHeadFields of the same head). Never throw.
bool KeepAlive(const RequestHead& head, const HeadFields& fields);
bool IsWebSocketUpgrade(const RequestHead& head, const HeadFields& fields);

// True for the names the server reserves for what it tells the application (`x-dorm-` prefix,
// ASCII case-insensitive): clients may not set them.
bool IsServerHeaderName(std::string_view name);

// The head's fields as the application receives them: in order, without the server's reserved
// names (IsServerHeaderName), which the server sets itself.
runtime::HeaderList ForwardedHeaders(const RequestHead& head);

}  // namespace dorm::net
