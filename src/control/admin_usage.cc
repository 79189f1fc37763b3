// The usage endpoints of the admin API:
//   GET /_admin/v1/usage?app=APP[&name=CLASS][&since=ISO8601]  → the meters as JSON: totals of
//       the app, per class and per object (what `dorm usage` and the MCP `usage` action show)
//   GET /_admin/v1/usage/series?app=APP[&name=CLASS][&since=ISO8601][&step=MINUTES]  → the same
//       meters over time, one point per step (what the dashboard charts)
//   GET /_admin/metrics  → the same meters per app and class, and server health, in the
//       Prometheus text format
// Both read the runtime threads' meters first, so they answer with everything counted so far.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/cluster_usage.h"
#include "control/prometheus_text.h"
#include "control/registry.h"
#include "control/usage_recorder.h"
#include "control/usage_store.h"
#include "runtime/runtime_shared.h"
#include "util/iso8601.h"
#include "util/latency_histogram.h"
#include "util/names.h"
#include "util/wall_clock.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

// 503 with retry-after for a usage answer whose cluster-wide meters PostgreSQL could not give.
HttpResponseData ClusterMetersUnavailable(const std::exception& e) {
  HttpResponseData unavailable = HttpResponseData::JsonError(
      503, std::string("The cluster's usage meters cannot be read now: ") + e.what());
  unavailable.headers.emplace_back("retry-after", "1");
  return unavailable;
}

struct Meters {
  UsageTotals totals;
  long long storage_bytes = 0;
  unsigned long long live_objects = 0;
  unsigned long long live_websockets = 0;
};

double Millis(unsigned long long ns) { return std::round(static_cast<double>(ns) / 1e3) / 1e3; }

void PutMeters(json::object& o, const Meters& m) {
  o["do_requests"] = m.totals.http_requests + m.totals.websocket_messages;
  o["do_cpu_ms"] = Millis(m.totals.cpu_ns);
  o["wall_ms"] = Millis(m.totals.wall_ns);
  o["http_requests"] = m.totals.http_requests;
  o["websocket_messages"] = m.totals.websocket_messages;
  o["alarms"] = m.totals.alarms;
  o["outbound_requests"] = m.totals.outbound_requests;
  o["outbound_bytes"] = m.totals.outbound_bytes;
  o["storage_bytes"] = m.storage_bytes;
  o["live_objects"] = m.live_objects;
  o["live_websockets"] = m.live_websockets;
}

// What both usage endpoints take: the query's parameters (none but `allowed`, listed in
// `allowed_text` when one is refused), the app (default "default") and an optional class of it.
struct UsageScope {
  std::map<std::string, std::string> params;
  std::string app;
  std::string name;
  // The parameter's value, or "" when absent.
  std::string Param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

// Reads `request`'s scope into `scope`; returns the answer refusing it, if any.
std::optional<HttpResponseData> ReadUsageScope(const HttpRequestData& request, Registry& registry,
                                               std::initializer_list<std::string_view> allowed,
                                               std::string_view allowed_text, UsageScope* scope) {
  std::string error;
  auto params = QueryParameters(request.url, &error);
  if (!params) return HttpResponseData::JsonError(400, error);
  for (const auto& [key, value] : *params) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return HttpResponseData::JsonError(
          400, "Unknown parameter '" + key + "': use " + std::string(allowed_text) + ".");
    }
  }
  scope->params = std::move(*params);
  scope->app = scope->Param("app").empty() ? "default" : scope->Param("app");
  if (!IsValidKebabName(scope->app)) {
    return HttpResponseData::JsonError(400, "Invalid app name '" + scope->app + "'.");
  }
  scope->name = scope->Param("name");
  if (!scope->name.empty() && !registry.Get(scope->app, scope->name)) {
    return HttpResponseData::JsonError(
        404, "No Durable Object class named '" + scope->name + "' in app '" + scope->app + "'.");
  }
  return std::nullopt;
}

}  // namespace

