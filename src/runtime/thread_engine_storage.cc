// ThreadEngine's storage half: opening object databases (under the open-connection limit),
// committing each turn's writes, flushing commits in batches (group commit across this thread's
// objects), and releasing what each object's output gate held once its commits are durable.
#include <boost/asio/post.hpp>

#include "runtime/alarm_scheduler.h"
#include "runtime/thread_engine.h"
#include "util/log.h"

namespace dorm::runtime {

storage::ObjectDatabase* ThreadEngine::Database(ObjectInstance* instance, bool create) {
  const auto now = std::chrono::steady_clock::now();
  if (instance->db) {
    // A connection with files parked is taken back into the list of those holding both; its files
    // open again at their first use in this turn (storage/parkable_vfs.h), so it counts as
    // holding them from now on.
    const bool holds_both = open_databases_.Holds(instance);
    open_databases_.Touch(instance, now);
    if (!holds_both) LimitOpenDatabases(instance);
    return instance->db.get();
  }
  if (instance->db_absent && !create) return nullptr;
  // A connection to it that RetireDatabase handed over (on any thread) may still be waiting for
  // the closer: it is taken back as it is.
  if (shared_.database_closer) {
    instance->db = shared_.database_closer->Reclaim(instance->db_path);
  }
  if (instance->db) {
    // Reclaimed: as if it had never been closed.
  } else if (shared_.cluster) {
    instance->db =
        storage::ObjectDatabase::Open(instance->db_path, create, shared_.storage_quota,
                                      instance->address.app, ClusterOpenSettings(instance));
  } else {
    instance->db = storage::ObjectDatabase::Open(instance->db_path, create, shared_.storage_quota,
                                                 instance->address.app);
  }
  if (!instance->db) {
    instance->db_absent = true;
    return nullptr;
  }
  instance->db_absent = false;
  ++instance->database_opens;
  if (instance->db->image_pending()) QueueImageSync(instance);
  open_databases_.Touch(instance, now);
  if (!unconfirmed_paths_.empty() && unconfirmed_paths_.count(instance->db_path) != 0) {
    // A previous instance's flush failed: what the WAL holds is not known to be durable. Count it
    // as one more commit and flush it before any output of this instance is released.
    instance->output.Committed();
    RequestFlush(instance);
  }
  LimitOpenDatabases(instance);
  return instance->db.get();
}

namespace {

// The coldest connection of `list` that pressure may park or close (none held by a transaction
// or cursor, and not `keep`), or nullptr.
ObjectInstance* ColdestClosable(const OpenDatabaseList& list, const ObjectInstance* keep) {
  ObjectInstance* coldest = nullptr;
  list.ForEachColdestFirst([&](ObjectInstance* candidate) {
    // A connection whose image is pending stays (see ObjectDatabase::image_pending): for a few
    // milliseconds, until the flush pool synced it.
    if (candidate != keep &&
        EvictionPolicy::CanCloseUnderPressure(ConnectionActivity{
            {},
            candidate->db->in_transaction() || candidate->txn_depth > 0 ||
                candidate->db->has_clients() || candidate->db->image_pending()})) {
      coldest = candidate;
      return false;
    }
    return true;
  });
  return coldest;
}

}  // namespace

void ThreadEngine::LimitOpenDatabases(ObjectInstance* keep) {
  const size_t max_parked = shared_.options.max_parked_databases_per_thread;
  const size_t max_descriptors = 2 * shared_.options.max_open_databases_per_thread;
  while (2 * open_databases_.size() + log_only_databases_.size() > max_descriptors) {
    // A kept connection's next use costs an open of each file it parked: a small object's
    // increment needs only its log (its pages are cached), so database files go first and a
    // thread keeps up to twice as many logs open as connections holding both. The flush threads
    // open the logs by path (SyncTarget) and the closer owns the connections handed to it, so
    // neither uses the descriptors closed here.
    if (max_parked > 0) {
      ObjectInstance* warm = ColdestClosable(open_databases_, keep);
      if (warm && warm->db->ParkDatabaseFile()) {
        // Keeps its time of last use: idle connections close from every list.
        log_only_databases_.Touch(warm, warm->last_storage_use);
        continue;
      }
    }
    // Parking a whole connection costs its next use two opens of its files instead of a whole
    // open of the database (schema read, statements compiled again).
    ObjectInstance* coldest = ColdestClosable(log_only_databases_, keep);
    if (!coldest) coldest = ColdestClosable(open_databases_, keep);
    if (!coldest) break;
    if (max_parked > 0 && coldest->db->Park()) {
      if (parked_databases_.size() >= max_parked) RetireDatabase(parked_databases_.Coldest());
      parked_databases_.Touch(coldest, coldest->last_storage_use);
    } else {
      RetireDatabase(coldest);
    }
  }
}

void ThreadEngine::CloseDatabase(ObjectInstance* instance) {
  if (instance->db && instance->usage && instance->usage->storage_stale) {
    // The size is known cheaply only while the connection is open.
    instance->usage->storage_bytes = instance->db->SizeBytes();
    instance->usage->storage_stale = false;
  }
  if (instance->database_list) instance->database_list->Remove(instance);
  instance->db.reset();
}

void ThreadEngine::RetireDatabase(ObjectInstance* instance) {
  storage::DatabaseCloser* closer = shared_.database_closer.get();
  // Cluster mode captures the WAL itself; a database whose last flush failed keeps its WAL as it
  // is until a flush of it succeeds (see unconfirmed_paths_).
  // A short WAL is cheaper to read back at the next open than a checkpoint's two fsyncs (about
  // 6,000 instructions per frame, against some 300,000 for the open itself).
  constexpr int kCheckpointFrames = 64;
  if (!closer || !instance->db || shared_.cluster ||
      instance->db->wal_frames() < kCheckpointFrames || instance->db->in_transaction() ||
      instance->db->has_clients() ||
      (!unconfirmed_paths_.empty() && unconfirmed_paths_.count(instance->db_path) != 0)) {
    CloseDatabase(instance);
    return;
  }
  if (instance->usage && instance->usage->storage_stale) {
    instance->usage->storage_bytes = instance->db->SizeBytes();
    instance->usage->storage_stale = false;
  }
  if (instance->database_list) instance->database_list->Remove(instance);
  // With the closer's queue full, closed here with its WAL as it is.
  if (!closer->Close(instance->db)) instance->db.reset();
}

void ThreadEngine::CommitDirty() {
  if (dirty_.empty()) return;
  std::vector<uint64_t> slots(dirty_.begin(), dirty_.end());
  dirty_.clear();
  for (uint64_t slot : slots) {
    ObjectInstance* instance = FindBySlot(slot);
    if (!instance || !instance->db) continue;
    if (instance->txn_depth > 0) {
      // An explicit transaction spans turns; it commits when it ends.
      dirty_.insert(slot);
      continue;
    }
    if (!instance->db->in_transaction()) continue;
    try {
      instance->db->Commit();
      // A transaction that changed no page (the idiomatic `CREATE TABLE IF NOT EXISTS` at every
      // activation) left nothing to flush: like a turn that only read, it is durable with the
      // commits before it, and waits for no disk. (Cluster mode sees the same through its
      // capture, ClusterFlush, and decides there whether the object is still its own.)
      if (!shared_.cluster && !instance->db->last_commit_wrote() &&
          !instance->db->has_unsynced_paths() && !instance->alarm.change_pending()) {
        if (instance->output.CommittedUnchanged()) {
          // Released from the loop, not from inside the turn that committed: releasing may run
          // JavaScript (storage.sync() waiters).
          boost::asio::post(io_, [this, slot] {
            if (ObjectInstance* still = FindBySlot(slot)) ReleaseGated(still);
          });
        } else {
          RequestFlush(instance);
        }
        continue;
      }
      instance->output.Committed();
      if (instance->usage) {
        instance->usage->storage_stale = true;
        // Set before the commit can be acknowledged (its flush comes later), so a meters reading
        // made after the acknowledgement sees it.
        instance->usage->storage_changed = true;
      }
      instance->db->MaybeCheckpoint();
      if (instance->alarm.TakeChanged()) {
        std::optional<long long> alarm = instance->db->GetAlarm();
        instance->alarm.Committed(alarm);
        // Shipped with the commit's log row, which writes it to the cluster's `alarms`.
        if (shared_.cluster) instance->captured_alarm = alarm;
        if (shared_.alarm_index) {
          const ObjectAddress& a = instance->address;
          alarm_index_changes_.push_back(
              storage::AlarmChange{storage::AlarmEntry{a.app, a.class_name, a.instance_name,
                                                       alarm.value_or(0), a.object_id},
                                   !alarm});
          alarm_index_change_slots_.push_back(instance->slot);
          if (!alarm_index_apply_posted_) {
            alarm_index_apply_posted_ = true;
            boost::asio::post(io_, [this] { ApplyAlarmIndexChanges(); });
          }
        }
        // While the handler runs, its outcome tells the scheduler (OnAlarmDone).
        if (shared_.alarm_scheduler && !instance->alarm.running()) {
          shared_.alarm_scheduler->Set(instance->address, alarm);
        }
      }
      RequestFlush(instance);
    } catch (const storage::StorageError& e) {
      Log(LogLevel::kError, LogTag(instance->address) + " storage commit failed: " + e.what());
      BreakInstance(instance, ResetReason::kStorageFailure);
    }
  }
}

void ThreadEngine::RequestFlush(ObjectInstance* instance) {
  if (!instance->output.RequestFlush()) return;  // after the one running
  if (shared_.cluster) {
    ClusterFlush(instance);
    return;
  }
  if (instance->db && instance->db->image_pending()) {
    // Its commits are not in the WAL file yet: they are written there once the image is
    // durable, and then flushed (OnImageSynced).
    instance->flush_waits_for_image = true;
    return;
  }
  QueueFlush(instance);
}

void ThreadEngine::QueueFlush(ObjectInstance* instance) {
  const bool first = sync_batch_.empty();
  std::unique_ptr<storage::SyncTarget> target;
  if (instance->db) {
    target = instance->db->MakeSyncTarget();
  } else {
    // The connection was closed since the commit; closing does not lose the WAL, so flush it by
    // path.
    target = std::make_unique<storage::SyncTarget>();
    target->fsync_paths.push_back(instance->db_path + "-wal");
  }
  if (instance->alarm.TakeIndexFlush() && shared_.alarm_index) {
    target->data_paths.push_back(shared_.alarm_index->LogPath());
  }
  sync_batch_.push_back(
      PendingSync{instance->slot, instance->output.commit_seq(), std::move(target)});
  // Commits made while this loop iteration's other handlers run join the same batch.
  if (first) boost::asio::post(io_, [this] { FlushSyncBatch(); });
}

template <typename Done>
void ThreadEngine::SubmitSyncs(std::vector<PendingSync> batch, Done done) {
  std::vector<std::unique_ptr<storage::SyncTarget>> targets;
  std::vector<SubmittedSync> submitted;
  targets.reserve(batch.size());
  submitted.reserve(batch.size());
  for (PendingSync& pending : batch) {
    targets.push_back(std::move(pending.target));
    submitted.push_back(SubmittedSync{pending.slot, pending.seq});
  }
  shared_.sync_pool->Submit(
      std::move(targets), [this, submitted = std::move(submitted),
                           done](std::vector<storage::SyncOutcome> outcomes) mutable {
        boost::asio::post(io_,
                          [submitted = std::move(submitted), outcomes = std::move(outcomes), done] {
                            for (size_t i = 0; i < submitted.size(); ++i) {
                              done(submitted[i], outcomes[i]);
                            }
                          });
      });
}

void ThreadEngine::QueueImageSync(ObjectInstance* instance) {
  auto target = std::make_unique<storage::SyncTarget>();
  target->data_paths.push_back(instance->db_path);
  const bool first = image_batch_.empty();
  image_batch_.push_back(PendingSync{instance->slot, 0, std::move(target)});
  // The objects created in this loop iteration share one submission (and, with the commits
  // flushed alongside, one syncfs).
  if (first) boost::asio::post(io_, [this] { FlushImageBatch(); });
}

void ThreadEngine::FlushImageBatch() {
  if (image_batch_.empty()) return;
  std::vector<PendingSync> batch = std::move(image_batch_);
  image_batch_.clear();
  SubmitSyncs(std::move(batch),
              [this](const SubmittedSync& image, const storage::SyncOutcome& outcome) {
                OnImageSynced(image.slot, outcome.ok, outcome.error);
              });
}

void ThreadEngine::OnImageSynced(uint64_t slot, bool ok, const std::string& error) {
  ObjectInstance* instance = FindBySlot(slot);
  if (!instance) return;  // reset meanwhile: its connection's close wrote the log out
  if (instance->db && instance->db->image_pending()) {
    if (!ok) {
      // Nothing it committed can be acknowledged; the close that the reset makes tries again.
      Log(LogLevel::kError, LogTag(instance->address) + " cannot sync its new database: " + error);
      BreakInstance(instance, ResetReason::kStorageFailure);
      return;
    }
    try {
      instance->db->ImageDurable();
    } catch (const storage::StorageError& e) {
      Log(LogLevel::kError, LogTag(instance->address) + " " + e.what());
      BreakInstance(instance, ResetReason::kStorageFailure);
      return;
    }
  }
  // Else its log was written out already (a checkpoint, or a first turn's large writes, synced
  // the image on this thread).
  if (instance->flush_waits_for_image) {
    instance->flush_waits_for_image = false;
    QueueFlush(instance);
  }
}

void ThreadEngine::ApplyAlarmIndexChanges() {
  alarm_index_apply_posted_ = false;
  if (alarm_index_changes_.empty()) return;
  std::vector<storage::AlarmChange> changes = std::move(alarm_index_changes_);
  std::vector<uint64_t> slots = std::move(alarm_index_change_slots_);
  alarm_index_changes_.clear();
  alarm_index_change_slots_.clear();
  try {
    shared_.alarm_index->Apply(changes);
  } catch (const storage::StorageError& e) {
    // The commits happened but their alarms are not indexed: as for a failed commit, the objects
    // are reset and their callers never see the writes acknowledged.
    Log(LogLevel::kError, std::string("cannot write the alarm index: ") + e.what());
    for (uint64_t slot : slots) {
      if (ObjectInstance* instance = FindBySlot(slot)) {
        BreakInstance(instance, ResetReason::kStorageFailure);
      }
    }
  }
}

void ThreadEngine::FlushSyncBatch() {
  // The index changes of the commits being flushed must be written before their log is.
  ApplyAlarmIndexChanges();
  if (sync_batch_.empty()) return;
  std::vector<PendingSync> batch = std::move(sync_batch_);
  sync_batch_.clear();
  syncs_in_flight_ += batch.size();
  SubmitSyncs(std::move(batch),
              [this](const SubmittedSync& commit, const storage::SyncOutcome& outcome) {
                OnSynced(commit.slot, commit.seq, outcome.ok, outcome.error);
              });
}

void ThreadEngine::OnSynced(uint64_t slot, uint64_t seq, bool ok, const std::string& error) {
  --syncs_in_flight_;
  ObjectInstance* instance = FindBySlot(slot);
  if (!instance) return;
  if (!ok) {
    instance->output.FlushFailed();
    Log(LogLevel::kError,
        LogTag(instance->address) +
            " flush failed; the outcome of its unconfirmed writes is unknown: " + error);
    unconfirmed_paths_.insert(instance->db_path);
    BreakInstance(instance, ResetReason::kStorageFailure);
    return;
  }
  if (!unconfirmed_paths_.empty()) unconfirmed_paths_.erase(instance->db_path);
  if (instance->output.FlushSucceeded(seq)) RequestFlush(instance);
  ReleaseGated(instance);
}

void ThreadEngine::Emit(ObjectInstance* instance, HttpResponseData&& response,
                        ResponseCallback done) {
  instance->output.Emit(instance->output.RequiredSeq(instance->uncommitted_writes()),
                        std::move(response), std::move(done));
}

void ThreadEngine::ReleaseGated(ObjectInstance* instance) {
  OutputGate::Released released = instance->output.TakeReleased();
  for (auto& held : released.responses) held.done(std::move(held.response));
  for (const auto& output : released.socket_outputs) PerformSocketOutput(output);
  ResolveSyncWaiters(instance);
}

void ThreadEngine::ResolveSyncWaiters(ObjectInstance* instance) {
  if (!instance->output.HasDurableWaiters()) return;
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  // Resolving runs the app's JavaScript (what awaited the flush): a turn like any other.
  if (!MayStartTurn(app)) {
    DeferPump(slot);
    return;
  }
  std::vector<v8::Global<v8::Promise::Resolver>> resolved;
  for (uint64_t id : instance->output.TakeDurableWaiters()) {
    auto it = instance->sync_resolvers.find(id);
    if (it == instance->sync_resolvers.end()) continue;
    resolved.push_back(std::move(it->second));
    instance->sync_resolvers.erase(it);
  }
  if (resolved.empty()) return;
  v8::Isolate* isolate = app->isolate();
  RunTurn(app, [&] {
    current_slot_ = slot;
    for (auto& r : resolved) {
      // Nothing once the isolate is terminating; the reset that follows drops the promise.
      if (r.Get(isolate)->Resolve(app->context(), v8::Undefined(isolate)).IsNothing()) break;
    }
  });
}

}  // namespace dorm::runtime
