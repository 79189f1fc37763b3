#include "net/request_head.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace dorm::net {

namespace http = boost::beast::http;

size_t ConnectionBufferBytes(const RequestLimits& limits) {
  // Beast reads in steps of up to 64 KiB; a full head must fit with room for one more step.
  return std::min<size_t>(limits.max_header_bytes, 64u << 10) + (16u << 10);
}

void ConfigureRequestParser(RequestParser& parser, const RequestLimits& limits) {
  parser.header_limit(
      static_cast<std::uint32_t>(std::min<size_t>(limits.max_header_bytes, 64u << 10)));
  parser.body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));
  parser.eager(false);
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<HeadRefusal> CheckRequestHead(const RequestHead& head) {
  size_t transfer_encodings = 0, content_lengths = 0, hosts = 0;
  bool chunked_only = true;
  for (const auto& field : head) {
    switch (field.name()) {
      case http::field::transfer_encoding:
        ++transfer_encodings;
        if (!boost::beast::iequals(Trim(field.value()), "chunked")) chunked_only = false;
        break;
      case http::field::content_length:
        ++content_lengths;
        break;
      case http::field::host:
        ++hosts;
        break;
      default:
        break;
    }
  }
  if (transfer_encodings > 0) {
    if (transfer_encodings > 1 || !chunked_only) {
      return HeadRefusal{400,
                         "Malformed HTTP request: the only Transfer-Encoding accepted is "
                         "'chunked'."};
    }
    if (content_lengths > 0) {
      return HeadRefusal{400,
                         "Malformed HTTP request: Transfer-Encoding and Content-Length "
                         "together."};
    }
    if (head.version() < 11) {
      return HeadRefusal{400, "Malformed HTTP request: Transfer-Encoding in an HTTP/1.0 request."};
    }
  }
  if (content_lengths > 1) {
    return HeadRefusal{400, "Malformed HTTP request: more than one Content-Length header."};
  }
  if (hosts > 1) return HeadRefusal{400, "Malformed HTTP request: more than one Host header."};
  if (hosts == 0 && head.version() >= 11) {
    return HeadRefusal{400, "Malformed HTTP request: missing Host header."};
  }
  return std::nullopt;
}

bool IsServerHeaderName(std::string_view name) {
  constexpr std::string_view kPrefix = "x-dorm-";
  return name.size() >= kPrefix.size() &&
         boost::beast::iequals(name.substr(0, kPrefix.size()), kPrefix);
}

HeadFields ScanHeadFields(const RequestHead& head) {
  HeadFields fields;
  bool upgrade = false, host = false;
  for (const auto& field : head) {
    switch (field.name()) {
      case http::field::connection:
        if (!fields.connection) fields.connection = field.value();
        break;
      case http::field::upgrade:
        if (!upgrade) fields.upgrade = field.value();
        upgrade = true;
        break;
      case http::field::host:
        if (!host) fields.host = field.value();
        host = true;
        break;
      default:
        break;
    }
  }
  return fields;
}

bool KeepAlive(const RequestHead& head, const HeadFields& fields) {
  // As basic_fields::get_keep_alive_impl.
  if (head.version() < 11) {
    return fields.connection && http::token_list{*fields.connection}.exists("keep-alive");
  }
  return !fields.connection || !http::token_list{*fields.connection}.exists("close");
}

bool IsWebSocketUpgrade(const RequestHead& head, const HeadFields& fields) {
  // As websocket::is_upgrade, which reads a missing field as empty.
  return head.version() >= 11 && head.method() == http::verb::get &&
         http::token_list{fields.connection.value_or(std::string_view())}.exists("upgrade") &&
         http::token_list{fields.upgrade}.exists("websocket");
}

runtime::HeaderList ForwardedHeaders(const RequestHead& head) {
  runtime::HeaderList headers;
  for (const auto& field : head) {
    if (IsServerHeaderName(field.name_string())) continue;
    headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return headers;
}

}  // namespace dorm::net
