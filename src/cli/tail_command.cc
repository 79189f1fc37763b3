#include "cli/tail_command.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <limits>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/flag_value.h"
#include "cli/json_text.h"
#include "util/iso8601.h"
#include "util/names.h"

namespace dorm::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

const char kTailUsage[] =
    "usage: dorm tail [APP] [--class C] [--object ID] [--level L] [--status S] [--sampling R] "
    "[--since 5m] [--format pretty|json]";

// A server-sent event larger than this is not one Dorm sends: the stream is broken off.
constexpr size_t kMaxEventBytes = 1u << 20;

// One line as `wrangler tail` prints it, roughly: the time, the object, then what happened.
std::string PrettyTailLine(const json::object& o) {
  if (o.contains("dropped")) {
    return "(" + std::to_string(JsonInteger(o, "dropped")) +
           " lines dropped: this client read too slowly)";
  }
  std::string when = FormatIso8601(JsonInteger(o, "timestamp"));
  std::string who =
      JsonText(o, "class", "-") + "/" + JsonText(o, "name", JsonText(o, "object", "-").c_str());
  std::string type = JsonText(o, "type");
  std::string out = when + " [" + who + "] ";
  char duration[32] = "";
  if (const json::value* d = o.if_contains("duration_ms"); d && d->is_number()) {
    std::snprintf(duration, sizeof duration, " (%.1f ms)", d->to_number<double>());
  }
  std::string outcome = JsonText(o, "outcome");
  if (type == "console") return out + "(" + JsonText(o, "level") + ") " + JsonText(o, "message");
  if (type == "exception") return out + "\xE2\x9C\x98 " + JsonText(o, "message");
  if (type == "request") {
    return out + JsonText(o, "method") + " " + JsonText(o, "path") + " - " +
           std::to_string(JsonInteger(o, "status")) + " " + outcome + duration;
  }
  if (type == "rpc") return out + "RPC " + JsonText(o, "method") + "() - " + outcome + duration;
  if (type == "alarm") return out + "alarm - " + outcome + duration;
  if (type == "websocket") {
    std::string event = JsonText(o, "event");
    if (event == "close") event += " " + std::to_string(JsonInteger(o, "code"));
    return out + "WebSocket " + event + " - " + outcome + duration;
  }
  return out + type;
}

}  // namespace

int TailCommand(const std::vector<std::string>& positional,
                const std::map<std::string, std::string>& flags) {
  if (positional.size() > 1) {
    std::cerr << "dorm: " << kTailUsage << "\n";
    return 1;
  }
  std::string app = !positional.empty()                ? positional[0]
                    : !FlagValue(flags, "app").empty() ? FlagValue(flags, "app")
                                                       : "default";
  if (!IsValidKebabName(app)) {
    std::cerr << "dorm: invalid app name '" << app << "'\n";
    return 1;
  }
  std::string format = FlagValue(flags, "format").empty() ? "pretty" : FlagValue(flags, "format");
  if (format != "pretty" && format != "json") {
    std::cerr << "dorm: --format must be pretty or json\n";
    return 1;
  }
  std::string target = "/_admin/v1/apps/" + app + "/tail";
  char separator = '?';
  for (const char* key : {"class", "object", "level", "status", "sampling", "since"}) {
    if (!flags.count(key)) continue;
    target += separator;
    target += key;
    target += "=" + PercentEncodeSegment(FlagValue(flags, key));
    separator = '&';
  }
  std::string error;
  auto endpoint = ResolveAdminEndpoint(FlagValue(flags, "server"), FlagValue(flags, "token"),
                                       FlagValue(flags, "data"), &error);
  if (!endpoint) {
    std::cerr << "dorm: " << error << "\n";
    return 1;
  }
  std::string pending;  // what came of the current event so far
  bool broken = false;
  auto on_event = [&](const std::string& event) {
    // Only `data:` fields carry lines; comments (": tailing") and blank fields are skipped.
    size_t start = 0;
    while (start < event.size()) {
      size_t end = event.find('\n', start);
      if (end == std::string::npos) end = event.size();
      std::string field = event.substr(start, end - start);
      start = end + 1;
      if (field.rfind("data:", 0) != 0) continue;
      std::string data = field.substr(field.size() > 5 && field[5] == ' ' ? 6 : 5);
      if (format == "json") {
        std::cout << data << std::endl;
        continue;
      }
      boost::system::error_code ec;
      json::value v = json::parse(data, ec);
      if (ec || !v.is_object()) continue;
      std::cout << PrettyTailLine(v.as_object()) << std::endl;
    }
  };
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    SendAdminGet(stream, endpoint->server, endpoint->token, target, "text/event-stream");
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read_header(stream, buffer, parser);
    if (parser.get().result_int() != 200) {
      parser.body_limit(1u << 20);
      http::read(stream, buffer, parser);
      std::string body = parser.get().body();
      boost::system::error_code ec;
      json::value v = json::parse(body, ec);
      std::string message = !ec && v.is_object() ? JsonText(v.as_object(), "error") : "";
      if (message.empty())
        message = "server answered " + std::to_string(parser.get().result_int()) + ": " + body;
      std::cerr << "dorm: " << message << "\n";
      return 1;
    }
    auto on_chunk = [&](std::uint64_t, std::string_view body, boost::system::error_code& ec) {
      pending.append(body.data(), body.size());
      size_t boundary;
      while ((boundary = pending.find("\n\n")) != std::string::npos) {
        std::string event = pending.substr(0, boundary);
        pending.erase(0, boundary + 2);
        on_event(event);
      }
      if (pending.size() > kMaxEventBytes) {
        broken = true;
        ec = http::error::body_limit;
      }
      return body.size();
    };
    parser.on_chunk_body(on_chunk);
    http::read(stream, buffer, parser);
  } catch (const std::exception& e) {
    std::cerr << "dorm: " << (broken ? "the server sent an oversized event" : "") << e.what()
              << "\n";
    return 1;
  }
  return 0;
}

}  // namespace dorm::cli
