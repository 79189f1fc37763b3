#include "net/response_head.h"

namespace dorm::net {

namespace {

// RFC 9110 section 5.6.2: tchar.
bool IsTokenChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string> CheckResponseField(std::string_view name, std::string_view value) {
  if (name.empty() || name.size() > kMaxResponseFieldNameBytes) {
    return "a response header name must be 1 to " + std::to_string(kMaxResponseFieldNameBytes) +
           " bytes long";
  }
  for (char c : name) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) {
      return "the response header name '" + std::string(name.substr(0, 64)) +
             "' has a character not allowed in a header name";
    }
  }
  if (value.size() > kMaxResponseFieldValueBytes) {
    return "the response header '" + std::string(name.substr(0, 64)) + "' is " +
           std::to_string(value.size()) + " bytes long; HTTP/1.1 responses allow at most " +
           std::to_string(kMaxResponseFieldValueBytes) + " bytes per header";
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return "the response header '" + std::string(name.substr(0, 64)) +
             "' has a CR, LF or NUL character in its value";
    }
  }
  return std::nullopt;
}

bool IsValidReasonPhrase(std::string_view reason) {
  if (reason.size() > 1024) return false;
  for (char c : reason) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u != '\t' && (u < 0x20 || u == 0x7f)) return false;
  }
  return true;
}

}  // namespace dorm::net
