// This process as a node of a cluster (`dorm serve --cluster URL --node NAME --advertise URL`):
// the schema, the node's lease, the group-commit flusher, and the activation of objects (taking
// ownership and restoring the local database from the log).
//
// Activations run on a small pool of threads of their own (kActivationThreads), each with its
// own PostgreSQL connection, so that no event-loop thread ever waits for PostgreSQL: Activate()
// queues, and the result is handed to `done` on the pool thread (which posts it back to the
// object's loop). Jobs of different objects run side by side, so restoring a large object does
// not hold up a small one; jobs of one object (an activation, a snapshot, an overflowed commit
// shipped whole) run one at a time, in the order they were queued.
//
// Lifetime: Start() before the event loops run; Register() once the node can serve (it has
// applied the control plane's log and listens); Stop() after the loops have stopped producing
// commits (everything queued then fails) and before the loops' io_contexts are destroyed, since
// completions are posted to them.
//
// Threading: every method may be called from any thread. Start() and Register() throw PgError
// or std::runtime_error.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster/cluster_directory.h"
#include "cluster/commit_flusher.h"
#include "cluster/node_lease.h"
#include "cluster/pg_session.h"

namespace dorm::cluster {

struct ClusterNodeOptions {
  std::string conninfo;
  std::string node;       // this node's name
  std::string advertise;  // where other nodes reach it
  // The largest database a restore may build (the object storage limit).
  long long max_object_bytes = 10240LL << 20;
  // Runs on the lease's thread when the lease is lost: the node must stop serving its objects.
  std::function<void()> on_lost;
};

// What this node's local database of an object held when its instance went, if it was then
// exactly the log up to `seq`.
struct LocalCopy {
  long long seq = 0;
  std::string chain;
  long long tail_bytes = 0;  // the log's bytes after the latest snapshot, as last known
};

// What activating an object found.
struct Activation {
  enum class Status {
    kReady,           // this node owns the object at `epoch`; the local file holds the log
    kOwnedElsewhere,  // another node holds it with a live lease
    kFailed,          // PostgreSQL unreachable or the restore failed (`error`); retry later
  };
  Status status = Status::kFailed;
  long long epoch = 0;
  long long seq = 0;         // the log's last row (the next commit is seq + 1)
  std::string chain;         // that row's checksum
  long long tail_bytes = 0;  // the log's bytes after the latest snapshot
  int generation = 0;        // the lease generation the ownership belongs to
  std::string owner;         // kOwnedElsewhere: the owner's name
  std::string error;         // kFailed
  int alarm_retries = 0;     // kReady: the retries its alarm has had (`alarms`), if it has one
  // kReady: how many bytes the restore added to the database file (negative: removed), which
  // the app's storage quota has not seen (it counts commits, and files when it first measures).
  long long restored_bytes = 0;
};

class ClusterNode {
 public:
  explicit ClusterNode(ClusterNodeOptions options);
  // Stop(false).
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Migrates the schema and starts the flusher, the directory and the activation threads. The
  // node is not live yet: no node places an object on it, and it activates none (serving() is
  // false) until Register().
  void Start();
  // Takes the node's lease (generation 1; NodeLease::Start: waits while another process holds
  // the name), which makes the node live: other nodes place objects on it from their next
  // refresh. Called once the node can serve what is placed on it, as a lost lease is registered
  // again only then: the control plane's log applied (ControlCaughtUp(1)) and the server
  // listening. Once, after Start().
  void Register();
  // Stops activating (queued activations fail), stops the flusher (its queue fails), then the
  // lease; with `release`, the node's objects are released for others to take at once.
  void Stop(bool release);

  // Whether the node may serve objects now (its lease is live), and the lease's generation: an
  // ownership taken under an earlier generation is void.
  bool serving() const { return lease_ && lease_->valid(); }
  int generation() const { return lease_ ? lease_->generation() : 0; }
  const std::string& node() const { return options_.node; }

  // The control plane's gate (enabled in `dorm serve --cluster`): under each lease generation,
  // objects are activated only once the node has applied the cluster's control-plane log up to
  // its end as read once the previous generation had ended (ControlCaughtUp), so that a node that
  // lost its lease (paused, or cut from PostgreSQL) never serves an object with code the cluster
  // has replaced meanwhile. Until then control_current() is false and the runtime answers a
  // retryable 503. A lost lease is registered again only once the log was so applied
  // (NodeLeaseOptions::may_register), and the first one (Register()) too: the node is not among
  // the live nodes, and no other node places an object on it, before it may activate objects.
  void EnableControlGate() { control_gate_ = true; }
  // The log was applied to its end, read while `generation` was serving_generation(); a lease
  // waiting to register under it goes on at once.
  void ControlCaughtUp(int generation);
  bool control_current() const {
    return !control_gate_ || control_generation_ == serving_generation();
  }
  // The lease generation the node serves under next: generation() while its lease is held, the
  // next one while it is lost (NodeLease::next_generation). Read it before reading the log.
  int serving_generation() const { return lease_ ? lease_->next_generation() : 0; }

