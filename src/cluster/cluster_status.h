// What `dorm cluster status` shows, read from PostgreSQL, and the drain request
// (`dorm cluster drain NODE`), kept in `nodes.draining`.
//
// A drain is asked for in PostgreSQL, so any node can take the request: the named node sees it at
// its next check (cluster_housekeeping.h), stops as on SIGTERM (finishes its requests, flushes,
// releases its objects) and exits. From the moment it is asked, no node places a new object on it
// (the directory and the alarm takeover leave draining nodes out of the rendezvous pick). A node
// that registers again starts undrained.
//
// Threading: uses the caller's connection; throws PgError.
#pragma once

#include <string>
#include <vector>

#include "cluster/pg_connection.h"

namespace dorm::cluster {

struct NodeStatus {
  std::string node;
  std::string addr;
  long long lease_remaining_ms = 0;  // negative: ran out (or ended by a release) that long ago
  bool live = false;
  bool draining = false;
  long long objects = 0;  // objects `owners` names it for
  // Its flush lag as of its last renewal (CommitFlusher::Backlog): commits not yet durable, their
  // pages' bytes, how long the oldest had waited; and how long ago that was (-1: never reported).
  long long pending_commits = 0;
  long long pending_bytes = 0;
  long long oldest_pending_ms = 0;
  long long reported_ms_ago = -1;
};

struct ClusterStatus {
  std::vector<NodeStatus> nodes;   // by name
  long long owned_objects = 0;     // rows of `owners` naming any node
  long long released_objects = 0;  // rows of `owners` naming none
  long long alarms = 0;            // rows of `alarms`
  long long log_bytes = 0;         // on disk, indexes included
  long long snapshot_bytes = 0;
};

ClusterStatus ReadClusterStatus(PgConnection& connection);

// Asks `node` to drain; false if no node of that name ever registered.
bool RequestDrain(PgConnection& connection, const std::string& node);
// Whether `node` was asked to drain.
bool DrainRequested(PgConnection& connection, const std::string& node);
// Forgets an earlier request (a node that starts again is not draining).
void ClearDrain(PgConnection& connection, const std::string& node);

}  // namespace dorm::cluster
