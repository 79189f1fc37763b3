#include "cluster/cluster_status.h"

namespace dorm::cluster {
namespace {

constexpr const char* kNodes = R"sql(
SELECT n.node, n.addr,
       (extract(epoch FROM (n.lease_until - now())) * 1000)::bigint,
       n.lease_until > now(), n.draining,
       (SELECT count(*) FROM owners o WHERE o.node = n.node)
FROM nodes n ORDER BY n.node)sql";

// Sizes from the catalog: counting the log's rows or bytes would read the whole table.
constexpr const char* kTotals = R"sql(
SELECT (SELECT count(*) FROM owners WHERE node IS NOT NULL),
       (SELECT count(*) FROM owners WHERE node IS NULL),
       (SELECT count(*) FROM alarms),
       pg_total_relation_size('log'), pg_total_relation_size('snapshots') +
         pg_total_relation_size('snapshot_pieces'))sql";

}  // namespace

ClusterStatus ReadClusterStatus(PgConnection& connection) {
  ClusterStatus status;
  PgResult nodes = connection.Exec(kNodes);
  for (int r = 0; r < nodes.rows(); ++r) {
    NodeStatus node;
    node.node = nodes.Text(r, 0);
    node.addr = nodes.Text(r, 1);
    node.lease_remaining_ms = nodes.Int(r, 2);
    node.live = nodes.Bool(r, 3);
    node.draining = nodes.Bool(r, 4);
    node.objects = nodes.Int(r, 5);
    status.nodes.push_back(std::move(node));
  }
  PgResult totals = connection.Exec(kTotals);
  status.owned_objects = totals.Int(0, 0);
  status.released_objects = totals.Int(0, 1);
  status.alarms = totals.Int(0, 2);
  status.log_bytes = totals.Int(0, 3);
  status.snapshot_bytes = totals.Int(0, 4);
  return status;
}

bool RequestDrain(PgConnection& connection, const std::string& node) {
  return connection.Exec("UPDATE nodes SET draining = true WHERE node = $1", {PgParam::Text(node)})
             .affected() == 1;
}

bool DrainRequested(PgConnection& connection, const std::string& node) {
  PgResult found =
      connection.Exec("SELECT draining FROM nodes WHERE node = $1", {PgParam::Text(node)});
  return found.rows() == 1 && found.Bool(0, 0);
}

void ClearDrain(PgConnection& connection, const std::string& node) {
  connection.Exec("UPDATE nodes SET draining = false WHERE node = $1", {PgParam::Text(node)});
}

}  // namespace dorm::cluster
