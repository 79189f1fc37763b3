// `dorm serve`: the whole server in one process, on the embedded default (everything under the
// data folder, no other service needed).
#pragma once

#include <string>

#include "control/usage_store.h"
#include "net/http_server.h"
#include "runtime/class_catalog.h"
#include "runtime/options.h"

namespace dorm::control {

struct ServeOptions {
  net::HttpServerOptions http;
  // Event-loop threads, each with its runtime engine; 0: one per core.
  int threads = 0;
  runtime::RuntimeOptions runtime;
  size_t max_classes_per_app = 5;
  // At most this many apps (0: no limit); see AdminOptions.
  size_t max_apps = 500;
  // When the usage meters' minute rows become hour rows, and hour rows day rows.
  UsageRetention usage_retention;
  // Cluster mode (`--cluster URL --node NAME --advertise URL`): objects are owned through the
  // PostgreSQL database at `cluster` and every acknowledged write is in its log. Empty: the
  // embedded default, which never connects to PostgreSQL.
  std::string cluster;
  std::string node;
  std::string advertise;
  // Cluster mode: a call to an object on another node fails (retryably) after this long without
  // a sign of life from that node; this node tells callers it is alive every third of it.
  std::chrono::milliseconds peer_timeout{30000};
  // Cluster mode: the control plane's log is compacted into a snapshot every this many changes
  // (ControlSync).
  long long control_snapshot_every = 256;
  // `--var KEY:VALUE`: this server's own vars, put over every app's env (AdminOptions::node_vars).
  runtime::EnvVars node_vars;
};

// Runs until SIGTERM or SIGINT, then shuts down gracefully. Returns the process exit status.
int Serve(const ServeOptions& options, const char* argv0);

// Reads (or on first start creates, mode 0600) the admin token kept in the data folder.
std::string LoadOrCreateAdminToken(const std::string& data_dir);

}  // namespace dorm::control
