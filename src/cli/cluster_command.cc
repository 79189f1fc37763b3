#include "cli/cluster_command.h"

#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/admin_json_request.h"
#include "cli/json_text.h"
#include "util/names.h"

namespace dorm::cli {

namespace {

namespace json = boost::json;

const char kClusterUsage[] = "usage: dorm cluster status | dorm cluster drain NODE";

bool JsonFlag(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

int Status(const std::map<std::string, std::string>& flags) {
  auto answer = AdminJsonRequest(flags, "GET", "/_admin/v1/cluster");
  if (!answer) return 1;
  const json::object& o = *answer;
  std::printf("%-20s %-32s %-9s %12s %9s %9s %13s %11s\n", "NODE", "ADDRESS", "STATE", "LEASE_LEFT",
              "OBJECTS", "PENDING", "PENDING_BYTES", "OLDEST");
  if (const json::value* nodes = o.if_contains("nodes"); nodes && nodes->is_array()) {
    for (const json::value& item : nodes->as_array()) {
      if (!item.is_object()) continue;
      const json::object& n = item.as_object();
      const char* state = !JsonFlag(n, "live")      ? "gone"
                          : JsonFlag(n, "drained")  ? "drained"
                          : JsonFlag(n, "draining") ? "draining"
                                                    : "live";
      long long left = JsonInteger(n, "lease_remaining_ms");
      std::string lease = left > 0 ? std::to_string(left) + " ms" : "expired";
      // The node's flush lag as of its last renewal (every 0.5 s while it lives).
      std::string oldest = JsonInteger(n, "reported_ms_ago") < 0
                               ? "-"
                               : std::to_string(JsonInteger(n, "oldest_pending_ms")) + " ms";
      std::printf("%-20s %-32s %-9s %12s %9lld %9lld %13lld %11s\n", JsonText(n, "node").c_str(),
                  JsonText(n, "addr").c_str(), state, lease.c_str(), JsonInteger(n, "objects"),
                  JsonInteger(n, "pending_commits"), JsonInteger(n, "pending_bytes"),
                  oldest.c_str());
    }
  }
  std::printf(
      "\nobjects owned: %lld, released: %lld; alarms: %lld; log: %lld bytes, snapshots: %lld "
      "bytes\n",
      JsonInteger(o, "owned_objects"), JsonInteger(o, "released_objects"), JsonInteger(o, "alarms"),
      JsonInteger(o, "log_bytes"), JsonInteger(o, "snapshot_bytes"));
  if (const json::value* self = o.if_contains("self"); self && self->is_object()) {
    const json::object& s = self->as_object();
    std::printf("this node (%s): %s; commits not yet durable: %lld (oldest %lld ms)\n",
                JsonText(s, "node").c_str(), JsonFlag(s, "serving") ? "serving" : "not serving",
                JsonInteger(s, "pending_commits"), JsonInteger(s, "oldest_pending_ms"));
  }
  return 0;
}

int Drain(const std::string& node, const std::map<std::string, std::string>& flags) {
  auto answer = AdminJsonRequest(
      flags, "POST", "/_admin/v1/cluster/nodes/" + PercentEncodeSegment(node) + "/drain");
  if (!answer) return 1;
  std::cout << "node '" << node
            << "' is draining: it hands its objects over to the other nodes and goes on "
               "forwarding requests to them\n";
  return 0;
}

}  // namespace

int ClusterCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags) {
  if (positional.size() == 1 && positional[0] == "status") return Status(flags);
  if (positional.size() == 2 && positional[0] == "drain") return Drain(positional[1], flags);
  std::cerr << "dorm: " << kClusterUsage << "\n";
  return 1;
}

}  // namespace dorm::cli
