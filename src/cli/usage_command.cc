#include "cli/usage_command.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/admin_json_request.h"
#include "cli/flag_value.h"
#include "cli/json_text.h"
#include "util/iso8601.h"
#include "util/names.h"
#include "util/wall_clock.h"

namespace dorm::cli {

namespace {

namespace json = boost::json;

const char kUsageUsage[] = "usage: dorm usage [NAME] [--since ISO8601|30m|1h|24h|7d] [--app APP]";

// `30m`, `1h`, `24h`, `7d`, `90s` before now, as ISO 8601; anything else is passed on as given
// (the server checks it).
std::string SinceArgument(const std::string& since) {
  if (since.size() < 2) return since;
  char unit = since.back();
  long long seconds_per_unit = unit == 's'   ? 1
                               : unit == 'm' ? 60
                               : unit == 'h' ? 3600
                               : unit == 'd' ? 86400
                                             : 0;
  if (seconds_per_unit == 0) return since;
  long long n = 0;
  for (size_t i = 0; i + 1 < since.size(); ++i) {
    char c = since[i];
    if (c < '0' || c > '9' || n > 100000000) return since;
    n = n * 10 + (c - '0');
  }
  long long now_ms = WallClockMs();
  return FormatIso8601(now_ms - n * seconds_per_unit * 1000);
}

unsigned long long Count(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64()) return static_cast<unsigned long long>(v->as_int64());
  if (v->is_double()) return static_cast<unsigned long long>(v->as_double());
  return 0;
}

double Real(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_double()) return v->as_double();
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  return 0;
}

std::string Bytes(unsigned long long n) {
  char buf[32];
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", n);
  } else if (n < (1ull << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else if (n < (1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(n) / (1 << 30));
  }
  return buf;
}

void Row(const std::string& name, const json::object& o, const std::string& live) {
  std::printf("%-32s %11llu %9llu %8llu %11.3f %12.3f %10s %8llu %10s %s\n", name.c_str(),
              Count(o, "do_requests"), Count(o, "http_requests"), Count(o, "websocket_messages"),
              Real(o, "do_cpu_ms"), Real(o, "wall_ms"), Bytes(Count(o, "storage_bytes")).c_str(),
              Count(o, "outbound_requests"), Bytes(Count(o, "outbound_bytes")).c_str(),
              live.c_str());
}

void Header(const char* first) {
  std::printf("%-32s %11s %9s %8s %11s %12s %10s %8s %10s %s\n", first, "DO_REQUESTS", "HTTP",
              "WS_MSGS", "CPU_MS", "WALL_MS", "STORAGE", "OUT_REQ", "OUT_BYTES", "LIVE");
}

}  // namespace

int UsageCommand(const std::vector<std::string>& positional,
                 const std::map<std::string, std::string>& flags) {
  if (positional.size() > 1) {
    std::cerr << "dorm: " << kUsageUsage << "\n";
    return 1;
  }
  std::string app = FlagValue(flags, "app").empty() ? "default" : FlagValue(flags, "app");
  std::string target = "/_admin/v1/usage?app=" + PercentEncodeSegment(app);
  if (!positional.empty()) target += "&name=" + PercentEncodeSegment(positional[0]);
  if (flags.count("since")) {
    target += "&since=" + PercentEncodeSegment(SinceArgument(FlagValue(flags, "since")));
  }
  auto answer = AdminJsonRequest(flags, "GET", target);
  if (!answer) return 1;
  const json::object& o = *answer;
  std::string since = JsonText(o, "since");
  std::cout << "usage of app '" << app << "'"
            << (positional.empty() ? "" : ", class '" + positional[0] + "'") << " from "
            << (since.empty() ? "the beginning" : since) << " to " << JsonText(o, "until")
            << " (storage and LIVE are current)\n\n";
  Header("CLASS");
  if (const json::value* classes = o.if_contains("classes"); classes && classes->is_array()) {
    for (const auto& c : classes->as_array()) {
      const json::object& co = c.as_object();
      Row(JsonText(co, "name"), co,
          std::to_string(Count(co, "live_objects")) + " objects, " +
              std::to_string(Count(co, "live_websockets")) + " websockets");
    }
  }
  Row("(total)", o,
      std::to_string(Count(o, "live_objects")) + " objects, " +
          std::to_string(Count(o, "live_websockets")) + " websockets");
  const json::value* objects = o.if_contains("objects");
  if (objects && objects->is_array() && !objects->as_array().empty()) {
    std::cout << "\n";
    Header("OBJECT (class/name)");
    for (const auto& item : objects->as_array()) {
      const json::object& io = item.as_object();
      const json::value* live = io.if_contains("live");
      bool in_memory = live && live->is_bool() && live->as_bool();
      unsigned long long sockets = Count(io, "websockets");
      std::string state = in_memory ? "yes" : "no";
      if (sockets > 0) state += ", " + std::to_string(sockets) + " websockets";
      Row(JsonText(io, "class") + "/" + JsonText(io, "name"), io, state);
    }
  }
  return 0;
}

}  // namespace dorm::cli
