// The node's periodic cluster work that no request drives, on one thread of its own with its own
// PostgreSQL connection (never an event loop): every `every`, the alarms of objects whose owner is
// gone that this node should fire (cluster_alarms.h), and whether this node was asked to drain
// (cluster_status.h). Also answers the admin API's status and drain requests, on the caller's
// thread with a connection of their own.
//
// Lifetime: Start() after the node's lease is taken; Stop() before the callbacks' targets go.
// Threading: every method may be called from any thread; the callbacks run on the housekeeping
// thread and must not block. ReadStatus() and RequestDrain() block their caller for at most a
// statement timeout and throw PgError.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_alarms.h"
#include "cluster/cluster_status.h"
#include "cluster/pg_session.h"

namespace dorm::cluster {

struct ClusterHousekeepingOptions {
  std::string conninfo;
  std::string node;
  std::chrono::milliseconds every{500};
  // Orphaned alarms due within this long are handed over ahead of time, so that they fire on
  // time rather than up to one period late.
  long long lookahead_ms = 1000;
  int max_alarms_per_sweep = 1000;
  // The orphaned alarms this node should fire (object key and time); called every sweep for as
  // long as the object stays orphaned, so it must ignore what it already has.
  std::function<void(const std::vector<OrphanedAlarm>&)> on_alarms;
  // This node was asked to drain; called once.
  std::function<void()> on_drain;
};

class ClusterHousekeeping {
 public:
  explicit ClusterHousekeeping(ClusterHousekeepingOptions options);
  ~ClusterHousekeeping();  // Stop()
  ClusterHousekeeping(const ClusterHousekeeping&) = delete;
  ClusterHousekeeping& operator=(const ClusterHousekeeping&) = delete;

  // Forgets an earlier drain request for this node (it is starting anew), then starts the thread.
  void Start();
  void Stop();

  ClusterStatus ReadStatus();
  bool RequestDrain(const std::string& node);
  // Marks this node draining (it is stopping: SIGTERM), so that others place nothing new on it.
  // Best-effort: errors are logged.
  void MarkDraining();
  // Queues NoteAlarmRetry (cluster_alarms.h) for the thread, which writes what is queued at once.
  // Best-effort: past kMaxRetryNotes queued, or if PostgreSQL refuses, a note is dropped (a node
  // that takes the object then counts the alarm's retries from an earlier value). Never blocks
  // on PostgreSQL.
  void NoteAlarmRetry(std::string object, long long at_ms, int retries);
  static constexpr size_t kMaxRetryNotes = 10000;

 private:
  void Run();

  ClusterHousekeepingOptions options_;
  PgSession session_;  // the thread's
  std::mutex admin_mutex_;
  PgSession admin_session_;  // guarded by admin_mutex_
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  struct RetryNote {
    std::string object;
    long long at_ms;
    int retries;
  };
  std::vector<RetryNote> retry_notes_;  // guarded by mutex_
  bool drain_reported_ = false;         // the thread's
  std::thread thread_;
};

}  // namespace dorm::cluster