HttpResponseData AdminService::ServeUsage(const HttpRequestData& request) {
  if (request.method != "GET") return HttpResponseData::JsonError(405, "Method not allowed.");
  if (!usage_) return HttpResponseData::JsonError(404, "Usage meters are not enabled.");
  UsageScope scope;
  if (auto refused = ReadUsageScope(request, registry_, {"app", "name", "since"},
                                    "app, name and since", &scope))
    return *refused;
  const std::map<std::string, std::string>* params = &scope.params;
  auto param = [&](const char* key) { return scope.Param(key); };
  const std::string& app = scope.app;
  const std::string& name = scope.name;
  long long since_minute = -1;
  std::optional<long long> since_ms;
  if (params->count("since")) {
    since_ms = ParseIso8601Ms(param("since"));
    if (!since_ms) {
      return HttpResponseData::JsonError(400, "Invalid since '" + param("since") +
                                                  "': use an ISO 8601 time such as "
                                                  "2025-01-31T00:00:00Z.");
    }
    // Buckets are minutes: the period starts with the minute holding `since`.
    since_minute = *since_ms >= 0 ? *since_ms / 60000 : -((-*since_ms + 59999) / 60000);
  }

  UsageRecorder::Snapshot snapshot = usage_->RefreshAndRead();
  // Cluster mode: every node's meters (this node's were just pushed by the refresh); live
  // objects and WebSockets are this node's.
  std::vector<UsageStore::ObjectRow> used;
  std::vector<UsageStore::StorageRow> stored;
  if (cluster_usage_) {
    try {
      used = cluster_usage_->Query(app, name, since_minute);
      stored = cluster_usage_->Storage(app, name);
    } catch (const std::exception& e) {
      return ClusterMetersUnavailable(e);
    }
  } else {
    used = usage_store_->Query(app, name, since_minute);
    stored = usage_store_->Storage(app, name);
  }
  // Per object: usage in the period, then current storage and liveness.
  struct ObjectMeters {
    Meters meters;
    bool live = false;
    bool listed = false;
  };
  std::map<std::pair<std::string, std::string>, ObjectMeters> objects;
  for (auto& row : used) {
    ObjectMeters& o = objects[{row.class_name, row.instance_name}];
    o.meters.totals = row.totals;
    o.listed = true;
  }
  std::map<std::string, Meters> classes;
  if (name.empty()) {
    for (const auto& record : registry_.List(app)) classes[record.name];
  } else {
    classes[name];
  }
  for (const auto& thread : snapshot.threads) {
    for (const auto& live : thread.live) {
      if (live.app != app || (!name.empty() && live.class_name != name)) continue;
      ObjectMeters& o = objects[{live.class_name, live.instance_name}];
      o.listed = true;
      o.live |= live.in_memory;
      o.meters.live_objects += live.in_memory ? 1 : 0;
      o.meters.live_websockets += live.websockets;
    }
  }
  for (const auto& row : stored) {
    classes[row.class_name].storage_bytes += row.bytes;
    auto it = objects.find({row.class_name, row.instance_name});
    if (it != objects.end()) it->second.meters.storage_bytes = row.bytes;
  }
  Meters app_meters;
  json::array object_list;
  for (const auto& [key, o] : objects) {
    Meters& c = classes[key.first];
    c.totals.Add(o.meters.totals);
    c.live_objects += o.meters.live_objects;
    c.live_websockets += o.meters.live_websockets;
    json::object item{{"class", key.first}, {"name", key.second}};
    PutMeters(item, o.meters);
    item.erase("live_objects");
    item.erase("live_websockets");
    item["live"] = o.live;
    item["websockets"] = o.meters.live_websockets;
    object_list.push_back(std::move(item));
  }
  json::array class_list;
  for (const auto& [class_name, c] : classes) {
    app_meters.totals.Add(c.totals);
    app_meters.storage_bytes += c.storage_bytes;
    app_meters.live_objects += c.live_objects;
    app_meters.live_websockets += c.live_websockets;
    json::object item{{"name", class_name}};
    PutMeters(item, c);
    class_list.push_back(std::move(item));
  }
  json::object body{{"app", app},
                    {"name", name.empty() ? json::value(nullptr) : json::value(name)},
                    {"since", since_ms ? json::value(FormatIso8601(*since_ms)) : json::value()},
                    {"until", FormatIso8601(WallClockMs())}};
  PutMeters(body, app_meters);
  body["classes"] = std::move(class_list);
  body["objects"] = std::move(object_list);
  return JsonResponse(200, body);
}

