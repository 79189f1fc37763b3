#include "control/cluster_usage.h"

#include <algorithm>
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

// How long a node keeps totals that it could not push.
constexpr long long kUnsentMinutes = 60;

// Any constant shared by all Dorm nodes: the advisory lock that orders the storage pushes (and a
// deleted class's sizes, control_log.h) for the storage gauge's history.
constexpr const char* kStorageHistoryLock = "7305104912034872";

}  // namespace

ClusterUsage::ClusterUsage(const std::string& conninfo, std::string node,
                           long long retention_minutes)
    : session_(Options(conninfo)),
      node_(std::move(node)),
      incarnation_(ToHex(RandomBytes(16))),
      retention_minutes_(retention_minutes) {}

void ClusterUsage::Push(long long minute, const std::vector<runtime::ObjectUsageDelta>& deltas) {
  std::lock_guard<std::mutex> lock(mu_);
  // Sizes: each object's latest (one row per object: a statement may not update a row twice).
  using ObjectKey = std::tuple<std::string, std::string, std::string>;
  std::map<ObjectKey, const runtime::ObjectUsageDelta*> sized;
  for (const runtime::ObjectUsageDelta& d : deltas) {
    if (d.storage_bytes >= 0) sized[ObjectKey{d.app, d.class_name, d.object_id}] = &d;
    if (d.http_requests + d.websocket_messages + d.alarms + d.cpu_ns + d.wall_ns +
            d.outbound_requests + d.outbound_bytes ==
        0) {
      continue;
    }
    MinuteTotals& m = minutes_[MinuteKey{d.app, d.class_name, d.object_id, minute}];
    runtime::ObjectUsageDelta& t = m.totals;
    t.instance_name = d.instance_name;
    t.http_requests += d.http_requests;
    t.websocket_messages += d.websocket_messages;
    t.alarms += d.alarms;
    t.cpu_ns += d.cpu_ns;
    t.wall_ns += d.wall_ns;
    t.outbound_requests += d.outbound_requests;
    t.outbound_bytes += d.outbound_bytes;
    m.unsent = true;
  }
  json::array counted;
  for (const auto& [key, m] : minutes_) {
    if (!m.unsent) continue;
    const runtime::ObjectUsageDelta& t = m.totals;
    json::object row{{"app", std::get<0>(key)},
                     {"class", std::get<1>(key)},
                     {"object_id", std::get<2>(key)},
                     {"minute", std::get<3>(key)},
                     // Hex: JSON text cannot carry every byte string a name may be.
                     {"instance", ToHex(t.instance_name)},
                     {"http_requests", t.http_requests},
                     {"websocket_messages", t.websocket_messages},
                     {"alarms", t.alarms},
                     {"cpu_ns", t.cpu_ns},
                     {"wall_ns", t.wall_ns},
                     {"outbound_requests", t.outbound_requests},
                     {"outbound_bytes", t.outbound_bytes}};
    counted.push_back(std::move(row));
  }
  json::array sizes;
  for (const auto& [key, d] : sized) {
    sizes.push_back(json::object{{"app", d->app},
                                 {"class", d->class_name},
                                 {"object_id", d->object_id},
                                 {"instance", ToHex(d->instance_name)},
                                 {"bytes", d->storage_bytes}});
  }
  // Totals that PostgreSQL has are forgotten once their minute is over (a reading counts in the
  // minute it is taken); unsent ones are kept for an hour at most (or the rows' retention, if
  // shorter), so that a long outage does not grow the node's memory without bound.
  auto forget = [&](bool sent) {
    const long long keep = std::min<long long>(kUnsentMinutes, retention_minutes_);
    for (auto it = minutes_.begin(); it != minutes_.end();) {
      long long at = std::get<3>(it->first);
      bool over = sent ? at < minute : at < minute - keep;
      if (sent) it->second.unsent = false;
      it = over ? minutes_.erase(it) : std::next(it);
    }
  };
  // A connection that died while idle fails the first statement sent on it: the push is sent
  // again once, on a new connection (totals, so it counts once even if the first attempt's
  // statement had committed).
  for (int attempt = 0;; ++attempt) {
    try {
      PushLocked(minute, counted, sizes);
      forget(true);
      return;
    } catch (const cluster::PgError& e) {
      if (e.connection_lost() && attempt == 0) continue;
      Log(LogLevel::kWarn,
          std::string("usage: this node's meters did not reach the cluster's (sent again with the "
                      "next reading): ") +
              e.what());
      forget(false);
      return;
    }
  }
}

