// The admin API (/_admin/v1/...): deploy, list, get and delete classes. Requests are
// authenticated with the admin token (constant-time comparison) and carried out one at a time on
// the service's own worker thread, which also validates deployed modules in a scratch isolate.
// Code changes reach the objects through the runtime's EnginePool.
//
// Thread-safe: Handle() may be called from any thread; responses are delivered from the worker.
// The setters are called before the first request.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/class_catalog.h"
#include "runtime/http_message.h"

namespace dorm::runtime {
class AlarmScheduler;
class EnginePool;
class ModuleValidator;
struct RuntimeShared;
}  // namespace dorm::runtime

namespace dorm::storage {
class AlarmIndex;
}  // namespace dorm::storage

namespace dorm::cluster {
class ClusterHousekeeping;
class ClusterNode;
struct ControlChange;
struct ControlSnapshot;
struct IdempotentChange;
}  // namespace dorm::cluster

namespace dorm::control {

class ArchiveJobs;
struct ClassRecord;
class ClusterUsage;
class ControlSync;
class CredentialsStore;
class EnvStore;
class ObjectIndex;
class Registry;
struct ClassMove;
class UsageRecorder;
class UsageStore;

struct AdminOptions {
  std::string token;
  std::string data_dir;
  size_t max_classes_per_app = 5;
  size_t max_source_bytes = 5u << 20;
  // Deploys that would create an app past this many are refused (0: no limit).
  size_t max_apps = 500;
  // This node's own vars (`dorm serve --var KEY:VALUE`), put over every app's env.
  runtime::EnvVars node_vars = {};
};

class AdminService {
 public:
  // `registry` and `pool` must outlive the service; the pool reaches the objects when code
  // changes, and its limits apply to the modules deploys check.
  AdminService(AdminOptions options, Registry& registry, runtime::EnginePool& pool);
  ~AdminService();  // finishes queued requests, joins the worker

  // Deleting a class also forgets its objects' alarms.
  void set_alarm_scheduler(runtime::AlarmScheduler* scheduler, storage::AlarmIndex* index) {
    alarm_scheduler_ = scheduler;
    alarm_index_ = index;
  }
  // Enables the env var endpoints (/v1/apps/<app>/env) and gives every published app its env.
  void set_env_store(EnvStore* env_store) { env_store_ = env_store; }
  // Enables the credential endpoints (/v1/apps/<app>/auth and /v1/apps/<app>/keys).
  void set_credentials_store(CredentialsStore* credentials) { credentials_ = credentials; }
  // Enables /v1/usage and /metrics (admin_usage.cc).
  void set_usage(UsageRecorder* recorder, UsageStore* store) {
    usage_ = recorder;
    usage_store_ = store;
  }
  // Cluster mode: GET /v1/usage answers from every node's meters (cluster_usage.h); `usage` must
  // outlive the service.
  void set_cluster_usage(ClusterUsage* usage) { cluster_usage_ = usage; }

  // Enables /v1/cluster (admin_cluster.cc), in cluster mode; both must outlive the service.
  void set_cluster(cluster::ClusterNode* node, cluster::ClusterHousekeeping* housekeeping) {
    cluster_node_ = node;
    housekeeping_ = housekeeping;
  }

  // Cluster mode: the control plane is the cluster's (control_sync.h). Every change (a deploy,
  // a class deleted, env vars, credentials, service callers, transfers) is first appended to the
  // log in PostgreSQL, then applied here and answered; changes other nodes made are applied in
  // version order, by CatchUp() and before every admin request. `control` must outlive the
  // service.
  void set_control_sync(ControlSync* control) { control_ = control; }
  // Queues the application of the changes this node has not applied yet (at most one such job
  // waits at a time). Thread-safe.
  void CatchUp();
  // Applies them now, waiting for the worker. Returns false (and logs why) when the log could not
  // be read or a change not applied.
  bool CatchUpNow();

  // Enables the objects list (/v1/apps/<app>/classes/<class>/objects); `index` must outlive the
  // service.
  void set_object_index(ObjectIndex* index) { object_index_ = index; }

  // Whether an admin request whose head holds `authorization` (not the admin token) may still
  // reach Handle(): a live service key on a path of ServiceKeyApp (`url`, from "/_admin/" on),
  // which Handle() then checks against the path's app. Thread-safe; no I/O.
  bool ServiceKeyMayPass(const std::string& url, const std::string& authorization) const;

  void Handle(const std::string& path, runtime::HttpRequestData request,
              std::function<void(runtime::HttpResponseData)> respond);

