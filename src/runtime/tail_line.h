// One line of an app's live log (`dorm tail`): what the object's code printed (console.*), an
// uncaught exception, or one event the object handled (an HTTP request, an RPC call, an alarm, a
// WebSocket message or close). Lines are kept as structured fields, never formatted, until a tail
// client reads them (TailLineJson); TailFilter says which lines a client asked for.
//
// V8-free and I/O-free. Pure, except TailFilter::Sample (its own random state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dorm::runtime {

enum class TailKind : uint8_t {
  kConsole,    // console.*; `message` is the formatted text
  kException,  // an uncaught exception; `message` is its stack (or message)
  kRequest,    // an HTTP request: method, path, status, duration, outcome
  kRpc,        // an RPC call: `method` is the method's name; status, duration, outcome
  kAlarm,      // an alarm() run: duration, outcome
  kWebSocketMessage,
  kWebSocketClose,  // `status` is the close code
  kWebSocketError,
};

// The console levels, in this order; kError also for exceptions.
enum class TailLevel : uint8_t { kDebug, kLog, kInfo, kWarn, kError };

// How an event ended, as wrangler tail's `outcome`.
enum class TailOutcome : uint8_t { kNone, kOk, kException, kCanceled };

// Times are CycleClock ticks (one instruction to read, where the wall and monotonic clocks may
// cost a system call on virtual machines), turned into milliseconds only when a line is read.
struct TailLine {
  uint64_t ticks = 0;  // CycleClock::Now() when recorded
  TailKind kind = TailKind::kConsole;
  TailLevel level = TailLevel::kLog;
  TailOutcome outcome = TailOutcome::kNone;
  int status = 0;               // HTTP status, RPC 200/500, WebSocket close code; 0: none
  int64_t duration_ticks = -1;  // CycleClock ticks; < 0: none
  std::string class_name;       // empty: code outside any object (a module's top level)
  std::string object_id;
  std::string instance_name;  // empty when the object was reached by id alone
  std::string method;         // HTTP method or RPC method name
  std::string path;           // HTTP path and query
  std::string message;

  // The bytes the line holds (what the app's byte budget counts).
  size_t Bytes() const {
    return sizeof(TailLine) + class_name.size() + object_id.size() + instance_name.size() +
           method.size() + path.size() + message.size();
  }
};

// A line as its recorder gives it: the strings are the caller's, copied into the log's own
// storage (whose capacity is reused from line to line), so that recording allocates nothing once
// the log is warm.
struct TailLineView {
  TailKind kind = TailKind::kConsole;
  TailLevel level = TailLevel::kLog;
  TailOutcome outcome = TailOutcome::kNone;
  int status = 0;
  int64_t duration_ticks = -1;  // CycleClock ticks; < 0: none
  std::string_view class_name;
  std::string_view object_id;
  std::string_view instance_name;
  std::string_view method;
  std::string_view path;
  std::string_view message;
};

// Longer messages and paths are cut to these many bytes (at a UTF-8 boundary), ending in "…".
inline constexpr size_t kTailMessageBytes = 16u << 10;
inline constexpr size_t kTailPathBytes = 2u << 10;
// Cuts `text` to at most `limit` bytes plus the ellipsis, never inside a UTF-8 sequence.
void TruncateTailText(std::string& text, size_t limit);

// The path and query of an absolute URL ("http://host/a?b" gives "/a?b"; "/" when it has none).
std::string_view TailPathOf(std::string_view url);

const char* TailLevelName(TailLevel level);
std::optional<TailLevel> ParseTailLevel(std::string_view name);

// Which lines one tail client gets. Each criterion left empty lets every line through.
struct TailFilter {
  std::string class_name;  // the class's URL name
  std::string object;      // an object id or instance name
  // Console levels (bit 1 << TailLevel); non-zero: only console lines of those levels, and
  // exceptions when kError is among them.
  unsigned levels = 0;
  // HTTP statuses: exact (404) or classes ("5xx" is 500..599); non-empty: only request and RPC
  // lines whose status matches one.
  struct StatusRange {
    int low;
    int high;
  };
  std::vector<StatusRange> statuses;
  double sampling = 1.0;  // the share of matching lines kept, 0..1

  bool Matches(const TailLine& line) const;
  // Whether to keep a matching line, drawn at `sampling`.
  bool Sample();
  uint64_t random_state = 0x9e3779b97f4a7c15ull;
};

// Parses a client's filters ("warn,error", "5xx,404", "0.25"): the error's text on bad input.
std::optional<std::string> ParseTailLevels(std::string_view text, unsigned* levels);
std::optional<std::string> ParseTailStatuses(std::string_view text,
                                             std::vector<TailFilter::StatusRange>* statuses);
// A duration such as "30s", "5m", "2h", "1d" or "500ms", in milliseconds.
std::optional<long long> ParseTailDuration(std::string_view text);

// The line as one JSON object (no newline), with the app's name and its wall-clock time:
// {"timestamp":ms,"app":..,"class":..,"object":..,"name":..|null,"type":..,...}.
// `nanos_per_tick` converts its duration (CycleClock::NanosPerTick()).
std::string TailLineJson(const std::string& app, const TailLine& line, long long time_ms,
                         double nanos_per_tick);

}  // namespace dorm::runtime
