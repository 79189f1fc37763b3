// `dorm cluster status` and `dorm cluster drain NODE`: the cluster's nodes (address, lease left,
// objects owned, draining), its totals and the answering node's unsettled commits, from the admin
// API's GET /_admin/v1/cluster; and the drain request, POST /_admin/v1/cluster/nodes/NODE/drain.
// Any node of the cluster answers for all of them.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dorm::cli {

// Prints the answer and returns the exit status (0; on failure the message goes to stderr and the
// status is 1). `positional` starts after "cluster".
int ClusterCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags);

}  // namespace dorm::cli
