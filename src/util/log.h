// Server log: one line per call, written atomically to stderr.
//
// Thread-safe. Never throws.
#pragma once

#include <string_view>

namespace dorm {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Sets the lowest level that is written (default kInfo).
void SetLogLevel(LogLevel level);

// Writes "<time> <LEVEL> <message>\n" to stderr if `level` is enabled. Control characters in
// `message` (newlines included) are written escaped (\n, \x1b, ...), so one call is always one
// line whatever client or tenant text the message holds. A message longer than 16 KiB is cut (at
// a UTF-8 boundary), ending in "… (N more bytes)".
void Log(LogLevel level, std::string_view message);

}  // namespace dorm
