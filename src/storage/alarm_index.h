// The index of pending alarms of every object: DATA/alarms.sqlite, one row per object with an
// alarm. Each object's own database is the truth about its alarm; the index only tells the
// scheduler which objects to wake, so the scheduler never has to load objects to find their
// alarms, and it scales to millions of objects (only alarms due soon are read into memory).
//
// Durability: Apply() writes without fsync; the caller flushes the index's log (LogPath())
// together with the object commits that changed the alarms.
//
// Thread-safe. Methods throw StorageError on failure.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/object_database.h"

namespace dorm::storage {

struct AlarmEntry {
  std::string app;
  std::string class_name;
  std::string instance_name;  // empty for an object reached by id alone
  long long time_ms = 0;
  // The object's id. Empty in entries read from an index written before ids were recorded: the
  // id is then derived from the name.
  std::string object_id;
};

// One object's alarm after a commit: set to `entry.time_ms`, or removed.
struct AlarmChange {
  AlarmEntry entry;
  bool remove = false;
};

class AlarmIndex {
 public:
  explicit AlarmIndex(const std::string& data_dir);
  ~AlarmIndex();
  AlarmIndex(const AlarmIndex&) = delete;
  AlarmIndex& operator=(const AlarmIndex&) = delete;

  // Records the changes in one transaction (all or none), so that a burst of commits costs one
  // write of the index rather than one per object. An entry without an instance name keeps the
  // name already recorded for its object (the object may be reached by id after by name).
  void Apply(const std::vector<AlarmChange>& changes);
  // Removes every alarm of a class (when the class is deleted).
  void RemoveClass(const std::string& app, const std::string& class_name);
  // Gives every alarm of a class to another app and class (a transferred class), durably.
  void MoveClass(const std::string& from_app, const std::string& from_class,
                 const std::string& to_app, const std::string& to_class);
  // Alarms due at or before `until_ms`, earliest first, at most `limit`.
  std::vector<AlarmEntry> DueBy(long long until_ms, int limit);
  // The pending alarm of one object, as last indexed (`instance_name` finds an entry written
  // before ids were recorded; may be empty).
  std::optional<long long> Find(const std::string& app, const std::string& class_name,
                                const std::string& object_id, const std::string& instance_name);
  // Writes a consistent copy of the index to `target_path` (a backup; see CopyDatabase). Throws
  // StorageError.
  void CopyTo(const std::string& target_path);
  // The index's write-ahead log, to flush with a commit.
  std::string LogPath() const { return path_ + "-wal"; }

 private:
  void Exec(const char* sql);
  void ApplyOne(const AlarmChange& change);
  // Steps the statement in `*slot` (prepared from `sql` on first use) with ?1 app, ?2 class, ?3
  // object id, ?4 instance name and, when `with_time`, ?5 time.
  void Run(sqlite3_stmt** slot, const char* sql, const AlarmEntry& e, bool with_time);
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_stmt_ = nullptr;  // prepared once, used under mu_
  sqlite3_stmt* remove_stmt_ = nullptr;
  sqlite3_stmt* remove_legacy_stmt_ = nullptr;
  std::string path_;
  int writes_since_checkpoint_ = 0;
  // Whether the table written before ids (`alarms`) had rows when the index was opened.
  bool legacy_rows_ = true;
};

}  // namespace dorm::storage
