// The cluster endpoints of the admin API (cluster mode only):
//   GET  /_admin/v1/cluster                     → the nodes (address, lease left, objects owned,
//        draining), totals from PostgreSQL, and this node's unsettled commits (flush lag)
//   POST /_admin/v1/cluster/nodes/<NODE>/drain  → asks NODE to hand its objects over and stop
// Any node answers for the whole cluster: both read or write PostgreSQL, on the admin worker.
#include <boost/json.hpp>

#include "cluster/cluster_housekeeping.h"
#include "cluster/cluster_node.h"
#include "control/admin_json.h"
#include "control/admin_service.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

HttpResponseData AdminService::ServeCluster(const std::vector<std::string>& parts,
                                            const HttpRequestData& request) {
  if (!cluster_node_ || !housekeeping_) {
    return ErrorResponse(404, "This server is not a cluster node (dorm serve --cluster).");
  }
  try {
    if (parts.size() == 2) {
      if (request.method != "GET") return ErrorResponse(405, "Method not allowed.");
      cluster::ClusterStatus status = housekeeping_->ReadStatus();
      json::array nodes;
      for (const cluster::NodeStatus& node : status.nodes) {
        nodes.push_back(json::object{{"node", node.node},
                                     {"addr", node.addr},
                                     {"live", node.live},
                                     {"draining", node.draining},
                                     // Live, draining and owning nothing: handed over, a
                                     // forwarder until it is stopped.
                                     {"drained", node.live && node.draining && node.objects == 0},
                                     {"lease_remaining_ms", node.lease_remaining_ms},
                                     {"objects", node.objects},
                                     {"pending_commits", node.pending_commits},
                                     {"pending_bytes", node.pending_bytes},
                                     {"oldest_pending_ms", node.oldest_pending_ms},
                                     {"reported_ms_ago", node.reported_ms_ago}});
      }
      const cluster::CommitFlusher::Backlog backlog = cluster_node_->flusher_backlog();
      json::object self{{"node", cluster_node_->node()},
                        {"serving", cluster_node_->serving()},
                        {"pending_commits", static_cast<int64_t>(backlog.rows)},
                        {"pending_bytes", static_cast<int64_t>(backlog.bytes)},
                        {"oldest_pending_ms", backlog.oldest_ms}};
      return JsonResponse(200, json::object{{"self", std::move(self)},
                                            {"nodes", std::move(nodes)},
                                            {"owned_objects", status.owned_objects},
                                            {"released_objects", status.released_objects},
                                            {"alarms", status.alarms},
                                            {"log_bytes", status.log_bytes},
                                            {"snapshot_bytes", status.snapshot_bytes}});
    }
    if (parts.size() == 5 && parts[2] == "nodes" && parts[4] == "drain") {
      if (request.method != "POST") return ErrorResponse(405, "Method not allowed.");
      const std::string& node = parts[3];
      if (!housekeeping_->RequestDrain(node)) {
        return ErrorResponse(404, "No node named '" + node + "' in the cluster.");
      }
      return JsonResponse(202, json::object{{"node", node}, {"draining", true}});
    }
  } catch (const cluster::PgError& e) {
    return ErrorResponse(503, std::string("The cluster's PostgreSQL cannot be read: ") + e.what());
  }
  return ErrorResponse(404, "Unknown admin endpoint.");
}

}  // namespace dorm::control
