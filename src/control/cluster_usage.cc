#include "control/cluster_usage.h"

#include <boost/json.hpp>
#include <map>
#include <tuple>

#include "util/crypto.h"
#include "util/log.h"

namespace dorm::control {

namespace json = boost::json;

namespace {

cluster::PgSessionOptions Options(const std::string& conninfo) {
  cluster::PgSessionOptions options;
  options.conninfo = conninfo;
  return options;
}

// The counters, in the column order of usage_minutes.
constexpr const char* kCounters[] = {
    "http_requests", "websocket_messages", "alarms",        "cpu_ns",
    "wall_ns",       "outbound_requests",  "outbound_bytes"};

}  // namespace

ClusterUsage::ClusterUsage(const std::string& conninfo, std::string node,
                           long long retention_minutes)
    : session_(Options(conninfo)), node_(std::move(node)), retention_minutes_(retention_minutes) {}

void ClusterUsage::Push(long long minute, const std::vector<runtime::ObjectUsageDelta>& deltas) {
  // One row per object: a statement may not update a row twice.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, runtime::ObjectUsageDelta> merged;
  for (const runtime::ObjectUsageDelta& d : deltas) {
    auto [it, fresh] = merged.try_emplace(Key{d.app, d.class_name, d.object_id}, d);
    if (fresh) continue;
    runtime::ObjectUsageDelta& m = it->second;
    m.http_requests += d.http_requests;
    m.websocket_messages += d.websocket_messages;
    m.alarms += d.alarms;
    m.cpu_ns += d.cpu_ns;
    m.wall_ns += d.wall_ns;
    m.outbound_requests += d.outbound_requests;
    m.outbound_bytes += d.outbound_bytes;
    if (d.storage_bytes >= 0) m.storage_bytes = d.storage_bytes;
  }
  json::array counted;
  json::array sizes;
  for (const auto& [key, d] : merged) {
    json::object row{{"app", d.app},
                     {"class", d.class_name},
                     {"object_id", d.object_id},
                     // Hex: JSON text cannot carry every byte string a name may be.
                     {"instance", ToHex(d.instance_name)}};
    if (d.storage_bytes >= 0) {
      json::object size = row;
      size["bytes"] = d.storage_bytes;
      sizes.push_back(std::move(size));
    }
    if (d.http_requests + d.websocket_messages + d.alarms + d.cpu_ns + d.wall_ns +
            d.outbound_requests + d.outbound_bytes ==
        0) {
      continue;
    }
    row["http_requests"] = d.http_requests;
    row["websocket_messages"] = d.websocket_messages;
    row["alarms"] = d.alarms;
    row["cpu_ns"] = d.cpu_ns;
    row["wall_ns"] = d.wall_ns;
    row["outbound_requests"] = d.outbound_requests;
    row["outbound_bytes"] = d.outbound_bytes;
    counted.push_back(std::move(row));
  }
  std::lock_guard<std::mutex> lock(mu_);
  // A connection that died while idle fails the first statement sent on it: the push is sent
  // again once, on a new connection.
  for (int attempt = 0;; ++attempt) {
    try {
      PushLocked(minute, counted, sizes);
      return;
    } catch (const cluster::PgError& e) {
      if (e.connection_lost() && attempt == 0) continue;
      Log(LogLevel::kWarn,
          std::string("usage: this node's meters were not added to the cluster's: ") + e.what());
      return;
    }
  }
}

void ClusterUsage::PushLocked(long long minute, const json::array& counted,
                              const json::array& sizes) {
  const std::string minute_text = std::to_string(minute);
  if (!counted.empty()) {
    std::string columns;
    std::string updates;
    std::string types;
    for (const char* counter : kCounters) {
      columns += std::string(", r.") + counter;
      updates += std::string(", ") + counter + " = u." + counter + " + excluded." + counter;
      types += std::string(", ") + counter + " bigint";
    }
    const std::string rows = json::serialize(counted);
    session_.Exec(
        "INSERT INTO usage_minutes AS u (app, class, object_id, minute, node, instance, "
        "http_requests, websocket_messages, alarms, cpu_ns, wall_ns, outbound_requests, "
        "outbound_bytes) SELECT r.app, r.class, r.object_id, $2::bigint, $3::text, "
        "decode(r.instance, 'hex')" +
            columns +
            " FROM jsonb_to_recordset($1::jsonb) AS r(app text, class text, object_id text, "
            "instance text" +
            types +
            ") ON CONFLICT (app, class, object_id, minute, node) DO UPDATE SET instance = "
            "excluded.instance" +
            updates,
        {cluster::PgParam::Text(rows), cluster::PgParam::Text(minute_text),
         cluster::PgParam::Text(node_)});
  }
  if (!sizes.empty()) {
    const std::string rows = json::serialize(sizes);
    session_.Exec(
        "INSERT INTO usage_storage AS s (app, class, object_id, instance, bytes)"
        " SELECT r.app, r.class, r.object_id, decode(r.instance, 'hex'), r.bytes"
        " FROM jsonb_to_recordset($1::jsonb) AS r(app text, class text, object_id text,"
        " instance text, bytes bigint)"
        " ON CONFLICT (app, class, object_id) DO UPDATE SET instance = excluded.instance,"
        " bytes = excluded.bytes",
        {cluster::PgParam::Text(rows)});
  }
  if (minute - last_trim_minute_ >= 60) {
    const std::string oldest = std::to_string(minute - retention_minutes_);
    session_.Exec("DELETE FROM usage_minutes WHERE node = $1 AND minute < $2::bigint",
                  {cluster::PgParam::Text(node_), cluster::PgParam::Text(oldest)});
    last_trim_minute_ = minute;
  }
}

std::vector<UsageStore::ObjectRow> ClusterUsage::Query(const std::string& app,
                                                       const std::string& class_name,
                                                       long long since_minute) {
  const std::string since = std::to_string(since_minute);
  std::lock_guard<std::mutex> lock(mu_);
  cluster::PgResult result = session_.Exec(
      "SELECT class, (array_agg(instance ORDER BY minute DESC))[1], sum(http_requests), "
      "sum(websocket_messages), sum(alarms),"
      " sum(cpu_ns), sum(wall_ns), sum(outbound_requests), sum(outbound_bytes)"
      " FROM usage_minutes WHERE app = $1 AND ($2 = '' OR class = $2) AND minute >= $3::bigint"
      " GROUP BY class, object_id ORDER BY class, object_id",
      {cluster::PgParam::Text(app), cluster::PgParam::Text(class_name),
       cluster::PgParam::Text(since)});
  std::vector<UsageStore::ObjectRow> rows;
  for (int i = 0; i < result.rows(); ++i) {
    UsageStore::ObjectRow row;
    row.class_name = result.Text(i, 0);
    row.instance_name = result.Bytes(i, 1);
    row.totals.http_requests = result.Int(i, 2);
    row.totals.websocket_messages = result.Int(i, 3);
    row.totals.alarms = result.Int(i, 4);
    row.totals.cpu_ns = result.Int(i, 5);
    row.totals.wall_ns = result.Int(i, 6);
    row.totals.outbound_requests = result.Int(i, 7);
    row.totals.outbound_bytes = result.Int(i, 8);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<UsageStore::StorageRow> ClusterUsage::Storage(const std::string& app,
                                                          const std::string& class_name) {
  std::lock_guard<std::mutex> lock(mu_);
  cluster::PgResult result = session_.Exec(
      "SELECT class, instance, bytes FROM usage_storage WHERE app = $1 AND ($2 = '' OR class = $2)"
      " ORDER BY class, object_id",
      {cluster::PgParam::Text(app), cluster::PgParam::Text(class_name)});
  std::vector<UsageStore::StorageRow> rows;
  for (int i = 0; i < result.rows(); ++i) {
    rows.push_back({result.Text(i, 0), result.Bytes(i, 1), result.Int(i, 2)});
  }
  return rows;
}

}  // namespace dorm::control
