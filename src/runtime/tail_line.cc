#include "runtime/tail_line.h"

#include <cmath>
#include <cstdio>

#include "util/json_escape.h"

namespace dorm::runtime {

void TruncateTailText(std::string& text, size_t limit) {
  if (text.size() <= limit) return;
  size_t cut = limit;
  // Back to the start of a UTF-8 sequence (a byte that is not 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "\xE2\x80\xA6";
}

std::string_view TailPathOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return url.empty() ? std::string_view("/") : url;
  size_t slash = url.find('/', scheme + 3);
  if (slash == std::string_view::npos) return "/";
  std::string_view path = url.substr(slash);
  size_t hash = path.find('#');
  return hash == std::string_view::npos ? path : path.substr(0, hash);
}

const char* TailLevelName(TailLevel level) {
  switch (level) {
    case TailLevel::kDebug:
      return "debug";
    case TailLevel::kLog:
      return "log";
    case TailLevel::kInfo:
      return "info";
    case TailLevel::kWarn:
      return "warn";
    case TailLevel::kError:
      return "error";
  }
  return "log";
}

std::optional<TailLevel> ParseTailLevel(std::string_view name) {
  if (name == "debug") return TailLevel::kDebug;
  if (name == "log") return TailLevel::kLog;
  if (name == "info") return TailLevel::kInfo;
  if (name == "warn") return TailLevel::kWarn;
  if (name == "error") return TailLevel::kError;
  return std::nullopt;
}

bool TailFilter::Matches(const TailLine& line) const {
  if (!class_name.empty() && line.class_name != class_name) return false;
  if (!object.empty() && line.object_id != object && line.instance_name != object) return false;
  if (levels != 0) {
    if (line.kind != TailKind::kConsole && line.kind != TailKind::kException) return false;
    if ((levels & (1u << static_cast<unsigned>(line.level))) == 0) return false;
  }
  if (!statuses.empty()) {
    if (line.kind != TailKind::kRequest && line.kind != TailKind::kRpc) return false;
    bool any = false;
    for (const StatusRange& range : statuses) {
      if (line.status >= range.low && line.status <= range.high) any = true;
    }
    if (!any) return false;
  }
  return true;
}

bool TailFilter::Sample() {
  if (sampling >= 1.0) return true;
  if (sampling <= 0.0) return false;
  // xorshift64*: quality enough to thin a stream of lines, and lock-free (one per client).
  random_state ^= random_state >> 12;
  random_state ^= random_state << 25;
  random_state ^= random_state >> 27;
  const uint64_t r = random_state * 0x2545F4914F6CDD1Dull;
  return static_cast<double>(r >> 11) * 0x1.0p-53 < sampling;
}

namespace {

std::vector<std::string_view> SplitCommas(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = text.substr(start, comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) parts.push_back(part);
    start = comma + 1;
  }
  return parts;
}

}  // namespace

std::optional<std::string> ParseTailLevels(std::string_view text, unsigned* levels) {
  *levels = 0;
  for (std::string_view part : SplitCommas(text)) {
    std::optional<TailLevel> level = ParseTailLevel(part);
    if (!level) {
      return "Invalid level '" + std::string(part) + "': use log, info, warn, error or debug.";
    }
    *levels |= 1u << static_cast<unsigned>(*level);
  }
  return std::nullopt;
}

std::optional<std::string> ParseTailStatuses(std::string_view text,
                                             std::vector<TailFilter::StatusRange>* statuses) {
  statuses->clear();
  for (std::string_view part : SplitCommas(text)) {
    auto bad = [&] {
      return "Invalid status '" + std::string(part) +
             "': use a status (404), a class (5xx), ok (below 400) or error (400 and up).";
    };
    if (part == "ok") {
      statuses->push_back({100, 399});
    } else if (part == "error") {
      statuses->push_back({400, 599});
    } else if (part.size() == 3 && part[0] >= '1' && part[0] <= '5' &&
               (part.substr(1) == "xx" || part.substr(1) == "XX")) {
      int base = (part[0] - '0') * 100;
      statuses->push_back({base, base + 99});
    } else if (part.size() == 3 && part[0] >= '1' && part[0] <= '5' && part[1] >= '0' &&
               part[1] <= '9' && part[2] >= '0' && part[2] <= '9') {
      int status = (part[0] - '0') * 100 + (part[1] - '0') * 10 + (part[2] - '0');
      statuses->push_back({status, status});
    } else {
      return bad();
    }
  }
  return std::nullopt;
}