 private:
  runtime::HttpResponseData Serve(const std::string& path, const runtime::HttpRequestData& request);
  runtime::HttpResponseData Deploy(const std::string& app, const std::string& body);
  runtime::HttpResponseData Delete(const std::string& app, const std::string& name);
  // The 503 (with retry-after) for a deploy to an app suspended by runtime::AppQuarantine, if it
  // is.
  std::optional<runtime::HttpResponseData> Suspended(const std::string& app) const;
  // Deletes the storage of a class whose registry record is gone (Registry::Remove) and whose
  // instances are dropped (PublishApp): alarms, usage, then the files.
  void DeleteClassStorage(const std::string& app, const std::string& storage_name);
  // Moves a transferred class's storage and alarms from the source app (whose instances of it are
  // dropped by PublishApp first) to `to_app`, then forgets the pending move
  // (ClassMoves).
  void MoveTransferredClass(const ClassMove& move);
  // Before a class's storage folder is removed or moved: closes the connections to its databases
  // that the runtime's database closer still holds (see storage::DatabaseCloser::CloseNowUnder).
  // Blocks while such a close is under way (this service's own thread only).
  void CloseRetiredDatabases(const std::string& app, const std::string& storage_name);
  // POST /v1/apps/<app>/project (admin_project.cc).
  runtime::HttpResponseData DeployProject(const std::string& app, const std::string& body);
  // /v1/apps/<app>/env[/<KEY>] (admin_env.cc); `parts` is the split path.
  runtime::HttpResponseData ServeEnv(const std::vector<std::string>& parts,
                                     const runtime::HttpRequestData& request);
  // /v1/apps/<app>/service-callers[/<caller>] (admin_service_callers.cc).
  runtime::HttpResponseData ServeServiceCallers(const std::vector<std::string>& parts,
                                                const runtime::HttpRequestData& request);
  // /v1/apps/<app>/transfers[/<Class>] (admin_transfers.cc).
  runtime::HttpResponseData ServeTransfers(const std::vector<std::string>& parts,
                                           const runtime::HttpRequestData& request);
  // /v1/apps/<app>/auth and /v1/apps/<app>/keys[/<id>] (admin_credentials.cc).
  runtime::HttpResponseData ServeCredentials(const std::vector<std::string>& parts,
                                             const runtime::HttpRequestData& request);
  // GET /v1/apps/<app>/tail (admin_tail.cc).
  runtime::HttpResponseData ServeTail(const std::vector<std::string>& parts,
                                      const runtime::HttpRequestData& request);
  // /v1/apps/<app>/classes/<class>/objects[...] (admin_objects.cc): returns false, touching
  // nothing, for any other path; otherwise `respond` gets the answer, maybe later from an
  // object's thread.
  bool ServeObjects(const std::string& path, const runtime::HttpRequestData& request,
                    const std::function<void(runtime::HttpResponseData)>& respond);
  // Export, import and backup (admin_archive.cc): nullopt for any other path.
  std::optional<runtime::HttpResponseData> ServeArchive(const std::string& path,
                                                        const runtime::HttpRequestData& request);
  runtime::HttpResponseData Export(const ClassRecord& record,
                                   const runtime::HttpRequestData& request);
  runtime::HttpResponseData Import(const ClassRecord& record,
                                   const runtime::HttpRequestData& request);
  runtime::HttpResponseData Backup(const runtime::HttpRequestData& request);
  // The app of an export or import path.
  static std::optional<std::string> ArchiveApp(const std::string& path);
  // /v1/cluster[...] (admin_cluster.cc); `parts` is the split path.
  runtime::HttpResponseData ServeCluster(const std::vector<std::string>& parts,
                                         const runtime::HttpRequestData& request);
  // The app of a path that app's service keys may call too: an export or import, the objects
  // list, and the storage browser (/v1/apps/<app>/classes/<class>/objects...). As written in the
  // path (not percent-decoded: an encoded name never equals a key's app, so it is refused).
  static std::optional<std::string> ServiceKeyApp(const std::string& path);
  // GET /v1/usage and GET /metrics (admin_usage.cc).
  runtime::HttpResponseData ServeUsage(const runtime::HttpRequestData& request);
  runtime::HttpResponseData ServeMetrics(const runtime::HttpRequestData& request);
  // GET /v1/usage/series (admin_usage.cc).
  runtime::HttpResponseData ServeUsageSeries(const runtime::HttpRequestData& request);
  void PublishApp(const std::string& app);
  void Work();