void ClusterUsage::PushLocked(long long minute, const json::array& counted,
                              const json::array& sizes) {
  if (!counted.empty()) {
    std::string columns;
    std::string updates;
    std::string types;
    for (const char* counter : kCounters) {
      columns += std::string(", r.") + counter;
      updates += std::string(", ") + counter + " = excluded." + counter;
      types += std::string(", ") + counter + " bigint";
    }
    const std::string rows = json::serialize(counted);
    // This process's totals replace what its rows held: sending them twice changes nothing.
    session_.Exec(
        "INSERT INTO usage_minutes AS u (app, class, object_id, minute, node, incarnation, "
        "instance, http_requests, websocket_messages, alarms, cpu_ns, wall_ns, outbound_requests, "
        "outbound_bytes) SELECT r.app, r.class, r.object_id, r.minute, $2::text, $3::text, "
        "decode(r.instance, 'hex')" +
            columns +
            " FROM jsonb_to_recordset($1::jsonb) AS r(app text, class text, object_id text, "
            "minute bigint, instance text" +
            types +
            ") ON CONFLICT (app, class, object_id, minute, node, incarnation) DO UPDATE SET "
            "instance = excluded.instance" +
            updates,
        {cluster::PgParam::Text(rows), cluster::PgParam::Text(node_),
         cluster::PgParam::Text(incarnation_)});
  }
  if (!sizes.empty()) {
    // The sizes and, for each class they touch, the class's total in this minute (the storage
    // gauge's history), in one transaction under a lock that every node's push takes: the total
    // is summed after every earlier push committed, so the last one written is the cluster's.
    const std::string rows = json::serialize(sizes);
    cluster::PgConnection& connection = session_.Get();
    try {
      connection.Exec("BEGIN");
      connection.Exec("SELECT pg_advisory_xact_lock($1::bigint)",
                      {cluster::PgParam::Text(kStorageHistoryLock)});
      connection.Exec(
          "INSERT INTO usage_storage AS s (app, class, object_id, instance, bytes)"
          " SELECT r.app, r.class, r.object_id, decode(r.instance, 'hex'), r.bytes"
          " FROM jsonb_to_recordset($1::jsonb) AS r(app text, class text, object_id text,"
          " instance text, bytes bigint)"
          " ON CONFLICT (app, class, object_id) DO UPDATE SET instance = excluded.instance,"
          " bytes = excluded.bytes",
          {cluster::PgParam::Text(rows)});
      connection.Exec(
          "INSERT INTO usage_storage_history (app, class, minute, bytes)"
          " SELECT c.app, c.class, $2::bigint, (SELECT coalesce(sum(s.bytes), 0)::bigint"
          " FROM usage_storage s WHERE s.app = c.app AND s.class = c.class)"
          " FROM (SELECT DISTINCT app, class FROM jsonb_to_recordset($1::jsonb)"
          " AS r(app text, class text)) AS c"
          " ON CONFLICT (app, class, minute) DO UPDATE SET bytes = excluded.bytes",
          {cluster::PgParam::Text(rows), cluster::PgParam::Text(std::to_string(minute))});
      connection.Exec("COMMIT");
    } catch (const cluster::PgError& e) {
      connection.RollbackAfterFailure();
      if (e.connection_lost()) session_.Drop();
      throw;
    }
  }
  if (minute - last_trim_minute_ >= 60) {
    const std::string oldest = std::to_string(minute - retention_minutes_);
    session_.Exec("DELETE FROM usage_minutes WHERE node = $1 AND minute < $2::bigint",
                  {cluster::PgParam::Text(node_), cluster::PgParam::Text(oldest)});
    // The history's rows past the retention, but each class's last one before it: the size the
    // class had when the period still kept begins.
    session_.Exec(
        "DELETE FROM usage_storage_history h WHERE minute < $1::bigint AND EXISTS (SELECT 1"
        " FROM usage_storage_history l WHERE l.app = h.app AND l.class = h.class AND"
        " l.minute > h.minute AND l.minute < $1::bigint)",
        {cluster::PgParam::Text(oldest)});
    last_trim_minute_ = minute;
  }
}

