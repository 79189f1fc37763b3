#include "util/names.h"

#include <cctype>

namespace dorm {

std::string KebabFromPascal(std::string_view name) {
  std::string out;
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto is_lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '_' || c == '$') {
      if (!out.empty() && out.back() != '-') out += '-';
      continue;
    }
    if (is_upper(c)) {
      bool boundary = i > 0 && (is_lower_or_digit(name[i - 1]) ||
                                (is_upper(name[i - 1]) && i + 1 < name.size() &&
                                 name[i + 1] >= 'a' && name[i + 1] <= 'z'));
      if (boundary && !out.empty() && out.back() != '-') out += '-';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

bool IsValidKebabName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(name[0] >= 'a' && name[0] <= 'z')) return false;
  if (name.back() == '-') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    if (c == '-' && i > 0 && name[i - 1] == '-') return false;
  }
  return true;
}

std::string BindingNameFromKebab(std::string_view kebab) {
  std::string out;
  for (char c : kebab) {
    if (c == '-')
      out += '_';
    else
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = hex(text[i + 1]);
    int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsValidEnvKey(std::string_view key) {
  if (key.empty() || key.size() > 256) return false;
  if (key[0] >= '0' && key[0] <= '9') return false;
  for (char c : key) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string PercentEncodeSegment(std::string_view text) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

}  // namespace dorm