HttpResponseData AdminService::ServeUsageSeries(const HttpRequestData& request) {
  if (request.method != "GET") return HttpResponseData::JsonError(405, "Method not allowed.");
  if (!usage_) return HttpResponseData::JsonError(404, "Usage meters are not enabled.");
  UsageScope scope;
  if (auto refused = ReadUsageScope(request, registry_, {"app", "name", "since", "step"},
                                    "app, name, since and step", &scope))
    return *refused;
  const std::map<std::string, std::string>* params = &scope.params;
  auto param = [&](const char* key) { return scope.Param(key); };
  const std::string& app = scope.app;
  const std::string& name = scope.name;
  // At most this many points, so that an answer stays small whatever the period and step.
  constexpr long long kMaxPoints = 1440;
  long long step = 60;
  if (params->count("step")) {
    const std::string text = param("step");
    char* end = nullptr;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || n < 1 || n > 7 * 24 * 60) {
      return HttpResponseData::JsonError(
          400, "Invalid step '" + text + "': use a number of minutes from 1 to 10080.");
    }
    step = n;
  }
  const long long now_minute = WallClockMs() / 60000;
  long long since_minute = now_minute - 24 * 60 + 1;
  if (params->count("since")) {
    std::optional<long long> since_ms = ParseIso8601Ms(param("since"));
    if (!since_ms || *since_ms < 0 || *since_ms / 60000 > now_minute) {
      return HttpResponseData::JsonError(400, "Invalid since '" + param("since") +
                                                  "': use an ISO 8601 time in the past such as "
                                                  "2025-01-31T00:00:00Z.");
    }
    since_minute = *since_ms / 60000;
  }
  const long long points = (now_minute - since_minute) / step + 1;
  if (points > kMaxPoints) {
    return HttpResponseData::JsonError(400, "Too many points: " + std::to_string(points) +
                                                " (at most " + std::to_string(kMaxPoints) +
                                                "): use a later since or a longer step.");
  }
  usage_->Refresh();
  // Cluster mode: the counters, the current storage and the storage gauge's history of every
  // node (this node's were just pushed by the refresh).
  std::vector<UsageStore::SeriesRow> series;
  std::vector<UsageStore::StorageRow> stored;
  std::vector<long long> storage;
  if (cluster_usage_) {
    try {
      series = cluster_usage_->Series(app, name, since_minute, step);
      stored = cluster_usage_->Storage(app, name);
      storage = cluster_usage_->StorageSeries(app, name, since_minute, step, points);
    } catch (const std::exception& e) {
      return ClusterMetersUnavailable(e);
    }
  } else {
    series = usage_store_->Series(app, name, since_minute, step);
    stored = usage_store_->Storage(app, name);
    storage = usage_store_->StorageSeries(app, name, since_minute, step, points);
  }
  std::vector<UsageTotals> buckets(static_cast<size_t>(points));
  for (const auto& row : series) {
    if (row.bucket >= 0 && row.bucket < points)
      buckets[static_cast<size_t>(row.bucket)] = row.totals;
  }
  long long storage_bytes = 0;
  for (const auto& row : stored) storage_bytes += row.bytes;
  json::array list;
  for (long long i = 0; i < points; ++i) {
    Meters m;
    m.totals = buckets[static_cast<size_t>(i)];
    json::object item{{"time", FormatIso8601((since_minute + i * step) * 60000)}};
    PutMeters(item, m);
    // A gauge: the size at the end of the step (now, for the last one).
    item["storage_bytes"] = storage[static_cast<size_t>(i)];
    item.erase("live_objects");
    item.erase("live_websockets");
    list.push_back(std::move(item));
  }
  json::object body{{"app", app},
                    {"name", name.empty() ? json::value(nullptr) : json::value(name)},
                    {"since", FormatIso8601(since_minute * 60000)},
                    {"until", FormatIso8601(WallClockMs())},
                    {"step_minutes", step},
                    {"storage_bytes", storage_bytes},
                    {"points", std::move(list)}};
  return JsonResponse(200, body);
}

