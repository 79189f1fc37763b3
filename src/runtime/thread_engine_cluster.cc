// ThreadEngine in cluster mode (`dorm serve --cluster`): an object is served only once this node
// owns it (taken and restored on the cluster's activation pool, its events waiting meanwhile),
// its commits are captured from the write-ahead log and made durable in PostgreSQL's log instead
// of by fsync (or, past the capture's limit, as a snapshot of the whole database), and a commit
// that PostgreSQL refuses (another node took the object) or that cannot be made durable resets the
// object with a retryable error. Nothing here runs on the embedded default: every entry point is
// behind `shared_.cluster`.
#include <sqlite3.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <filesystem>

#include "cluster/database_image.h"
#include "cluster/wal_capture_vfs.h"
#include "runtime/object_id.h"
#include "runtime/thread_engine.h"
#include "util/log.h"

namespace dorm::runtime {
namespace {

// The answer to an event this node cannot serve now: retryable, like a reset's.
HttpResponseData ClusterRefusal(const std::string& message) {
  return HttpResponseData::RetryableError(503, message);
}

// The row size OnClusterFlushed gets for a commit shipped whole (a snapshot).
constexpr long long kShippedWhole = -1;

}  // namespace

bool ThreadEngine::ClusterAdmit(const ObjectAddress& address, ObjectEvent& event) {
  // Stateless (the default entrypoint and named ones): no storage to own.
  if (IsWorkerEntrypoint(address.class_name)) return true;
  cluster::ClusterNode& node = *shared_.cluster;
  // Draining: no new event for any object, even one held here, so that the events under way
  // finish and the objects can be handed over; the caller retries (through another node, or
  // here once the object is released and this node forwards it).
  if (node.draining()) {
    FailEvent(event, ClusterRefusal(kClusterUnavailableMessage));
    return false;
  }
  ObjectAddress complete = address;
  CompleteAddress(complete);
  const std::string key = ObjectKey(complete);
  auto held = cluster_objects_.find(key);
  const bool serving = node.serving();
  if (held != cluster_objects_.end() && serving && held->second.generation == node.generation()) {
    return true;
  }
  // Not serving: the lease is not live. Not current: the lease is new and the control plane's
  // log not yet applied (ClusterNode::control_current), so this node's code may be stale.
  if (!serving || !node.control_current()) {
    FailEvent(event, ClusterRefusal(kClusterUnavailableMessage));
    return false;
  }
  // Not held, or held under a lease generation that is over: its instance (if any) must go
  // before the activation rewrites its database file.
  if (ObjectInstance* stale = FindByKey(key)) BreakInstance(stale, ResetReason::kOwnershipLost);
  cluster_objects_.erase(key);
  auto [waiting, first] = activating_.try_emplace(key);
  waiting->second.push_back(std::move(event));
  if (!first) return false;
  node.Activate(key, ObjectDatabasePath(shared_.options.data_dir, complete),
                [this, key, complete](cluster::Activation result) {
                  boost::asio::post(io_, [this, key, complete, result = std::move(result)] {
                    OnActivated(key, complete, result);
                  });
                });
  return false;
}

void ThreadEngine::OnActivated(const std::string& key, const ObjectAddress& address,
                               const cluster::Activation& result) {
  std::vector<ObjectEvent> waiting;
  if (auto it = activating_.find(key); it != activating_.end()) {
    waiting = std::move(it->second);
    activating_.erase(it);
  }
  cluster::ClusterNode& node = *shared_.cluster;
  if (result.status == cluster::Activation::Status::kReady && node.serving() &&
      result.generation == node.generation()) {
    cluster_objects_[key] =
        ClusterObject{result.epoch, result.seq, result.chain, result.generation, result.tail_bytes};
    // The app's quota counts database files when it first measures them and commits after:
    // a file the restore rewrote counts now (an app not measured yet counts it when it is).
    if (shared_.storage_quota) shared_.storage_quota->Add(address.app, result.restored_bytes);
    for (auto& event : waiting) DispatchEvent(address, std::move(event));
    ClusterAdoptAlarm(key, result.alarm_retries);
  } else {
    const bool elsewhere = result.status == cluster::Activation::Status::kOwnedElsewhere;
    for (auto& event : waiting) {
      HttpResponseData answer =
          ClusterRefusal(elsewhere ? kOwnedElsewhereMessage : kClusterUnavailableMessage);
      answer.owned_elsewhere = elsewhere;
      answer.owner_node = result.owner;
      FailEvent(event, std::move(answer));
    }
  }
  ReleasePlacementIfGone(key);
}

bool ThreadEngine::ClusterHolds(const ObjectAddress& address) const {
  ObjectAddress complete = address;
  CompleteAddress(complete);
  auto held = cluster_objects_.find(ObjectKey(complete));
  return held != cluster_objects_.end() && shared_.cluster->serving() &&
         held->second.generation == shared_.cluster->generation();
}

storage::OpenSettings ThreadEngine::ClusterOpenSettings(ObjectInstance* instance) {
  storage::OpenSettings settings;
  settings.vfs = cluster::kWalCaptureVfs;
  // The instance owns the database, so it outlives the callback.
  settings.on_connection = [instance](sqlite3* db) {
    bool set = cluster::SetCommitCallback(db, [instance](const cluster::CapturedCommit& commit) {
      instance->captured.push_back(commit);
    });
    if (!set) throw storage::StorageError("the WAL capture is not in place", SQLITE_ERROR);
  };
  return settings;
}

void ThreadEngine::ClusterFlush(ObjectInstance* instance) {
  const uint64_t slot = instance->slot;
  const uint64_t seq = instance->output.commit_seq();
  ++syncs_in_flight_;
  auto complete = [this, slot, seq](cluster::CommitFlusher::Outcome outcome, long long log_seq,
                                    std::string chain, long long row_bytes = 0) {
    boost::asio::post(
        io_, [this, slot, seq, outcome, log_seq, chain = std::move(chain), row_bytes] {
          OnClusterFlushed(slot, seq, static_cast<int>(outcome), log_seq, chain, row_bytes);
        });
  };
  auto held = cluster_objects_.find(ObjectKey(instance->address));
  if (held == cluster_objects_.end()) {
    complete(cluster::CommitFlusher::Outcome::kFenced, 0, std::string());
    return;
  }
  if (instance->captured.empty()) {
    // Nothing reached the log (a transaction that changed no page, so not the alarm either):
    // nothing to wait for.
    instance->captured_alarm.reset();
    complete(cluster::CommitFlusher::Outcome::kDurable, 0, std::string());
    return;
  }
  cluster::LogRow row;
  if (instance->captured_alarm) {
    row.alarm =
        *instance->captured_alarm ? cluster::LogRow::Alarm::kSet : cluster::LogRow::Alarm::kDeleted;
    row.alarm_ms = instance->captured_alarm->value_or(0);
    row.alarm_name = instance->address.instance_name;
    instance->captured_alarm.reset();
  }
  row.object = held->first;
  row.seq = held->second.seq + 1;
  row.epoch = held->second.epoch;
  const bool whole = std::any_of(instance->captured.begin(), instance->captured.end(),
                                 [](const cluster::CapturedCommit& c) { return c.overflow; });
  if (whole) {
    // A transaction larger than the capture keeps: the database as of the last commit (every
    // commit since the previous flush is in it) goes whole, as a snapshot at this row's seq.
    // Copied now, before the object writes again; built and sent on the cluster's pool.
    instance->captured.clear();
    const std::string image = instance->db_path + ".whole";
    std::optional<uint32_t> frames;
    if (instance->db) frames = cluster::CommittedWalFrames(instance->db->handle());
    try {
      if (!frames) throw std::runtime_error("its database is not open through the capture");
      cluster::CopyDatabaseFiles(instance->db_path, *frames, image);
    } catch (const std::exception& e) {
      Log(LogLevel::kError, LogTag(instance->address) + " cannot copy its database: " + e.what());
      complete(cluster::CommitFlusher::Outcome::kFailed, 0, std::string());
      return;
    }
    row.checksum = held->second.chain;  // the link the snapshot's chain value extends
    const long long log_seq = row.seq;
    shared_.cluster->ShipWhole(
        std::move(row), image,
        [complete, log_seq](cluster::CommitFlusher::Outcome outcome, std::string chain) {
          complete(outcome, log_seq, std::move(chain), kShippedWhole);
        });
    return;
  }
  try {
    cluster::CapturedCommit merged = cluster::MergeCommits(instance->captured);
    row.frames = cluster::EncodeCommit(merged);
    row.db_size = merged.db_size;
  } catch (const std::exception& e) {
    Log(LogLevel::kError, LogTag(instance->address) + " cannot ship its commits: " + e.what());
    instance->captured.clear();
    complete(cluster::CommitFlusher::Outcome::kFailed, 0, std::string());
    return;
  }
  instance->captured.clear();
  row.checksum = cluster::ChainChecksum(held->second.chain, row.frames);
  const long long log_seq = row.seq;
  const long long row_bytes = static_cast<long long>(row.frames.size());
  std::string chain = row.checksum;
  bool queued = shared_.cluster->Submit(
      std::move(row),
      [complete, log_seq, chain, row_bytes](cluster::CommitFlusher::Outcome outcome) {
        complete(outcome, log_seq, chain, row_bytes);
      });
  if (!queued) complete(cluster::CommitFlusher::Outcome::kFailed, 0, std::string());
}

void ThreadEngine::OnClusterFlushed(uint64_t slot, uint64_t seq, int outcome, long long log_seq,
                                    const std::string& chain, long long row_bytes) {
  --syncs_in_flight_;
  ObjectInstance* instance = FindBySlot(slot);
  if (!instance) return;  // reset meanwhile: its ownership was forgotten with it
  const auto result = static_cast<cluster::CommitFlusher::Outcome>(outcome);
  if (result == cluster::CommitFlusher::Outcome::kDurable) {
    if (log_seq > 0) {
      auto held = cluster_objects_.find(ObjectKey(instance->address));
      if (held != cluster_objects_.end()) {
        held->second.seq = log_seq;
        held->second.chain = chain;
        // A commit shipped whole is the latest snapshot: no log after it.
        held->second.tail_bytes =
            row_bytes == kShippedWhole ? 0 : held->second.tail_bytes + row_bytes;
        if (held->second.tail_bytes > cluster::ClusterNode::kSnapshotEveryBytes) {
          // Built from the log on the cluster's thread; the live database is not touched.
          held->second.tail_bytes = 0;
          shared_.cluster->Compact(held->first, held->second.epoch,
                                   instance->db_path + ".snapshot");
        }
      }
    }
    if (instance->output.FlushSucceeded(seq)) RequestFlush(instance);
    ReleaseGated(instance);
    return;
  }
  instance->output.FlushFailed();
  const bool fenced = result == cluster::CommitFlusher::Outcome::kFenced;
  Log(LogLevel::kWarn,
      LogTag(instance->address) + (fenced ? " fenced: another node owns it now"
                                          : " commit not made durable in the cluster"));
  BreakInstance(instance, fenced ? ResetReason::kOwnershipLost : ResetReason::kClusterWriteFailed);
}

void ThreadEngine::ForgetClusterObject(ObjectInstance* instance, ResetReason reason) {
  const std::string key = ObjectKey(instance->address);
  auto held = cluster_objects_.find(key);
  if (held == cluster_objects_.end()) return;
  // The local file equals the log when every commit is durable and no failure touched it (an
  // open transaction is rolled back by the reset). Such a copy is kept as a hint: the next
  // activation here takes the object anew but skips the restore if the log has not moved.
  const bool clean = !instance->output.flush_in_flight() &&
                     instance->output.durable_seq() == instance->output.commit_seq() &&
                     instance->captured.empty() && reason != ResetReason::kOwnershipLost &&
                     reason != ResetReason::kClusterWriteFailed &&
                     reason != ResetReason::kStorageFailure && reason != ResetReason::kStorageError;
  if (clean) {
    shared_.cluster->KeepLocalCopy(
        key, cluster::LocalCopy{held->second.seq, held->second.chain, held->second.tail_bytes});
  }
  cluster_objects_.erase(held);
}

void ThreadEngine::HandOverClusterObjects() {
  // Sockets first: a live instance's would otherwise be closed with its reset's 1001.
  CloseSockets([](const std::string&) { return true; }, 1012, kShutdownMessage);
  DropClusterObjects();
}

void ThreadEngine::DropClusterObjects() {
  std::vector<ObjectInstance*> victims;
  for (auto& [key, instance] : objects_) {
    if (!IsWorkerEntrypoint(instance->address.class_name)) victims.push_back(instance.get());
  }
  for (ObjectInstance* instance : victims) BreakInstance(instance, ResetReason::kOwnershipLost);
  cluster_objects_.clear();
}

}  // namespace dorm::runtime