std::optional<long long> ParseTailDuration(std::string_view text) {
  size_t digits = 0;
  long long value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (value > 1'000'000'000ll) return std::nullopt;
    value = value * 10 + (text[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  std::string_view unit = text.substr(digits);
  if (unit == "ms") return value;
  if (unit == "s" || unit.empty()) return value * 1000;
  if (unit == "m") return value * 60'000;
  if (unit == "h") return value * 3'600'000;
  if (unit == "d") return value * 86'400'000;
  return std::nullopt;
}

namespace {

const char* KindName(TailKind kind) {
  switch (kind) {
    case TailKind::kConsole:
      return "console";
    case TailKind::kException:
      return "exception";
    case TailKind::kRequest:
      return "request";
    case TailKind::kRpc:
      return "rpc";
    case TailKind::kAlarm:
      return "alarm";
    case TailKind::kWebSocketMessage:
    case TailKind::kWebSocketClose:
    case TailKind::kWebSocketError:
      return "websocket";
  }
  return "console";
}

const char* OutcomeName(TailOutcome outcome) {
  switch (outcome) {
    case TailOutcome::kOk:
      return "ok";
    case TailOutcome::kException:
      return "exception";
    case TailOutcome::kCanceled:
      return "canceled";
    case TailOutcome::kNone:
      break;
  }
  return nullptr;
}

}  // namespace

std::string TailLineJson(const std::string& app, const TailLine& line, long long time_ms,
                         double nanos_per_tick) {
  std::string out;
  out.reserve(160 + line.message.size() + line.path.size());
  out += "{\"timestamp\":";
  out += std::to_string(time_ms);
  out += ",\"app\":";
  out += JsonQuote(app);
  out += ",\"class\":";
  out += line.class_name.empty() ? "null" : JsonQuote(line.class_name);
  out += ",\"object\":";
  out += line.object_id.empty() ? "null" : JsonQuote(line.object_id);
  out += ",\"name\":";
  out += line.instance_name.empty() ? "null" : JsonQuote(line.instance_name);
  out += ",\"type\":\"";
  out += KindName(line.kind);
  out += '"';
  switch (line.kind) {
    case TailKind::kConsole:
    case TailKind::kException:
      out += ",\"level\":\"";
      out += TailLevelName(line.level);
      out += "\",\"message\":";
      out += JsonQuote(line.message);
      break;
    case TailKind::kWebSocketMessage:
      out += ",\"event\":\"message\"";
      break;
    case TailKind::kWebSocketClose:
      out += ",\"event\":\"close\",\"code\":";
      out += std::to_string(line.status);
      break;
    case TailKind::kWebSocketError:
      out += ",\"event\":\"error\"";
      break;
    default:
      break;
  }
  if (line.kind == TailKind::kRequest || line.kind == TailKind::kRpc) {
    out += ",\"method\":";
    out += JsonQuote(line.method);
  }
  if (line.kind == TailKind::kRequest) {
    out += ",\"path\":";
    out += JsonQuote(line.path);
  }
  if (line.kind == TailKind::kRequest || line.kind == TailKind::kRpc) {
    out += ",\"status\":";
    out += std::to_string(line.status);
  }
  if (line.duration_ticks >= 0) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3f",
                  static_cast<double>(line.duration_ticks) * nanos_per_tick / 1e6);
    out += ",\"duration_ms\":";
    out += buffer;
  }
  if (const char* outcome = OutcomeName(line.outcome)) {
    out += ",\"outcome\":\"";
    out += outcome;
    out += '"';
  }
  if (line.kind != TailKind::kConsole && line.kind != TailKind::kException &&
      !line.message.empty()) {
    out += ",\"error\":";
    out += JsonQuote(line.message);
  }
  out += '}';
  return out;
}

}  // namespace dorm::runtime
