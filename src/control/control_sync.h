// Cluster mode: this node's side of the control plane's log (cluster/control_log.h). PostgreSQL
// is the system of record for deployed classes, env vars, credentials, service callers and
// transfers; this node's registry, env and credential databases are a cache of it, brought up to
// date by applying the log's changes in version order (the admin service applies them:
// admin_service.h). This class keeps what that needs: the version applied so far (durably, in
// DATA/control-version), the sealing of changes under the secrets key, and a thread that says
// when this node is behind: woken by each append (LISTEN), and asking for the log's end at least
// every 0.25 s (a notification is lost with its connection).
//
// Every node of a cluster must have the same secrets key (DATA/secrets.key): a change is sealed
// with it (AES-256-GCM) before it goes to PostgreSQL, so the database alone discloses no env value
// or key, and every node must open what any node sealed. Start() refuses a node whose key is not
// the cluster's.
//
// Threading: log(), applied() and SetApplied() belong to the admin service's worker thread;
// Seal/Open are thread-safe; Start/Stop from the main thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cluster/control_log.h"

namespace dorm::control {

class ControlSync {
 public:
  // `snapshot_every`: a node that appended a change writes a snapshot of the control state
  // (compacting the log) once that many changes follow the latest snapshot.
  static constexpr long long kDefaultSnapshotEvery = 256;
  ControlSync(std::string conninfo, std::string node, std::string data_dir, std::string secrets_key,
              long long snapshot_every = kDefaultSnapshotEvery);
  ~ControlSync();  // Stop()
  ControlSync(const ControlSync&) = delete;
  ControlSync& operator=(const ControlSync&) = delete;

  // Checks this node's secrets key against the cluster's (throws std::runtime_error naming the
  // key file when they differ, cluster::PgError when PostgreSQL cannot tell), then starts polling:
  // `behind` runs on the polling thread whenever the log holds a version past applied(), or
  // `wanted` (when given) returns true. Neither may block.
  void Start(std::function<void()> behind, std::function<bool()> wanted = {});
  void Stop();

  const std::string& node() const { return node_; }
  cluster::ControlLog& log() { return *log_; }
  long long applied() const { return applied_.load(); }
  // Records that every change up to `version` is applied here (written to DATA/control-version
  // before it returns). Throws std::runtime_error when the file cannot be written.
  void SetApplied(long long version);

  long long snapshot_every() const { return snapshot_every_; }

  std::string Seal(const std::string& change) const;
  // nullopt when `sealed` was not made with this node's key (or was altered).
  std::optional<std::string> Open(const std::string& sealed) const;
  // The same for a snapshot of the control state (control_snapshot.h): a sealed change never
  // opens as a snapshot, nor the reverse.
  std::string SealSnapshot(const std::string& snapshot) const;
  std::optional<std::string> OpenSnapshot(const std::string& sealed) const;
  // The same for the answer to a change made under an idempotency key.
  std::string SealAnswer(const std::string& answer) const;
  std::optional<std::string> OpenAnswer(const std::string& sealed) const;
  // An HMAC of `request` under the secrets key: what the log keeps to tell a request sent again
  // from another one under the same idempotency key, without disclosing a low-entropy body.
  std::string Fingerprint(const std::string& request) const;

 private:
  void Poll();

  std::string conninfo_;
  std::string node_;
  std::string version_path_;
  std::string secrets_key_;
  long long snapshot_every_;
  std::unique_ptr<cluster::ControlLog> log_;
  std::atomic<long long> applied_{0};
  std::function<void()> behind_;
  std::function<bool()> wanted_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dorm::control
