// The index of every app's objects that the objects list (`dorm objects list`, GET
// /_admin/v1/apps/<app>/classes/<class>/objects) reads: one row per object in the table
// object_index of DATA/registry.sqlite with its id, name (when it was reached by one), storage
// size as last measured and time of last activity.
//
// It is written from the usage readings (UsageRecorder, every 10 s and before each objects list),
// in one transaction per reading, never on a request's path: an object appears once its first
// event has been read, and its size and activity are those of the latest reading. Objects stored
// before the index existed are added by a one-time scan of the data folder at start-up
// (ScanExisting), recorded as done in object_index_meta.
//
// It also tracks which objects' databases changed, for incremental backups: each row has a
// change_seq, set from a sequence kept in object_index_meta ("change_seq") to its next value by
// every reading in which a commit changed the object (ObjectUsageDelta::storage_changed), by an
// import and by a class transfer. A backup first takes a reading, then notes the sequence: an
// object whose change_seq is at most a backup's noted value has not changed since that backup
// read it. The sequence is meaningful within one change epoch (a random id, "change_epoch"): a
// new epoch starts when the previous server did not stop cleanly (its last commits may not have
// been read: "running" was still set), when the data folder was restored, when a reading could
// not be recorded, and when a server ran with the usage meters off. An incremental backup against
// another epoch's backup copies every object.
//
// Thread-safe (one serialized connection). Methods throw std::runtime_error when the database
// fails.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/usage_meter.h"

struct sqlite3;

namespace dorm::control {

class Registry;
class UsageStore;

class ObjectIndex {
 public:
  explicit ObjectIndex(const std::string& data_dir);
  ~ObjectIndex();
  ObjectIndex(const ObjectIndex&) = delete;
  ObjectIndex& operator=(const ObjectIndex&) = delete;

  // Records a usage reading at `now_ms`: the objects that used something were active then (and
  // carry their storage size when it changed); the live ones are added if missing.
  void Record(const std::vector<runtime::ObjectUsageDelta>& deltas,
              const std::vector<runtime::ThreadUsageReport>& reports, long long now_ms);

  // Unless done before: adds the objects whose databases are in the data folder (size and
  // modification time from the files; names from the usage meters' storage rows, when they
  // recorded one), then records the scan as done.
  void ScanExistingOnce(const std::string& data_dir, Registry& registry, UsageStore* usage);

  struct Entry {
    std::string id;
    std::string name;  // empty: reached by id alone, or not known
    long long storage_bytes = 0;
    long long last_active_ms = 0;
  };
  // The objects of a class whose name starts with `prefix` (every object when empty), by id,
  // after `cursor` (an id; from the start when empty), at most `limit`.
  std::vector<Entry> List(const std::string& app, const std::string& class_name,
                          const std::string& prefix, const std::string& cursor, int limit);
  std::optional<Entry> Find(const std::string& app, const std::string& class_name,
                            const std::string& id);

  // An object's database was imported (admin_archive.cc): records it with `name` (kept when
  // empty), its size and `now_ms` as its last activity.
  void Imported(const std::string& app, const std::string& class_name, const std::string& id,
                const std::string& name, long long storage_bytes, long long now_ms);

  // Starts tracking changes at server start: a new change epoch unless the previous server
  // stopped cleanly (FinishTracking) in the current one; then marks the server running.
  void StartTracking();
  // At a clean stop, after the last reading was recorded: the next start keeps the epoch.
  void FinishTracking();
  // A reading could not be recorded: its changes are lost, so the next ChangeState() starts a
  // new epoch. Never throws.
  void ChangesLost() noexcept { changes_lost_ = true; }

  struct ChangeState {
    std::string epoch;
    long long seq = 0;
  };
  // The current epoch and the sequence's last value (starting a new epoch first if changes were
  // lost).
  ChangeState CurrentChanges();
  // Every indexed object's change_seq, by "app/class/id".
  std::map<std::string, long long> ChangeSeqs();

  // The class is deleted: its objects are forgotten.
  void ForgetClass(const std::string& app, const std::string& class_name);
  // The class's objects now belong to another app and class (a transferred class).
  void MoveClass(const std::string& from_app, const std::string& from_class,
                 const std::string& to_app, const std::string& to_class);

 private:
  // The sequence's next value, written to object_index_meta (inside the caller's transaction).
  long long NextChangeSeq();
  void NewEpoch();

  sqlite3* db_ = nullptr;
  // Serializes the methods that open a transaction (the connection has one at a time).
  std::mutex mu_;
  std::atomic<bool> changes_lost_{false};
};

}  // namespace dorm::control
