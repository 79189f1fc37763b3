// Cluster mode: the usage meters of every node in PostgreSQL, so that the usage API of any node
// answers for the whole cluster. Each node keeps, per object and minute, the totals of the deltas
// it recorded (UsageRecorder) and writes them to its own rows of `usage_minutes` (one row per
// object, minute, node and process: the rows of a process are its totals, replaced by each push),
// and the objects' latest storage sizes to `usage_storage`, with each class's total of them in
// the minute (`usage_storage_history`, the storage gauge's history); queries sum over every
// node's rows.
//
// Exactly once: a push writes totals, not increments, so a push sent again (after a lost
// connection, whose first attempt may have committed) changes nothing more. A push that fails is
// logged; its totals are sent with the next push (kept for an hour at most). A node that
// restarts writes rows of its own (a new process), so it never overwrites what the previous one
// counted. Minute rows older than the node's minute-row retention are deleted by the node that
// wrote them; they are not rolled up.
//
// Threading: thread-safe (calls are serialized on one connection). Query methods throw
// cluster::PgError.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "cluster/pg_session.h"
#include "control/usage_store.h"
#include "runtime/usage_meter.h"

namespace dorm::control {

class ClusterUsage {
 public:
  ClusterUsage(const std::string& conninfo, std::string node, long long retention_minutes);

  // Adds `deltas`, recorded in `minute` (minutes since the epoch), to this process's totals and
  // writes the totals that changed (or that an earlier push failed to write).
  void Push(long long minute, const std::vector<runtime::ObjectUsageDelta>& deltas);

  // As UsageStore::Query and UsageStore::Storage, over every node's rows.
  std::vector<UsageStore::ObjectRow> Query(const std::string& app, const std::string& class_name,
                                           long long since_minute);
  std::vector<UsageStore::StorageRow> Storage(const std::string& app,
                                              const std::string& class_name);
  // As UsageStore::Series, over every node's minute rows (kept for the nodes' minute-row
  // retention; they are not rolled up into hours and days as a single server's are).
  std::vector<UsageStore::SeriesRow> Series(const std::string& app, const std::string& class_name,
                                            long long since_minute, long long step_minutes);
  // As UsageStore::StorageSeries, from the cluster's storage history (usage_storage_history:
  // each class's total over every node's latest object sizes, written by the pushes that change
  // them).
  std::vector<long long> StorageSeries(const std::string& app, const std::string& class_name,
                                       long long since_minute, long long step_minutes,
                                       long long points);

 private:
  // Push()'s statements, under mu_. Throws cluster::PgError.
  void PushLocked(long long minute, const boost::json::array& counted,
                  const boost::json::array& sizes);

  // This process's totals of an object in a minute, and whether PostgreSQL may not have them.
  using MinuteKey = std::tuple<std::string, std::string, std::string, long long>;
  struct MinuteTotals {
    runtime::ObjectUsageDelta totals;  // the counters and the instance name only
    bool unsent = false;
  };

  std::mutex mu_;
  cluster::PgSession session_;
  std::string node_;
  std::string incarnation_;                    // random per process: its rows' own key
  std::map<MinuteKey, MinuteTotals> minutes_;  // under mu_
  long long retention_minutes_;
  long long last_trim_minute_ = 0;
};

}  // namespace dorm::control