namespace {

// The seven summed counters of row `i`, from column `first` on, in the order the queries select
// them.
UsageTotals TotalsAt(const cluster::PgResult& result, int i, int first) {
  UsageTotals totals;
  totals.http_requests = result.Int(i, first);
  totals.websocket_messages = result.Int(i, first + 1);
  totals.alarms = result.Int(i, first + 2);
  totals.cpu_ns = result.Int(i, first + 3);
  totals.wall_ns = result.Int(i, first + 4);
  totals.outbound_requests = result.Int(i, first + 5);
  totals.outbound_bytes = result.Int(i, first + 6);
  return totals;
}

}  // namespace

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
    row.totals = TotalsAt(result, i, 2);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<UsageStore::SeriesRow> ClusterUsage::Series(const std::string& app,
                                                        const std::string& class_name,
                                                        long long since_minute,
                                                        long long step_minutes) {
  std::lock_guard<std::mutex> lock(mu_);
  cluster::PgResult result = session_.Exec(
      "SELECT (minute - $3::bigint) / $4::bigint AS bucket, sum(http_requests),"
      " sum(websocket_messages), sum(alarms), sum(cpu_ns), sum(wall_ns), sum(outbound_requests),"
      " sum(outbound_bytes)"
      " FROM usage_minutes WHERE app = $1 AND ($2 = '' OR class = $2) AND minute >= $3::bigint"
      " GROUP BY bucket ORDER BY bucket",
      {cluster::PgParam::Text(app), cluster::PgParam::Text(class_name),
       cluster::PgParam::Text(std::to_string(since_minute)),
       cluster::PgParam::Text(std::to_string(step_minutes))});
  std::vector<UsageStore::SeriesRow> rows;
  for (int i = 0; i < result.rows(); ++i) {
    UsageStore::SeriesRow row;
    row.bucket = result.Int(i, 0);
    row.totals = TotalsAt(result, i, 1);
    rows.push_back(row);
  }
  return rows;
}

std::vector<long long> ClusterUsage::StorageSeries(const std::string& app,
                                                   const std::string& class_name,
                                                   long long since_minute, long long step_minutes,
                                                   long long points) {
  std::vector<long long> out(static_cast<size_t>(std::max(points, 0LL)), 0);
  if (out.empty() || step_minutes <= 0) return out;
  std::lock_guard<std::mutex> lock(mu_);
  // Each class's last row before the period (its size when the period starts), then its rows in
  // the period, in order: the same walk as UsageStore::StorageSeries.
  cluster::PgResult result = session_.Exec(
      "SELECT class, minute, bytes FROM (SELECT DISTINCT ON (class) class, minute, bytes"
      " FROM usage_storage_history WHERE app = $1 AND ($2 = '' OR class = $2) AND"
      " minute < $3::bigint ORDER BY class, minute DESC) AS before"
      " UNION ALL SELECT class, minute, bytes FROM usage_storage_history WHERE app = $1 AND"
      " ($2 = '' OR class = $2) AND minute >= $3::bigint ORDER BY 2",
      {cluster::PgParam::Text(app), cluster::PgParam::Text(class_name),
       cluster::PgParam::Text(std::to_string(since_minute))});
  std::map<std::string, long long> current;
  int row = 0;
  for (long long i = 0; i < points; ++i) {
    const long long bucket_end = since_minute + (i + 1) * step_minutes;  // exclusive
    for (; row < result.rows() && result.Int(row, 1) < bucket_end; ++row) {
      current[result.Text(row, 0)] = result.Int(row, 2);
    }
    long long total = 0;
    for (const auto& [name, bytes] : current) total += bytes;
    out[static_cast<size_t>(i)] = total;
  }
  return out;
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
