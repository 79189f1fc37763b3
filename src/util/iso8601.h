// ISO 8601 / RFC 3339 times as the admin API takes and gives them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dorm {

// Milliseconds since the Unix epoch of `text`: a date (`2025-01-31`) or a date and time
// (`2025-01-31T08:30`, `...T08:30:00`, with optional fraction of a second and a zone `Z`,
// `+02:00` or `+0200`; `T` may be a space). Without a zone the time is UTC. Nothing for
// anything else, impossible dates (`2025-02-30`) included.
std::optional<long long> ParseIso8601Ms(std::string_view text);

// `2025-01-31T08:30:00Z` (UTC, whole seconds rounded down, a four-digit year): what ParseIso8601Ms
// reads back.
std::string FormatIso8601(long long epoch_ms);

}  // namespace dorm