HttpResponseData AdminService::ServeMetrics(const HttpRequestData& request) {
  if (request.method != "GET") return HttpResponseData::JsonError(405, "Method not allowed.");
  if (!usage_) return HttpResponseData::JsonError(404, "Usage meters are not enabled.");
  UsageRecorder::Snapshot snapshot = usage_->RefreshAndRead();
  std::map<UsageStore::ClassKey, long long> storage = usage_store_->ClassStorage();
  std::map<UsageStore::ClassKey, std::pair<unsigned long long, unsigned long long>> live;
  std::set<UsageStore::ClassKey> classes;
  for (const auto& [key, totals] : snapshot.class_totals) classes.insert(key);
  for (const auto& [key, bytes] : storage) classes.insert(key);
  for (const auto& thread : snapshot.threads) {
    for (const auto& object : thread.live) {
      UsageStore::ClassKey key{object.app, object.class_name};
      classes.insert(key);
      live[key].first += object.in_memory ? 1 : 0;
      live[key].second += object.websockets;
    }
  }
  PrometheusText out;
  auto labels = [](const UsageStore::ClassKey& key) {
    return PrometheusLabels{{"app", key.first}, {"class", key.second}};
  };
  auto counter = [&](const char* name, const char* help, auto value) {
    out.Family(name, "counter", help);
    for (const auto& key : classes) {
      auto it = snapshot.class_totals.find(key);
      UsageTotals t = it == snapshot.class_totals.end() ? UsageTotals{} : it->second;
      out.Sample(name, labels(key), value(t));
    }
  };
  counter("dorm_do_requests_total",
          "HTTP requests and WebSocket messages delivered to Durable Objects (do_requests).",
          [](const UsageTotals& t) {
            return static_cast<double>(t.http_requests + t.websocket_messages);
          });
  counter("dorm_do_http_requests_total", "HTTP requests delivered to Durable Objects.",
          [](const UsageTotals& t) { return static_cast<double>(t.http_requests); });
  counter("dorm_do_websocket_messages_total",
          "WebSocket messages delivered to Durable Objects (auto-responses excluded).",
          [](const UsageTotals& t) { return static_cast<double>(t.websocket_messages); });
  counter("dorm_do_alarms_total", "Alarm handler invocations, retries included.",
          [](const UsageTotals& t) { return static_cast<double>(t.alarms); });
  counter("dorm_do_outbound_requests_total", "fetch() requests from objects to other hosts.",
          [](const UsageTotals& t) { return static_cast<double>(t.outbound_requests); });
  counter("dorm_do_outbound_bytes_total",
          "Bytes of those requests' bodies sent and their responses' bodies received.",
          [](const UsageTotals& t) { return static_cast<double>(t.outbound_bytes); });
  counter("dorm_do_cpu_seconds_total", "CPU time spent running Durable Objects' JavaScript.",
          [](const UsageTotals& t) { return static_cast<double>(t.cpu_ns) / 1e9; });
  counter("dorm_do_wall_seconds_total",
          "Time from each event's delivery to an object until its handler settled.",
          [](const UsageTotals& t) { return static_cast<double>(t.wall_ns) / 1e9; });
  auto gauge = [&](const char* name, const char* help, auto value) {
    out.Family(name, "gauge", help);
    for (const auto& key : classes) out.Sample(name, labels(key), value(key));
  };
  gauge("dorm_do_storage_bytes", "Size of the objects' SQLite databases, as last measured.",
        [&](const UsageStore::ClassKey& key) {
          auto it = storage.find(key);
          return it == storage.end() ? 0.0 : static_cast<double>(it->second);
        });
  gauge("dorm_do_live_objects", "Objects in memory.", [&](const UsageStore::ClassKey& key) {
    auto it = live.find(key);
    return it == live.end() ? 0.0 : static_cast<double>(it->second.first);
  });
  gauge("dorm_do_live_websockets", "Open WebSockets, hibernated objects' included.",
        [&](const UsageStore::ClassKey& key) {
          auto it = live.find(key);
          return it == live.end() ? 0.0 : static_cast<double>(it->second.second);
        });

  out.Family("dorm_event_loop_lag_seconds", "gauge",
             "Largest delay of a runtime thread's periodic timer over the last 5 to 10 s.");
  for (const auto& thread : snapshot.threads) {
    out.Sample("dorm_event_loop_lag_seconds", {{"thread", std::to_string(thread.thread_id)}},
               thread.event_loop_lag_seconds);
  }
  auto heap = [&](const char* name, const char* help, uint64_t runtime::IsolateHeap::*field) {
    out.Family(name, "gauge", help);
    for (const auto& thread : snapshot.threads) {
      for (const auto& h : thread.heaps) {
        out.Sample(name, {{"app", h.app}, {"thread", std::to_string(thread.thread_id)}},
                   static_cast<double>(h.*field));
      }
    }
  };
  heap("dorm_isolate_heap_used_bytes", "V8 heap in use by an app's isolate on a runtime thread.",
       &runtime::IsolateHeap::used_bytes);
  heap("dorm_isolate_heap_total_bytes", "V8 heap reserved by an app's isolate.",
       &runtime::IsolateHeap::total_bytes);
  heap("dorm_isolate_heap_limit_bytes", "V8 heap limit of an app's isolate.",
       &runtime::IsolateHeap::limit_bytes);

  const char* flush = "dorm_storage_flush_duration_seconds";
  out.Family(flush, "histogram",
             "Duration of storage flushes (fdatasync of one commit, or syncfs of a group).");
  LatencyHistogram::Snapshot h = runtime_.sync_pool->flush_latency().Read();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += h.buckets[i];
    char le[32];
    if (i < LatencyHistogram::kBounds.size()) {
      std::snprintf(le, sizeof le, "%g", LatencyHistogram::kBounds[i]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    out.Sample(std::string(flush) + "_bucket", {{"le", le}}, static_cast<double>(cumulative));
  }
  out.Sample(std::string(flush) + "_sum", {}, h.sum_seconds);
  out.Sample(std::string(flush) + "_count", {}, static_cast<double>(h.count));

  HttpResponseData r;
  r.status = 200;
  r.headers.emplace_back("content-type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = out.text();
  return r;
}

}  // namespace dorm::control
