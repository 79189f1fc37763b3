#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace dorm {
namespace {
std::atomic<LogLevel> g_min_level{LogLevel::kInfo};

// The most of one message that is written. Messages carry tenant text (console output, exception
// messages and stacks), which may be a string of hundreds of MiB: written whole, one call would
// fill the disk under the log for every app. As the live log's lines (kTailMessageBytes).
constexpr size_t kMaxMessageBytes = 16u << 10;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

// Appends `message` with every control character escaped, so that one call stays one line and
// text from clients or tenants (instance ids, error messages) cannot forge lines or send terminal
// escapes: C0 controls and DEL as \n, \r, \t or \xNN, and the C1 controls (U+0080..U+009F, in
// UTF-8 0xC2 0x80..0x9F) as \u0080..\u009f. Other bytes pass unchanged.
void AppendEscaped(std::string& line, std::string_view message) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < message.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(message[i]);
    if (c == 0xc2 && i + 1 < message.size()) {
      unsigned char next = static_cast<unsigned char>(message[i + 1]);
      if (next >= 0x80 && next <= 0x9f) {
        line += "\\u00";
        line += kHex[next >> 4];
        line += kHex[next & 0xf];
        ++i;
        continue;
      }
    }
    if (c >= 0x20 && c != 0x7f) {
      line += static_cast<char>(c);
    } else if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else if (c == '\t') {
      line += "\\t";
    } else {
      line += "\\x";
      line += kHex[c >> 4];
      line += kHex[c & 0xf];
    }
  }
}
}  // namespace

void SetLogLevel(LogLevel level) { g_min_level.store(level); }

void Log(LogLevel level, std::string_view message) {
  if (level < g_min_level.load(std::memory_order_relaxed)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm_utc;
  gmtime_r(&seconds, &tm_utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  size_t cut = 0;
  if (message.size() > kMaxMessageBytes) {
    // Back to the start of a UTF-8 sequence (a byte that is not 10xxxxxx).
    size_t keep = kMaxMessageBytes;
    while (keep > 0 && (static_cast<unsigned char>(message[keep]) & 0xC0) == 0x80) --keep;
    cut = message.size() - keep;
    message = message.substr(0, keep);
  }
  std::string line;
  line.reserve(message.size() + 96);
  line += stamp;
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03dZ ", millis);
  line += ms;
  line += LevelName(level);
  line += ' ';
  AppendEscaped(line, message);
  if (cut > 0) {
    line += "\xE2\x80\xA6 (";
    line += std::to_string(cut);
    line += " more bytes)";
  }
  line += '\n';
  // One write() per line keeps lines whole when several threads log at once.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace dorm
