// One outbound HTTP exchange (a request and its response, or why it failed), as the runtime and
// the HTTP client pass it. Plain data; no I/O.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dorm::outbound {

// Response bytes that several exchanges (one app's, on one thread) may hold at once. Shared by
// the exchanges it bounds and touched on their loop only.
struct ByteBudget {
  size_t limit = 0;
  size_t used = 0;
};

struct ExchangeRequest {
  std::string method;  // as given (case kept), validated by the caller
  std::string url;     // absolute http: or https: URL, serialized by the URL parser
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool has_body = false;
  // Responses larger than this (decoded) fail the exchange.
  size_t max_response_bytes = 128u << 20;
  // If set, the response bodies received count against it until the exchange ends, and one that
  // would take it past its limit fails the exchange.
  std::shared_ptr<ByteBudget> budget;
};

struct ExchangeResponse {
  int status = 0;
  std::string status_text;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Why an exchange failed, for fetch()'s error (js/prelude/fetch.js knows the kinds by number).
struct ExchangeError {
  enum class Kind {
    kRefusedAddress = 0,  // the address policy refused every address the host resolved to
    kNetwork = 1,         // DNS, connect, protocol or reset errors
    kTls = 2,             // the peer's certificate or the handshake failed
    kTimeout = 3,
    kTooLarge = 4,
    kBadEncoding = 5,  // a compressed body could not be decoded
    kOverBudget = 6,   // the responses in flight together passed their ByteBudget
  };
  Kind kind = Kind::kNetwork;
  std::string message;
};

}  // namespace dorm::outbound
