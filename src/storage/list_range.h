// Compiles the options of storage.list() into a key range. Pure; no I/O.
#pragma once

#include <optional>
#include <string>

namespace dorm::storage {

struct ListOptions {
  std::optional<std::string> start;        // inclusive
  std::optional<std::string> start_after;  // exclusive
  std::optional<std::string> end;          // exclusive
  std::optional<std::string> prefix;
  bool reverse = false;
  std::optional<long long> limit;
};

// The half-open range [begin, end) of keys, compared as UTF-8 bytes (memcmp order).
struct ListRange {
  std::string begin;               // inclusive; "" means from the first key
  std::optional<std::string> end;  // exclusive; nullopt means to the last key
  bool reverse = false;
  long long limit = -1;  // -1: no limit
  bool empty = false;    // true when the range can hold no key
};

// Returns the range, or sets `error` to the TypeError message Cloudflare gives and returns
// nullopt ("list() cannot be called with both start and startAfter values.", "List limit must
// be positive.").
std::optional<ListRange> CompileListRange(const ListOptions& options, std::string* error);

// The first key greater than every key that starts with `prefix`, or nullopt when there is none
// (prefix empty or all 0xFF bytes).
std::optional<std::string> PrefixSuccessor(const std::string& prefix);

}  // namespace dorm::storage
