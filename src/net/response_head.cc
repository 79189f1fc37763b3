#include "net/response_head.h"

#include <boost/beast/http/status.hpp>  // obsolete_reason: the standard phrases

namespace dorm::net {

namespace {

namespace http = boost::beast::http;

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

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// The framing fields are the server's: the application's are left out.
bool IsFramingField(std::string_view name) {
  switch (name.size()) {
    case 10:
      return EqualsIgnoringCase(name, "connection");
    case 14:
      return EqualsIgnoringCase(name, "content-length");
    case 17:
      return EqualsIgnoringCase(name, "transfer-encoding");
    default:
      return false;
  }
}

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view TrimOws(std::string_view v) {
  size_t first = 0;
  while (first < v.size() && (v[first] == ' ' || v[first] == '\t')) ++first;
  size_t last = v.size();
  while (last > first && (v[last - 1] == ' ' || v[last - 1] == '\t')) --last;
  return v.substr(first, last - first);
}

void AppendField(std::string_view name, std::string_view value, std::string* out) {
  out->append(name);
  out->append(": ", 2);
  out->append(value);
  out->append("\r\n", 2);
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

bool StatusForbidsBody(int status) {
  return status == 100 || status == 101 || status == 102 || status == 204 || status == 304;
}

std::optional<std::string> AppendResponseHead(
    int status, std::string_view reason,
    const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive,
    BodyFraming framing, uint64_t content_length, std::string* out) {
  if (status < 0 || status > 999) {
    return std::string("the response cannot be sent as HTTP/1.1: invalid status-code");
  }
  size_t estimate = 64;
  for (const auto& [name, value] : headers) estimate += name.size() + value.size() + 4;
  out->reserve(out->size() + estimate);
  out->append("HTTP/1.1 ", 9);
  out->push_back(static_cast<char>('0' + status / 100));
  out->push_back(static_cast<char>('0' + (status / 10) % 10));
  out->push_back(static_cast<char>('0' + status % 10));
  out->push_back(' ');
  if (reason.empty() || !IsValidReasonPhrase(reason)) {
    boost::beast::string_view standard =
        http::obsolete_reason(static_cast<http::status>(static_cast<unsigned>(status)));
    out->append(standard.data(), standard.size());
  } else {
    out->append(reason);
  }
  out->append("\r\n", 2);

  // The fields in order, but for a name seen before, which goes right after its last occurrence.
  // Answers rarely repeat a name other than in a row (Set-Cookie), so this is one pass then.
  // Where each written field starts in `out` and its name's length, for the grouping.
  struct Written {
    size_t start;
    size_t name_size;
  };
  std::vector<Written> written;
  written.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    if (IsFramingField(name)) continue;
    if (auto bad = CheckResponseField(name, value)) return bad;
    std::string_view trimmed = TrimOws(value);
    // The last field of the same name, if it is not the last field written.
    size_t insert_at = out->size();
    size_t after = written.size();
    for (size_t i = written.size(); i-- > 0;) {
      std::string_view earlier(out->data() + written[i].start, written[i].name_size);
      if (EqualsIgnoringCase(earlier, name)) {
        after = i + 1;
        break;
      }
    }
    if (after < written.size()) {
      insert_at = written[after].start;
      std::string field;
      field.reserve(name.size() + trimmed.size() + 4);
      AppendField(name, trimmed, &field);
      out->insert(insert_at, field);
      for (size_t i = after; i < written.size(); ++i) written[i].start += field.size();
    } else {
      AppendField(name, trimmed, out);
    }
    written.insert(written.begin() + static_cast<std::ptrdiff_t>(after), {insert_at, name.size()});
  }
  if (!keep_alive) AppendField("Connection", "close", out);
  switch (framing) {
    case BodyFraming::kNone:
      break;
    case BodyFraming::kContentLength:
      AppendField("Content-Length", std::to_string(content_length), out);
      break;
    case BodyFraming::kChunked:
      AppendField("Transfer-Encoding", "chunked", out);
      break;
  }
  out->append("\r\n", 2);
  return std::nullopt;
}

}  // namespace dorm::net