  // Takes `object` for this node and rebuilds its database file at `db_path` from the log, unless
  // a copy kept with KeepLocalCopy says the file is the log up to a row that is still the log's
  // last (same seq and checksum): then the file is used as it is. Every activation uses up the
  // kept copy of its object, whatever it finds. `done` runs once, on a pool thread (or at once,
  // failed, when stopping); it must not block.
  void Activate(std::string object, std::string db_path, std::function<void(Activation)> done);
  // The local file of `object` is exactly the log up to `copy` (its instance went with every
  // commit durable and nothing else pending). Process-wide, so that an activation on any thread
  // uses it up: a copy later changed by another instance is never trusted again. At most
  // kMaxLocalCopies are kept (they are only hints: the oldest are dropped first).
  void KeepLocalCopy(const std::string& object, LocalCopy copy);
  static constexpr size_t kMaxLocalCopies = 100000;

  // The log of an object passes this many bytes after its latest snapshot: time for a new one.
  static constexpr long long kSnapshotEveryBytes = 4LL << 20;

  // Queues the replacement of `object`'s log by a snapshot (CompactLog), on the pool, if this node
  // still owns it at `epoch`; `scratch_path` is a file the rebuild may use. Failures are logged:
  // the log then simply stays longer.
  void Compact(std::string object, long long epoch, std::string scratch_path);

  // The drain that keeps the process running as a forwarder (`dorm cluster drain NODE`):
  // BeginDrain() makes every later activation fail (the node takes no object any more; those
  // already running finish first, so that once it returns no activation is under way), and
  // ReleaseAllObjects(), once the node's instances are gone and their commits settled, releases
  // every object `owners` names this node for, so that others take them at once. The lease goes
  // on: the node stays live, and forwards what it receives to the owners. Both block on
  // PostgreSQL or the pool; ReleaseAllObjects() throws PgError and returns how many it released.
  void BeginDrain();
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  long long ReleaseAllObjects();

  // Where the cluster serves each object (for forwarding requests); valid after Start().
  ClusterDirectory& directory() { return *directory_; }
  // The key that signs requests forwarded between nodes (cluster/forward_auth.h), read (or made,
  // by the first node) in Start().
  const std::string& forward_secret() const { return forward_secret_; }

  // The flusher's unsettled commits (for `dorm cluster status`); valid after Start().
  CommitFlusher::Backlog flusher_backlog() const { return flusher_->backlog(); }

  // Queues a commit (CommitFlusher::Submit).
  bool Submit(LogRow row, CommitFlusher::Done done) {
    return flusher_->Submit(std::move(row), std::move(done));
  }

  // Queues an overflowed commit, shipped whole as a snapshot (commit_snapshot.h): `row` names it
  // (its checksum is the chain value before it), `image_path` holds the database's copy
  // (CopyDatabaseFiles, database_image.h), which is built, sent and then removed on the pool.
  // `done` runs once, on the pool thread (or at once, failed, when stopping), with the outcome
  // and, when durable, the chain value after the commit; it must not block.
  using Shipped = std::function<void(CommitFlusher::Outcome, std::string chain)>;
  void ShipWhole(LogRow row, std::string image_path, Shipped done);

  static constexpr int kActivationThreads = 4;

 private:
  struct Job {
    enum class Kind { kActivate, kCompact, kShip };
    Kind kind = Kind::kActivate;
    std::string object;
    std::string db_path;  // the object's file; a compaction's scratch file; a ship's image
    std::function<void(Activation)> done;  // an activation's
    long long epoch = 0;                   // a compaction's
    LogRow row;                            // a ship's
    Shipped shipped;                       // a ship's
  };
  void RunJobs(PgSession* session);
  // Fails (or drops) a job that will not run.
  static void Abandon(Job& job);
  void Queue(Job job);
  Activation ActivateNow(PgSession& session, const Job& job);
  // One attempt of ActivateNow on `session`'s connection, filling and returning `result`.
  // Throws PgError (a lost connection: the caller may try again) or std::exception.
  Activation ActivateOnce(PgSession& session, const Job& job, const std::optional<LocalCopy>& local,
                          Activation result);
  void CompactNow(PgSession& session, const Job& job);
  void ShipNow(PgSession& session, Job& job);

  ClusterNodeOptions options_;
  std::unique_ptr<NodeLease> lease_;
  // flusher_ once it exists, for the lease's thread (which starts before it), whose renewals
  // report its backlog; the flusher outlives the lease's thread (Stop()).
  std::atomic<CommitFlusher*> flusher_for_lease_{nullptr};
  std::unique_ptr<CommitFlusher> flusher_;
  std::unique_ptr<ClusterDirectory> directory_;
  std::string forward_secret_;
  std::atomic<bool> control_gate_{false};
  std::atomic<int> control_generation_{-1};
  std::vector<std::unique_ptr<PgSession>> sessions_;  // one per pool thread
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::unordered_set<std::string> busy_;  // objects a pool thread is working on; mutex_
  std::unordered_map<std::string, LocalCopy> local_copies_;  // guarded by mutex_
  std::deque<std::string> local_copy_order_;                 // oldest first; may hold stale keys
  bool stopping_ = false;
  std::atomic<bool> draining_{false};  // set under mutex_
  int activating_ = 0;                 // activation jobs running; mutex_
  std::condition_variable idle_;       // activating_ dropped to 0
  std::vector<std::thread> threads_;
};

}  // namespace dorm::cluster
