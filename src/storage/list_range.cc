#include "storage/list_range.h"

namespace dorm::storage {

std::optional<std::string> PrefixSuccessor(const std::string& prefix) {
  std::string s = prefix;
  while (!s.empty()) {
    unsigned char last = static_cast<unsigned char>(s.back());
    if (last != 0xFF) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

std::optional<ListRange> CompileListRange(const ListOptions& o, std::string* error) {
  if (o.start && o.start_after) {
    *error = "list() cannot be called with both start and startAfter values.";
    return std::nullopt;
  }
  if (o.limit && *o.limit <= 0) {
    *error = "List limit must be positive.";
    return std::nullopt;
  }
  ListRange r;
  r.reverse = o.reverse;
  r.limit = o.limit ? *o.limit : -1;
  if (o.start) r.begin = *o.start;
  if (o.start_after) r.begin = *o.start_after + std::string(1, '\0');
  r.end = o.end;
  if (o.prefix && !o.prefix->empty()) {
    if (r.begin < *o.prefix) r.begin = *o.prefix;
    auto after = PrefixSuccessor(*o.prefix);
    if (after && (!r.end || *after < *r.end)) r.end = after;
  }
  if (r.end && *r.end <= r.begin) r.empty = true;
  return r;
}

}  // namespace dorm::storage