  // Cluster mode: whether a request changes the control plane (and so goes through the log).
  static bool ChangesControlPlane(const std::vector<std::string>& parts, const std::string& method);
  // Cluster mode: serves `path` through the log when it changes the control plane (true, with
  // `response` set); otherwise first applies the changes this node has not applied (false).
  bool RoutedThroughLog(const std::string& path, const runtime::HttpRequestData& request,
                        runtime::HttpResponseData* response);
  // Cluster mode: what a change does to objects' rows in PostgreSQL, which the transaction that
  // appends the change does too: deletes the objects whose keys start with `prefix` (and the
  // class's usage storage sizes), or with `to_prefix` gives them keys starting with it instead.
  struct ClusterObjects {
    std::string app, storage;  // the class whose objects these are
    std::string prefix;
    std::optional<std::string> to_prefix;
  };
  // Under the log's append lock, with every change before it applied: the objects a class delete
  // or a project deploy's migrations (deleted and transferred classes) delete or move; nothing
  // for a change that is refused. Changes nothing itself.
  std::vector<ClusterObjects> PlanClusterObjects(const std::vector<std::string>& parts,
                                                 const runtime::HttpRequestData& request);
  // Appends the request to the cluster's log (after applying what precedes it), then applies it
  // here and returns its answer.
  runtime::HttpResponseData ServeChange(const std::string& path,
                                        const runtime::HttpRequestData& request);
  // Applies every change after the applied version, in order; returns the answer of version
  // `want` if it was among them. Throws (cluster::PgError, std::runtime_error) when the log cannot
  // be read or a change cannot be opened; what was applied stays applied.
  std::optional<runtime::HttpResponseData> ApplyPending(long long want);
  runtime::HttpResponseData ApplyChange(const cluster::ControlChange& change, bool origin);
  // Replaces this node's control state with a snapshot of the log (control_snapshot.h) newer than
  // what it applied: the stores' tables, the credentials' caches, every app's published catalog,
  // the local storage of classes the snapshot does not have; then records its version as applied.
  // Throws std::runtime_error (nothing is recorded then).
  void LoadSnapshot(const cluster::ControlSnapshot& snapshot);
  // Queues Compact() on the worker. Compact(): under the log's append lock, with every change
  // applied, writes this node's control state as the snapshot at the log's end and deletes the
  // changes it holds (cluster::ControlLog::WriteSnapshot); logs and forgets a failure.
  void QueueCompaction();
  void Compact();
  // The answer to a change sent again under the idempotency key of `earlier` (found under the
  // append lock): 422 when `fingerprint` says it is another request; else the first answer (this
  // node's, remembered when it applied the change, or the one its first node stored), marked
  // `idempotent-replayed: true`; 409 (retry) when neither is known.
  runtime::HttpResponseData RepeatedAnswer(const std::string& app, const std::string& key,
                                           const std::string& fingerprint,
                                           const cluster::IdempotentChange& earlier);
  // Keeps the answer to a change applied here if it carries an Idempotency-Key (the newest
  // kRememberedAnswers).
  void RememberAnswer(const std::string& path, const runtime::HttpRequestData& request,
                      long long version, const runtime::HttpResponseData& response);
  static constexpr size_t kRememberedAnswers = 10000;

  AdminOptions options_;
  Registry& registry_;
  runtime::EnginePool& pool_;
  runtime::RuntimeShared& runtime_;  // the pool's
  runtime::AlarmScheduler* alarm_scheduler_ = nullptr;
  storage::AlarmIndex* alarm_index_ = nullptr;
  EnvStore* env_store_ = nullptr;
  CredentialsStore* credentials_ = nullptr;
  UsageRecorder* usage_ = nullptr;
  UsageStore* usage_store_ = nullptr;
  ClusterUsage* cluster_usage_ = nullptr;
  ObjectIndex* object_index_ = nullptr;
  cluster::ClusterNode* cluster_node_ = nullptr;
  cluster::ClusterHousekeeping* housekeeping_ = nullptr;
  ControlSync* control_ = nullptr;
  // While a change of the log is applied (the worker's only): quarantine does not refuse it (it
  // was accepted where it was made), and a service key is made from the change's entropy.
  bool replaying_ = false;
  // While PlanClusterObjects runs a project deploy: the deploy stops before its first effect and
  // adds the objects it would delete or move here.
  std::vector<ClusterObjects>* cluster_plan_ = nullptr;
  std::string replay_entropy_;
  // The worker's: answers to changes with an idempotency key, by app and key ("app\nkey"), with
  // their version; oldest first in idempotent_order_.
  std::map<std::string, std::pair<long long, runtime::HttpResponseData>> idempotent_answers_;
  std::deque<std::string> idempotent_order_;
  std::atomic<bool> catch_up_queued_{false};
  std::unique_ptr<runtime::ModuleValidator> validator_;  // the worker's
  // Declared before the worker, so that jobs stop (and are joined) after it.
  std::unique_ptr<ArchiveJobs> archive_jobs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace dorm::control
