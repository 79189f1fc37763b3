// Cluster mode: the usage meters of every node in PostgreSQL, so that the usage API of any node
// answers for the whole cluster. Each node adds the per-object deltas it records (UsageRecorder)
// to `usage_minutes` (one row per object, minute and node; a node adds to its own rows only) and
// the objects' latest storage sizes to `usage_storage`; queries sum over every node's rows.
//
// Best effort: a push whose connection is lost is sent again once on a new connection (if the
// first attempt's commit did happen, that minute counts twice); a push that fails otherwise is
// logged and its deltas are missing from the cluster's view (they stay in the node's own usage
// store, as on a single server). Minute rows older than the
// node's minute-row retention are deleted by the node that wrote them; they are not rolled up.
//
// Threading: thread-safe (calls are serialized on one connection). Query methods throw
// cluster::PgError.
#pragma once

#include <boost/json.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/pg_session.h"
#include "control/usage_store.h"
#include "runtime/usage_meter.h"

namespace dorm::control {

class ClusterUsage {
 public:
  ClusterUsage(const std::string& conninfo, std::string node, long long retention_minutes);

  // Adds `deltas`, recorded in `minute` (minutes since the epoch), to this node's rows.
  void Push(long long minute, const std::vector<runtime::ObjectUsageDelta>& deltas);

  // As UsageStore::Query and UsageStore::Storage, over every node's rows.
  std::vector<UsageStore::ObjectRow> Query(const std::string& app, const std::string& class_name,
                                           long long since_minute);
  std::vector<UsageStore::StorageRow> Storage(const std::string& app,
                                              const std::string& class_name);

 private:
  // Push()'s statements, under mu_. Throws cluster::PgError.
  void PushLocked(long long minute, const boost::json::array& counted,
                  const boost::json::array& sizes);

  std::mutex mu_;
  cluster::PgSession session_;
  std::string node_;
  long long retention_minutes_;
  long long last_trim_minute_ = 0;
};

}  // namespace dorm::control
